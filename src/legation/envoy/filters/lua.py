"""envoy.filters.http.lua: the Module's `lua_scripts`, run on every request."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import base_pb2
from envoy.extensions.filters.http.lua.v3 import lua_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter
from legation.ir.listeners import HttpConnectionManager


class LuaFilter(HttpFilter):
    """Only on listeners whose Module sets `lua_scripts`."""

    name = "envoy.filters.http.lua"

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """The script as the filter's default source code."""
        code = listener.filters.lua_code
        if code is None:
            return None
        return lua_pb2.Lua(default_source_code=base_pb2.DataSource(inline_string=code))
