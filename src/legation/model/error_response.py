"""`error_response_overrides`: replace the body of error responses (4xx/5xx) by status.

Written on the `ambassador` Module (every route) or on a Mapping (its routes only);
`bypass_error_response_overrides` on a Mapping turns the Module's rules off for it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from legation.model.common import StrictModel


class TextFormatSource(StrictModel):
    """`text_format_source`: the body is read from a file on the gateway's disk."""

    filename: str = Field(min_length=1)


class ErrorResponseBody(StrictModel):
    """The new body: exactly one of `text_format`, `json_format`, `text_format_source`.

    Envoy command operators such as `%RESPONSE_CODE%` are expanded in the text.
    """

    text_format: str | None = None
    json_format: dict[str, str] | None = None
    text_format_source: TextFormatSource | None = None
    content_type: str | None = None

    @field_validator("json_format", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        """Envoy wants string values; numbers and booleans are written as text."""
        if not isinstance(value, dict):
            return value
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if isinstance(v, bool):
                out[k] = str(v).lower()
            elif isinstance(v, int | float):
                out[k] = str(v)
            else:
                out[k] = v
        return out

    @model_validator(mode="after")
    def _exactly_one(self) -> ErrorResponseBody:
        given = [
            f for f in ("text_format", "json_format", "text_format_source") if getattr(self, f)
        ]
        if len(given) != 1:
            raise ValueError(
                "set exactly one of text_format, json_format, text_format_source"
                + (f" (found {', '.join(given)})" if given else "")
            )
        return self


class ErrorResponseSpec(StrictModel):
    """One rule: responses with status `on_status_code` get `body` instead of theirs."""

    on_status_code: int = Field(ge=400, le=599)
    body: ErrorResponseBody
