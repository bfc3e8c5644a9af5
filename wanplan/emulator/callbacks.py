"""Webhooks and callbacks (WaveSpeed `?webhook=`, APIXO `callback_url`, wanapi `webhook_url`),
POSTed when a task ends, only ever to a loopback URL: the emulator never reaches further.
A receiver that does not answer 2xx is tried three times in all, as APIXO documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from wanplan.emulator.loopback import is_loopback_url

ATTEMPTS = 3
TIMEOUT = 5.0

Poster = Callable[[str, Any], int]
"""POST a JSON body to a URL, return the HTTP status."""


@dataclass(frozen=True, slots=True)
class Delivery:
    provider: str
    task_id: str
    url: str
    payload: Any
    status: int | None
    """The receiver's last answer; None when nothing was answered."""
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post_json(url: str, payload: Any) -> int:
    return httpx.post(url, json=payload, timeout=TIMEOUT).status_code


def deliver(
    provider: str, task_id: str, url: str, payload: Any, post: Poster = post_json
) -> Delivery:
    if not is_loopback_url(url):
        return Delivery(provider, task_id, url, payload, None, "not sent: not a loopback URL")
    status: int | None = None
    problem: str | None = None
    for _ in range(ATTEMPTS):
        try:
            status = post(url, payload)
            problem = None
        except httpx.HTTPError as exc:
            status, problem = None, type(exc).__name__
        if status is not None and 200 <= status < 300:
            break
    return Delivery(provider, task_id, url, payload, status, problem)
