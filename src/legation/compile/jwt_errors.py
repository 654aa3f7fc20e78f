"""A JWT Filter's `errorResponse` → Envoy's local-reply rewrite of its refusals.

The commercial edition renders Go templates; Envoy has format strings. The variables
a refusal has in both are translated (`{{ .status_code }}` → `%RESPONSE_CODE%`,
`{{ .message }}` → `%LOCAL_REPLY_BODY%`, Envoy's reason; `{{ .request_id }}` → the
request id); any other template action is reported and that part is left out.
"""

from __future__ import annotations

import re
from typing import Any

from legation.ir.errors import ConfigProblem
from legation.ir.jwt import JwtErrorResponse
from legation.model.filter import JwtErrorResponse as JwtErrorResponseSpec
from legation.model.resource import Resource

_VARIABLES = {
    "status_code": "%RESPONSE_CODE%",
    "message": "%LOCAL_REPLY_BODY%",
    "request_id": "%REQ(x-request-id)%",
}
_ACTION = re.compile(r"\{\{\s*\.([A-Za-z_]+)\s*\}\}")


def envoy_format(template: str) -> str | None:
    """The template as an Envoy format string; None if it uses anything else."""
    out, pos = [], 0
    for match in _ACTION.finditer(template):
        out.append(template[pos : match.start()].replace("%", "%%"))
        operator = _VARIABLES.get(match.group(1))
        if operator is None:
            return None
        out.append(operator)
        pos = match.end()
    rest = template[pos:]
    if "{{" in rest or any("{{" in part for part in out):
        return None
    out.append(rest.replace("%", "%%"))
    return "".join(out)


def error_response(
    res: Resource[Any], spec: JwtErrorResponseSpec | None, problems: list[ConfigProblem]
) -> JwtErrorResponse | None:
    """The refusal's body, content type and headers, as far as Envoy can give them."""
    if spec is None:
        return None
    where = "JWT.errorResponse"
    known = ", ".join("{{ ." + v + " }}" for v in _VARIABLES)
    unsupported = f"only {known} can be used here; left out"
    body = None
    if spec.bodyTemplate is not None:
        body = envoy_format(spec.bodyTemplate)
        if body is None:
            problems.append(res.problem(f"{where}.bodyTemplate", unsupported))
    if spec.bodyTemplateURL is not None:
        problems.append(res.problem(f"{where}.bodyTemplateURL", "not supported; left out"))
    if spec.realm is not None:
        message = "ignored: Envoy's www-authenticate names the request URL as the realm"
        problems.append(res.problem(f"{where}.realm", message, notice=True))
    headers = []
    for i, header in enumerate(spec.headers or ()):
        value = envoy_format(header.value)
        if value is None:
            problems.append(res.problem(f"{where}.headers.{i}.value", unsupported))
        else:
            headers.append((header.name, value))
    return JwtErrorResponse(body, spec.contentType, tuple(headers))
