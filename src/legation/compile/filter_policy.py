"""FilterPolicies → one ordered list of rules (host glob, path glob → what applies).

The first rule that matches a request decides, across every FilterPolicy: higher
`precedence` first, then by FilterPolicy key, then in the order written. A rule's
outcome is the JWT providers its Filters name (all must accept the token), nothing
(`filters` null or empty: the request goes through), or a failure (it names a Filter
that does not exist or cannot work: the request is refused, never let through).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from legation.compile.oauth2 import OAuth2Logins
from legation.compile.regex import regex_error
from legation.ir.errors import ConfigProblem
from legation.ir.jwt import HeaderCondition, JwtProvider, RulePath
from legation.ir.oauth2 import OAuth2Login
from legation.model.filter import FilterPolicyRule, FilterPolicySpec, FilterRef
from legation.model.filter import HeaderCondition as HeaderConditionSpec
from legation.model.resource import Resource


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One FilterPolicy rule, resolved."""

    host: str
    path: str
    providers: tuple[str, ...] = ()
    """Names of the JWT providers that must all accept the token; empty: none."""
    failure: str | None = None
    """Set when the rule names a broken or unknown Filter: refuse every request."""
    policy: str = ""
    """Key of the FilterPolicy it came from."""
    conditional: tuple[tuple[str, HeaderCondition], ...] = ()
    """Providers that apply only when a request header test holds (`ifRequestHeader`)."""
    login: str | None = None
    """Name of the OIDC login (OAuth2 Filter) the rule applies; None: none."""
    login_failure: str | None = None
    """Set when the rule names an OAuth2 Filter that cannot work: refuse every request
    (with a 503 from the route, apart from the JWT outcome)."""


@dataclass(frozen=True, slots=True)
class _LoginFailure:
    message: str


@dataclass
class PolicyRules:
    """The rules in the order they are tried, and the problems found."""

    rules: list[PolicyRule] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


MAX_CONDITIONAL = 3
"""Filters with `ifRequestHeader` one rule may have: each doubles its path rules."""


def glob_regex(glob: str) -> str:
    """A glob (`*` is any run of characters, `/` and `.` included) as a regex."""
    return ".*".join(re.escape(part) for part in glob.split("*"))


def glob_path(glob: str) -> RulePath:
    """A path glob as a path match: exact or prefix when it can be, a regex otherwise
    (Envoy limits a regex's size, not a literal's)."""
    literal = glob.split("*", 1)[0]
    if "*" not in glob:
        return RulePath("exact", glob)
    if glob == literal + "*":
        return RulePath("prefix", literal or "/")
    return RulePath("regex", glob_regex(glob))


def host_regex(glob: str) -> str | None:
    """The host glob as a regex on `:authority` (any case, any port); None for `*`."""
    return None if glob == "*" else f"(?i){glob_regex(glob)}(:[0-9]+)?"


def _regex_problems(res: Resource[Any], i: int, rule: FilterPolicyRule) -> list[ConfigProblem]:
    """Globs (and header regexes) Envoy would refuse as regexes: too long or invalid."""
    path = glob_path(rule.path)
    tests = [("host", host_regex(rule.host))]
    tests += [("path", path.value)] if path.kind == "regex" else []
    for j, ref in enumerate(rule.filters or ()):
        condition = ref.ifRequestHeader
        if condition is not None and condition.valueRegex is not None:
            tests.append((f"filters.{j}.ifRequestHeader.valueRegex", condition.valueRegex))
    out = []
    for where, pattern in tests:
        error = regex_error(pattern) if pattern is not None else None
        if error is not None:
            message = (
                f"as Envoy's regex {pattern!r}: {error}; requests this rule matches are refused"
            )
            out.append(res.problem(f"rules.{i}.{where}", message))
    return out


def compile_policies(
    policies: Iterable[Resource[FilterPolicySpec]],
    providers: Mapping[str, JwtProvider],
    broken: Mapping[str, str],
    logins: OAuth2Logins | None = None,
) -> PolicyRules:
    """Every rule of every FilterPolicy, resolved against the compiled Filters."""
    out = PolicyRules()
    ordered: list[tuple[int, str, int, PolicyRule]] = []
    for res in sorted(policies, key=lambda r: r.key):
        for i, rule in enumerate(res.spec.rules):
            resolved = _rule(res, i, rule, providers, broken, logins, out)
            ordered.append((-rule.precedence, res.key, i, resolved))
    out.rules = [entry[3] for entry in sorted(ordered, key=lambda e: e[:3])]
    return out


_REFUSE = "; requests this rule matches are refused"


