"""Retry rules: reads retry on 429/5xx/network; a submit only when no task can exist."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from wanplan.apply.retry import Backoff, read_is_retryable, submit_is_retryable, with_retries
from wanplan.errors import ProviderAuthError, ProviderError


def failing(errors: list[BaseException]) -> tuple[list[int], object]:
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    return calls, call


def run(errors: list[BaseException], retryable: object) -> tuple[list[int], list[float], object]:
    calls, call = failing(errors)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def main() -> object:
        try:
            return await with_retries(call, retryable, Backoff(), random.Random(1), sleep)  # type: ignore[arg-type]
        except Exception as exc:
            return exc

    return calls, slept, asyncio.run(main())


def rate_limited(after: float | None = None) -> ProviderError:
    return ProviderError("p", "HTTP 429", retryable=True, retry_after=after, status=429)


def server_error() -> ProviderError:
    return ProviderError("p", "HTTP 503", retryable=True, status=503)


def test_retry_after_is_honoured() -> None:
    calls, slept, result = run([rate_limited(7.0), rate_limited(2.5)], read_is_retryable)
    assert result == "ok" and len(calls) == 3 and slept == [7.0, 2.5]


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    rng = random.Random(0)
    backoff = Backoff()
    for attempt in range(8):
        ceiling = min(30.0, 2.0**attempt)
        assert all(0 <= backoff.delay(attempt, rng) <= ceiling for _ in range(50))


def test_reads_retry_server_and_network_errors_but_give_up() -> None:
    errors: list[BaseException] = [
        server_error(),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("x"),
    ]
    calls, slept, result = run(errors, read_is_retryable)
    assert result == "ok" and len(calls) == 4 and len(slept) == 3
    calls, _, result = run([server_error()] * 10, read_is_retryable)
    assert isinstance(result, ProviderError) and len(calls) == Backoff().attempts


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (rate_limited(), True),
        (httpx.ConnectError("refused"), True),
        (server_error(), True),  # 503: the service says it did not process it
        (ProviderError("p", "HTTP 500", retryable=True, status=500), False),  # it may exist
        (ProviderError("p", "HTTP 502", retryable=True, status=502), False),
        (ProviderError("p", "HTTP 504", retryable=True, status=504), False),
        (httpx.ReadTimeout("no answer"), False),
        (httpx.RemoteProtocolError("cut"), False),
        (ProviderError("p", "HTTP 400 bad", status=400), False),
        (ProviderAuthError("p", "HTTP 401", "KEY"), False),
    ],
)
def test_submit_is_retried_only_when_no_task_can_exist(error: BaseException, retried: bool) -> None:
    calls, _, result = run([error], submit_is_retryable)
    assert (result == "ok") is retried
    assert len(calls) == (2 if retried else 1)


def test_auth_errors_are_never_retried() -> None:
    calls, _, result = run([ProviderAuthError("p", "HTTP 401", "KEY")], read_is_retryable)
    assert isinstance(result, ProviderAuthError) and len(calls) == 1
