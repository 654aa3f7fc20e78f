"""Pieces shared by several resource models."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for every spec model: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HeaderValue(StrictModel):
    """A header value in its long form: `{value: ..., append: ...}`."""

    value: str
    append: bool = True


HeaderSpec = str | HeaderValue
"""A header to add: a plain string, or the long form with `append`."""


def _service_name(value: str) -> str:
    if not value.strip():
        raise ValueError("service must not be empty")
    return value.strip()


ServiceName = Annotated[str, AfterValidator(_service_name)]
"""A `service` field: `[scheme://]name[.namespace][:port]`, not empty, trimmed."""
