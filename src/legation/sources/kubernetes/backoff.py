"""Exponential backoff with jitter, for retrying calls to the API server."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays that double after each failure up to `maximum`, each shortened by random jitter.

    With `jitter` 0.5 a delay is drawn from [d/2, d], so many informers that failed
    together do not retry in lockstep. `reset()` after a success starts over.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self) -> float:
        """The delay before the next retry (and count one more failure)."""
        base = min(self.maximum, self.initial * self.factor**self.failures)
        self.failures += 1
        return base * (1.0 - self.jitter * self.rng.random())

    def reset(self) -> None:
        """Forget past failures."""
        self.failures = 0
