"""Changing legation's and Envoy's log levels while running."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

LEVELS: tuple[str, ...] = ("trace", "debug", "info", "warning", "error", "critical", "off")
"""Envoy's level names; legation maps `trace` to DEBUG and `off` to above CRITICAL."""

COMPONENTS: tuple[str, ...] = ("legation", "envoy", "all")

_PYTHON_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "off": logging.CRITICAL + 10,
}

EnvoyPost = Callable[[str], Awaitable[tuple[int, str] | None]]
"""POST a path to Envoy's admin interface (None: Envoy is not running)."""


def normalise(level: str) -> str:
    """A level name in Envoy's spelling; raises ValueError for an unknown one."""
    name = level.strip().lower()
    name = {"warn": "warning", "fatal": "critical"}.get(name, name)
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; expected one of {', '.join(LEVELS)}")
    return name


class LogLevels:
    """The levels in force, and how to change them."""

    def __init__(self, envoy_level: str, envoy_post: EnvoyPost) -> None:
        """Start from Envoy's command-line level and legation's logger as configured."""
        self._envoy_post = envoy_post
        self.envoy = normalise(envoy_level)
        """Envoy's level as last set (a restarted Envoy returns to its startup level)."""
        python = logging.getLogger("legation").getEffectiveLevel()
        self.legation = next(
            (name for name, value in _PYTHON_LEVELS.items() if value == python and name != "trace"),
            logging.getLevelName(python).lower(),
        )

    def as_dict(self) -> dict[str, str]:
        """`{"legation": ..., "envoy": ...}`."""
        return {"legation": self.legation, "envoy": self.envoy}

    async def set(self, component: str, level: str) -> dict[str, str]:
        """Set `component` (`legation`, `envoy` or `all`) to `level`; returns the levels."""
        if component not in COMPONENTS:
            raise ValueError(
                f"unknown component {component!r}; expected one of {', '.join(COMPONENTS)}"
            )
        name = normalise(level)
        if component in ("envoy", "all"):
            answer = await self._envoy_post(f"/logging?level={name}")
            if answer is None or answer[0] != 200:
                detail = "Envoy is not running" if answer is None else answer[1].strip()[:200]
                raise ValueError(f"Envoy refused the log level: {detail}")
            self.envoy = name
        if component in ("legation", "all"):
            logging.getLogger("legation").setLevel(_PYTHON_LEVELS[name])
            self.legation = name
        logging.getLogger("legation").warning("log levels now %s", self.as_dict())
        return self.as_dict()
