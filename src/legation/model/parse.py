"""Raw documents → typed resources, with every problem tied to its file, resource and field."""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import operator
import reprlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from legation.ir.errors import ConfigProblem, Severity
from legation.memo import ItemMemo
from legation.model.annotations import expand_service, is_annotated_service
from legation.model.authservice import AuthServiceSpec
from legation.model.fields import known_fields
from legation.model.filter import FilterPolicySpec, FilterSpec
from legation.model.host import HostSpec
from legation.model.kubernetes import is_kubernetes_object, parse_kubernetes_object
from legation.model.limits import MAX_NESTING_DEPTH, nesting_exceeds
from legation.model.listener import ListenerSpec
from legation.model.mapping import MappingSpec
from legation.model.module import ModuleSpec
from legation.model.observability import LogServiceSpec, TracingServiceSpec
from legation.model.partial import validate_partially
from legation.model.ratelimit import RateLimitServiceSpec, RateLimitSpec
from legation.model.raw import RawObject
from legation.model.resolver import (
    ConsulResolverSpec,
    KubernetesEndpointResolverSpec,
    KubernetesServiceResolverSpec,
)
from legation.model.resource import Resource
from legation.model.tcpmapping import TCPMappingSpec
from legation.model.tls_module import TLS_MODULE_NAME, TlsModuleSpec
from legation.model.tlscontext import TLSContextSpec
from legation.model.versions import EnvelopeError, is_ambassador_document, open_envelope

SPEC_MODELS: dict[str, type[BaseModel]] = {
    "Mapping": MappingSpec,
    "Host": HostSpec,
    "Module": ModuleSpec,
    "TCPMapping": TCPMappingSpec,
    "TLSContext": TLSContextSpec,
    "Listener": ListenerSpec,
    "KubernetesServiceResolver": KubernetesServiceResolverSpec,
    "KubernetesEndpointResolver": KubernetesEndpointResolverSpec,
    "ConsulResolver": ConsulResolverSpec,
    "AuthService": AuthServiceSpec,
    "Filter": FilterSpec,
    "FilterPolicy": FilterPolicySpec,
    "RateLimitService": RateLimitServiceSpec,
    "RateLimit": RateLimitSpec,
    "TracingService": TracingServiceSpec,
    "LogService": LogServiceSpec,
}
"""Kinds the model understands, and the spec model of each."""

KNOWN_NOT_YET: frozenset[str] = frozenset(
    {
        "DevPortal",
    }
)  # fmt: skip
"""Ambassador kinds that legation reads but does not act on yet: skipped with a notice."""

PARTIAL_KINDS: frozenset[str] = frozenset({"Module"})
"""Kinds whose bad fields are reported and left out, keeping the rest of the resource."""


NOT_READ = " is not a kind legation reads; skipped"
"""The end of the notice for a document of a kind legation does not read."""

SKIPPED_KIND_DETAIL = 3
"""How many such notices one file shows in full before they are summed up in one."""


@dataclass
class ParseResult:
    """Resources parsed from some raw documents, and the problems found on the way."""

    resources: list[Resource[Any]] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


