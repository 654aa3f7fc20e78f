"""`legation run` options of the Kubernetes source, gathered into one `KubernetesOptions`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _configmap(value: str | None) -> str | None:
    """`--rate-limiter-configmap`, checked: NAMESPACE/NAME."""
    if value is None:
        return None
    namespace, _, name = value.partition("/")
    if not namespace or not name or "/" in name:
        raise click.BadParameter(f"expected NAMESPACE/NAME, got {value!r}")
    return value


def kubernetes_options(func: F) -> F:
    """Add `--kubernetes` and its companions; the command receives `kubernetes=`
    a `KubernetesOptions`, or None when `--kubernetes` is not given."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Imported here, not at the top: `legation run --help` need not load the sources.
        from legation.runtime.source import KubernetesOptions

        enabled = kwargs.pop("kubernetes")
        options = KubernetesOptions(
            kubeconfig=kwargs.pop("kubeconfig"),
            namespace=kwargs.pop("namespace") or None,
            label_selector=kwargs.pop("label_selector") or None,
            ingress_status_address=kwargs.pop("ingress_status_address") or None,
            events=kwargs.pop("kubernetes_events"),
            rediscover_s=kwargs.pop("crd_rediscover_seconds"),
            limiter_configmap=_configmap(kwargs.pop("rate_limiter_configmap")),
            resource_status=kwargs.pop("resource_status"),
            leader_election=kwargs.pop("leader_election"),
            lease_name=kwargs.pop("lease_name"),
            lease_namespace=kwargs.pop("lease_namespace") or None,
        )
        return func(*args, kubernetes=options if enabled else None, **kwargs)

    decorators = [
        click.option(
            "--kubernetes",
            is_flag=True,
            help="Watch a Kubernetes API server instead of a folder.",
        ),
        click.option(
            "--kubeconfig",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help="kubeconfig file (default: in-cluster settings in a pod, else ~/.kube/config).",
        ),
        click.option("--namespace", default=None, help="Watch only this namespace (default: all)."),
        click.option(
            "--label-selector",
            default=None,
            help="Only Ambassador resources, Services and Ingresses matching this selector.",
        ),
        click.option(
            "--ingress-status-address",
            default="127.0.0.1",
            show_default=True,
            help="Address written to the status of legation's Ingresses ('' to not write).",
        ),
        click.option(
            "--kubernetes-events/--no-kubernetes-events",
            default=True,
            show_default=True,
            help="Report configuration errors as Events on the resources at fault.",
        ),
        click.option(
            "--rate-limiter-configmap",
            default=None,
            metavar="NAMESPACE/NAME",
            help="Keep the rate limiter's documents (from RateLimit resources) in this "
            "ConfigMap, for an envoyproxy/ratelimit Deployment that mounts it.",
        ),
        click.option(
            "--resource-status/--no-resource-status",
            default=True,
            show_default=True,
            help="Write an Accepted condition into the status of getambassador.io resources.",
        ),
        click.option(
            "--leader-election/--no-leader-election",
            default=True,
            show_default=True,
            help="With several replicas, only the holder of a Lease writes status and Events "
            "(every replica serves traffic).",
        ),
        click.option(
            "--lease-name",
            default="legation-leader",
            show_default=True,
            help="Name of the coordination.k8s.io Lease used for leader election.",
        ),
        click.option(
            "--lease-namespace",
            default=None,
            help="Namespace of the Lease (default: $POD_NAMESPACE, else legation).",
        ),
        click.option(
            "--crd-rediscover-seconds",
            default=30.0,
            type=float,
            hidden=True,
            help="How often to look again for Ambassador CRDs that are not installed.",
        ),
    ]
    decorated: Callable[..., Any] = wrapper
    for decorator in reversed(decorators):
        decorated = decorator(decorated)
    return decorated  # type: ignore[return-value]
