"""How long to wait before trying again: exponential, with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Attempt n waits a uniform draw in [0, min(cap, base × factor^n)] seconds (1 s, ×2,
    30 s cap, 6 attempts by default)."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    attempts: int = 6

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap, self.base * self.factor**attempt))