def _describe_error(err: Any, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        known = known_fields(model, loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if not close and len(loc) > 1 and known:
            hint = f"; expected one of {', '.join(known)}"
        return f"unknown field{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "value_error":
        return str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{err.get('msg', 'invalid value')} (got {_short_repr(err.get('input'))})"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 80, 80
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = 6


def _short_repr(value: Any) -> str:
    """A bounded repr: a deep or huge value is cut, never walked whole (or recursed into)."""
    return _REPR.repr(value)


def _validation_problems(
    exc: ValidationError, raw: RawObject, key: str, spec_path: str, model: type[BaseModel]
) -> list[ConfigProblem]:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err.get("loc", ()) if not isinstance(p, int) or True)
        # drop pydantic's union-branch labels such as 'str' or 'bool'
        path_parts = [str(p) for p in loc if str(p) not in {"str", "bool", "HeaderValue"}]
        dotted = spec_path + ".".join(path_parts)
        out.append(
            ConfigProblem(
                source=raw.source.at_line(raw.line_of(dotted)),
                resource=key,
                field=dotted or None,
                message=_describe_error(err, model, loc),
            )
        )
    return out


def _best_effort_key(raw: RawObject, default_namespace: str) -> str | None:
    """`Kind/name.namespace` of a document whose envelope is broken, if it can be told."""
    meta = raw.doc.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    kind = raw.doc.get("kind")
    name = meta.get("name") or raw.doc.get("name")
    namespace = meta.get("namespace") or raw.doc.get("namespace") or default_namespace
    if isinstance(kind, str) and isinstance(name, str):
        return f"{kind}/{name}.{namespace}"
    return None


def parse_ambassador_document(raw: RawObject, default_namespace: str) -> ParseResult:
    """Parse one Ambassador document (flat or custom-resource shaped)."""
    result = ParseResult()
    try:
        env = open_envelope(raw.doc, default_namespace)
    except EnvelopeError as exc:
        where = raw.source.at_line(raw.line_of(exc.field or ""))
        result.problems.append(
            ConfigProblem(
                where, _best_effort_key(raw, default_namespace), exc.message, field=exc.field
            )
        )
        return result
    model = SPEC_MODELS.get(env.kind)
    legacy_tls = env.kind == "Module" and env.name == TLS_MODULE_NAME
    if legacy_tls:  # Ambassador 0.x/1.x `tls` Module: its own shape
        model = TlsModuleSpec
    if model is None:
        what = "not supported yet" if env.kind in KNOWN_NOT_YET else "unknown kind"
        result.problems.append(
            ConfigProblem(raw.source, env.key, f"{what}; skipped", severity=Severity.NOTICE)
        )
        return result
    if env.kind in PARTIAL_KINDS and not legacy_tls:
        partial, failures = validate_partially(model, env.spec)
        for failure in failures:
            for p in _validation_problems(failure, raw, env.key, env.spec_path, model):
                p = dataclasses.replace(p, message=p.message + "; left out, the rest applies")
                if p not in result.problems:
                    result.problems.append(p)
        if partial is None:
            return result
        spec: BaseModel = partial
    else:
        try:
            spec = model.model_validate(dict(env.spec))
        except ValidationError as exc:
            result.problems.extend(_validation_problems(exc, raw, env.key, env.spec_path, model))
            return result
    result.resources.append(
        Resource(
            kind=env.kind,
            name=env.name,
            namespace=env.namespace,
            api_version=env.api_version,
            ambassador_id=env.ambassador_id,
            spec=spec,
            raw=raw,
            spec_path=env.spec_path,
        )
    )
    return result


def parse_object(raw: RawObject, default_namespace: str = "default") -> ParseResult:
    """Parse one raw object: an Ambassador document, or a Service with annotations.

    Never raises: an object that breaks a shape limit, or any failure while parsing it
    (a bug included), becomes this object's error and the others are parsed as usual.
    """
    if nesting_exceeds(raw.doc):
        message = f"nested deeper than {MAX_NESTING_DEPTH} levels (or contains itself); skipped"
        return ParseResult(problems=[ConfigProblem(raw.source, None, message)])
    try:
        return _parse_object(raw, default_namespace)
    except Exception as exc:  # isolation: one object must never fail the whole build
        message = f"could not be parsed ({type(exc).__name__}: {_short_repr(str(exc))}); skipped"
        return ParseResult(problems=[ConfigProblem(raw.source, None, message)])


def _parse_object(raw: RawObject, default_namespace: str) -> ParseResult:
    if is_annotated_service(raw.doc):
        docs, problems, namespace = expand_service(raw)
        result = ParseResult(problems=list(problems))
        for doc in docs:
            if not is_ambassador_document(doc.doc):
                result.problems.append(
                    ConfigProblem(
                        doc.source,
                        None,
                        f"apiVersion {doc.doc.get('apiVersion')!r} is not an Ambassador "
                        "apiVersion (getambassador.io/... or ambassador/...)",
                        field="apiVersion",
                    )
                )
                continue
            sub = parse_ambassador_document(doc, namespace)
            result.resources.extend(sub.resources)
            result.problems.extend(sub.problems)
        spec = raw.doc.get("spec")
        if isinstance(spec, dict) and spec.get("ports"):  # its ports serve endpoint routing
            service, problems = parse_kubernetes_object(raw)
            result.resources.extend([service] if service is not None else [])
            result.problems.extend(problems)
        return result
    if is_kubernetes_object(raw.doc):
        resource, problems = parse_kubernetes_object(raw, default_namespace)
        return ParseResult([resource] if resource is not None else [], problems)
    if is_ambassador_document(raw.doc):
        return parse_ambassador_document(raw, default_namespace)
    kind = raw.doc.get("kind", "?")
    api = raw.doc.get("apiVersion", "?")
    return ParseResult(
        problems=[
            ConfigProblem(
                raw.source,
                None,
                f"{kind} ({api}){NOT_READ}",
                severity=Severity.NOTICE,
            )
        ]
    )


class ParseCache:
    """Remembers the parse of each RawObject, so unchanged documents are not re-validated.

    Keyed by object identity: sources reuse a RawObject for as long as its file is
    unchanged. Results of objects that are gone are dropped on each pass.
    """

    def __init__(self) -> None:
        self._entries: ItemMemo[RawObject, ParseResult] = ItemMemo()

    def parse_all(self, objects: Iterable[RawObject]) -> list[ParseResult]:
        """Parse every object, reusing earlier results for the same objects."""
        objects = objects if isinstance(objects, Sequence) else list(objects)
        return fold_skipped_kinds(self._entries.map(objects, parse_object))


_PROBLEMS = operator.attrgetter("problems")


def fold_skipped_kinds(results: list[ParseResult]) -> list[ParseResult]:
    """Sum up a file's notices about kinds legation does not read after the first few.

    A file of 100,000 ConfigMaps gives a handful of notices and one count, not 100,000
    log lines and diagnostics rows. The results themselves are not changed (they are
    cached); the ones that lose notices are copied.
    """
    seen: dict[str, list[tuple[int, ConfigProblem]]] = {}
    # most results have no problems: only those with some are looked at
    with_problems = itertools.compress(range(len(results)), map(_PROBLEMS, results))
    for index in with_problems:
        for problem in results[index].problems:
            if problem.severity is Severity.NOTICE and problem.message.endswith(NOT_READ):
                seen.setdefault(problem.source.location, []).append((index, problem))
    folded = [(loc, found) for loc, found in seen.items() if len(found) > SKIPPED_KIND_DETAIL]
    if not folded:
        return results
    out = list(results)
    for _location, found in folded:
        extra = found[SKIPPED_KIND_DETAIL:]
        drop: dict[int, set[int]] = {}
        for index, problem in extra:
            drop.setdefault(index, set()).add(id(problem))
        for index, ids in drop.items():
            kept = [p for p in out[index].problems if id(p) not in ids]
            out[index] = ParseResult(list(out[index].resources), kept)
        kinds = sorted({p.message.removesuffix(NOT_READ) for _, p in extra})
        shown = ", ".join(kinds[:5]) + (", ..." if len(kinds) > 5 else "")
        summary = ConfigProblem(
            extra[0][1].source,
            None,
            f"{len(extra)} more document(s) of kinds legation does not read ({shown}); skipped",
            severity=Severity.NOTICE,
        )
        last = found[SKIPPED_KIND_DETAIL - 1][0]
        out[last] = ParseResult(list(out[last].resources), [*out[last].problems, summary])
    return out
