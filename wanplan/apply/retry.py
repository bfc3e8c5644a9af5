"""Retries within a provider's limits.

Backoff is exponential with full jitter (1 s base, ×2, 30 s cap) unless the provider says how
long to wait (`Retry-After`). Reads (polls, downloads, uploads) are retried on 429, 5xx and
network errors. A submit's outcome is *refused* (no task exists) on a 4xx answer (429
included), a 503, or a connection that never reached the provider; 429 and 503 are retried.
Anything else (500, 502, 504, a timeout, a connection dropped after the request was sent)
leaves it *unknown*: never retried blindly, since a second try could pay twice (reconcile.py).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from wanplan.apply.backoff import Backoff
from wanplan.errors import InputNotSent, ProviderAuthError, ProviderError

T = TypeVar("T")

# Errors raised before a request reached the server: no task can exist.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


DEFAULT_BACKOFF = Backoff()


def read_is_retryable(error: BaseException) -> bool:
    if isinstance(error, ProviderAuthError):
        return False
    if isinstance(error, ProviderError):
        return error.retryable
    return isinstance(error, httpx.TransportError)


# 503: the service says it did not process the request (PRODUCT §6).
_REFUSED_SERVER_STATUSES = (503,)


def surely_refused(error: BaseException) -> bool:
    """The provider made no task: it answered 4xx or 503, the request never reached it, or
    its inputs could not be sent (so it was never made)."""
    if isinstance(error, ProviderError):
        status = error.status
        return (
            status is not None and (400 <= status < 500 or status in _REFUSED_SERVER_STATUSES)
        ) or isinstance(error, ProviderAuthError | InputNotSent)
    return isinstance(error, _NOT_SENT)


def submit_is_retryable(error: BaseException) -> bool:
    """A refused submit worth sending again: rate-limited (429), unavailable (503), or never
    sent (no connection, an input upload that failed on the way)."""
    if isinstance(error, ProviderAuthError):
        return False
    if isinstance(error, InputNotSent):
        return error.retryable
    if isinstance(error, ProviderError):
        return error.status in (429, *_REFUSED_SERVER_STATUSES)
    return isinstance(error, _NOT_SENT)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    retryable: Callable[[BaseException], bool],
    backoff: Backoff = DEFAULT_BACKOFF,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            return await call()
        except (ProviderError, httpx.HTTPError) as error:
            attempt += 1
            if attempt >= backoff.attempts or not retryable(error):
                raise
            hinted = error.retry_after if isinstance(error, ProviderError) else None
            # Retry-After when the provider gives a wait; 0 or none: our own backoff.
            delay = hinted if hinted else backoff.delay(attempt - 1, rng)
            await sleep(min(delay, backoff.cap * 4))
