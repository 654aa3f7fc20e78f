"""The Module's `defaults`: values for Mapping fields that a Mapping does not set.

As in Emissary, a value is looked up under `defaults.httpmapping` first, then at the
top level of `defaults`; a Mapping that sets the field at all (even to `{}`) keeps its own.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from legation.model.common import HeaderSpec, StrictModel

MAPPING_CLASS = "httpmapping"
"""The lookup class of HTTP Mappings inside `defaults`."""


class MappingFieldDefaults(StrictModel):
    """The Mapping fields Emissary takes from `defaults`."""

    add_request_headers: dict[str, HeaderSpec] | None = None
    add_response_headers: dict[str, HeaderSpec] | None = None
    remove_request_headers: list[str] | None = None
    remove_response_headers: list[str] | None = None
    stats_name: str | None = Field(default=None, min_length=1)

    @field_validator("remove_request_headers", "remove_response_headers", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        """A single name or a list of them, as on a Mapping."""
        return [value] if isinstance(value, str) else value
