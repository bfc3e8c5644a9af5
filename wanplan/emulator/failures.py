"""Which tasks fail: a marker in the prompt (`[fail]`, or `[fail:CODE]` for a chosen provider
code), or a share of the others drawn from a RNG seeded by the knobs, so a run is repeatable."""

from __future__ import annotations

import random
import re

from wanplan.emulator.knobs import Knobs
from wanplan.emulator.tasks import Failure


class FailureRule:
    def __init__(self) -> None:
        self._rng: random.Random | None = None
        self._seed: int | None = None

    def decide(self, prompt: str | None, knobs: Knobs) -> Failure | None:
        code = marked_code(prompt or "", knobs.fail_marker)
        if code is not None:
            return Failure(code or None)
        if knobs.failure_rate > 0 and self._draw(knobs.failure_seed) < knobs.failure_rate:
            return Failure()
        return None

    def reset(self) -> None:
        self._rng = None
        self._seed = None

    def _draw(self, seed: int) -> float:
        if self._rng is None or self._seed != seed:
            self._rng = random.Random(seed)
            self._seed = seed
        return self._rng.random()


def marked_code(prompt: str, marker: str) -> str | None:
    """ "" when the plain marker is in the prompt, the code of `[fail:CODE]`, else None."""
    if marker in prompt:
        return ""
    if marker.endswith("]"):
        pattern = re.escape(marker[:-1]) + r":([A-Za-z0-9_.\-]+)\]"
        found = re.search(pattern, prompt)
        if found:
            return found.group(1)
    return None
