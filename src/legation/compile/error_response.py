"""`error_response_overrides` (Module or Mapping) → IR `ErrorResponse` rules."""

from __future__ import annotations

from collections.abc import Sequence

from legation.ir.http import ErrorResponse
from legation.model.error_response import ErrorResponseSpec


def error_responses(specs: Sequence[ErrorResponseSpec]) -> tuple[ErrorResponse, ...]:
    """One rule per status code; for a code written twice, the first rule wins."""
    out: dict[int, ErrorResponse] = {}
    for spec in specs:
        body = spec.body
        out.setdefault(
            spec.on_status_code,
            ErrorResponse(
                status=spec.on_status_code,
                text_format=body.text_format,
                json_format=tuple(sorted((body.json_format or {}).items())),
                text_file=body.text_format_source.filename if body.text_format_source else None,
                content_type=body.content_type,
            ),
        )
    return tuple(out.values())