def _resolve_login(
    res: Resource[Any], where: str, ref: FilterRef, logins: OAuth2Logins | None, out: PolicyRules
) -> OAuth2Login | _LoginFailure | None:
    """The OIDC login a filter reference names, why it fails, or None if it names no
    OAuth2 Filter. Arguments (`scope`, ...) are ignored with a notice: scopes are the
    Filter's (legation `scopes`), and ignoring them never lets a request through."""
    key = f"Filter/{ref.name}.{ref.namespace or res.namespace}"
    if logins is None or (key not in logins.logins and key not in logins.broken):
        return None
    if key in logins.broken:
        message = f"{key} cannot work ({logins.broken[key]})"
        out.problems.append(res.problem(f"{where}.name", message + _REFUSE))
        return _LoginFailure(message)
    if ref.arguments:
        message = "arguments of an OAuth2 Filter are ignored; set scopes on the Filter"
        out.problems.append(res.problem(f"{where}.arguments", message, notice=True))
    return logins.logins[key]


def _rule(
    res: Resource[FilterPolicySpec],
    i: int,
    rule: FilterPolicyRule,
    providers: Mapping[str, JwtProvider],
    broken: Mapping[str, str],
    logins: OAuth2Logins | None,
    out: PolicyRules,
) -> PolicyRule:
    names: list[str] = []
    conditional: list[tuple[str, HeaderCondition]] = []
    failure = login = login_failure = None
    for j, ref in enumerate(rule.filters or ()):
        where = f"rules.{i}.filters.{j}"
        found_login = _resolve_login(res, where, ref, logins, out)
        if isinstance(found_login, OAuth2Login):
            if login is not None and login != found_login.name:
                message = f"names a second OAuth2 Filter ({login} is already applied)"
                out.problems.append(res.problem(f"{where}.name", message + _REFUSE))
                login_failure = login_failure or message
            login = login or found_login.name
            continue
        if isinstance(found_login, _LoginFailure):
            login_failure = login_failure or found_login.message
            continue
        found = _resolve(res, where, ref, providers, broken, out)
        if isinstance(found, str):
            failure = failure or found
        elif ref.ifRequestHeader is not None:
            conditional.append((found.name, _condition(ref.ifRequestHeader)))
        elif found.name not in names:
            names.append(found.name)
    regex_problems = _regex_problems(res, i, rule)
    if regex_problems:
        out.problems.extend(regex_problems)
        failure = failure or "a glob or regex Envoy cannot use"
    if len(conditional) > MAX_CONDITIONAL:
        failure = f"more than {MAX_CONDITIONAL} filters with ifRequestHeader in one rule"
        out.problems.append(res.problem(f"rules.{i}.filters", failure + _REFUSE))
    return PolicyRule(
        rule.host, rule.path, tuple(names), failure, res.key, tuple(conditional),
        login=login, login_failure=login_failure,
    )  # fmt: skip


def _condition(spec: HeaderConditionSpec) -> HeaderCondition:
    return HeaderCondition(spec.name, spec.value, spec.valueRegex, spec.negate)


def _resolve(
    res: Resource[Any],
    where: str,
    ref: FilterRef,
    providers: Mapping[str, JwtProvider],
    broken: Mapping[str, str],
    out: PolicyRules,
) -> JwtProvider | str:
    """The provider a filter reference names, or why its requests are refused."""
    key = f"Filter/{ref.name}.{ref.namespace or res.namespace}"
    refuse = "; requests this rule matches are refused"
    if key in broken:
        message = f"{key} cannot work ({broken[key]})"
        out.problems.append(res.problem(f"{where}.name", message + refuse))
        return message
    provider = providers.get(key)
    if provider is None:
        message = f"{key} does not exist or is invalid"
        out.problems.append(res.problem(f"{where}.name", message + refuse))
        return message
    scope = (ref.arguments or {}).get("scope")
    other = sorted(k for k in (ref.arguments or {}) if k != "scope")
    if scope or other:
        message = "arguments (scope) are not supported yet"
        out.problems.append(res.problem(f"{where}.arguments", message + refuse))
        return message
    condition = ref.ifRequestHeader
    if condition is not None and condition.value is not None and condition.valueRegex:
        message = "give value or valueRegex, not both; requests this rule matches are refused"
        out.problems.append(res.problem(f"{where}.ifRequestHeader", message))
        return message
    if ref.onDeny != "break" or ref.onAllow != "continue":
        message = "onDeny/onAllow other than break/continue are not supported; defaults apply"
        out.problems.append(res.problem(f"{where}.onDeny", message, notice=True))
    return provider
