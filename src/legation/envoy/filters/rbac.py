"""envoy.filters.http.rbac: the Module's `ip_allow` / `ip_deny` (403 for others)."""

from __future__ import annotations

import ipaddress
from typing import Any

from envoy.config.core.v3 import address_pb2
from envoy.config.rbac.v3 import rbac_pb2
from envoy.extensions.filters.http.rbac.v3 import rbac_pb2 as rbac_filter_pb2
from google.protobuf import wrappers_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter
from legation.ir.http import IpRule
from legation.ir.listeners import HttpConnectionManager


def _principal(rule: IpRule) -> Any:
    network = ipaddress.ip_network(rule.network)
    cidr = address_pb2.CidrRange(
        address_prefix=str(network.network_address),
        prefix_len=wrappers_pb2.UInt32Value(value=network.prefixlen),
    )
    # `remote`: the client address after X-Forwarded-For processing; `peer`: the socket's.
    if rule.kind == "peer":
        return rbac_pb2.Principal(direct_remote_ip=cidr)
    return rbac_pb2.Principal(remote_ip=cidr)


class RbacFilter(HttpFilter):
    """Only on listeners whose Module sets `ip_allow` or `ip_deny`."""

    name = "envoy.filters.http.rbac"

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """One policy matching the listed sources, allowed (others denied) or denied."""
        policy = listener.filters.ip_policy
        if policy is None:
            return None
        action = rbac_pb2.RBAC.ALLOW if policy.allow else rbac_pb2.RBAC.DENY
        name = "ambassador-ip-allow" if policy.allow else "ambassador-ip-deny"
        return rbac_filter_pb2.RBAC(
            rules=rbac_pb2.RBAC(
                action=action,
                policies={
                    name: rbac_pb2.Policy(
                        permissions=[rbac_pb2.Permission(any=True)],
                        principals=[_principal(r) for r in policy.rules],
                    )
                },
            )
        )
