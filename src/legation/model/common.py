"""Pieces shared by several resource models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for every spec model: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HeaderValue(StrictModel):
    """A header value in its long form: `{value: ..., append: ...}`."""

    value: str
    append: bool = True


HeaderSpec = str | HeaderValue
"""A header to add: a plain string, or the long form with `append`."""
