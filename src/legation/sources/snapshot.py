"""Immutable snapshots of raw configuration objects, as the sources hand them on."""

from __future__ import annotations

from dataclasses import dataclass

from legation.ir.errors import ConfigProblem
from legation.model.raw import RawObject


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one source holds at one moment: objects, plus problems reading them."""

    objects: tuple[RawObject, ...]
    problems: tuple[ConfigProblem, ...] = ()
    origin: str = ""
    """A short description of the source (e.g. `folder ./config`), for diagnostics."""
