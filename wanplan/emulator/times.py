"""Timestamps as each provider writes them (UTC)."""

from __future__ import annotations

import datetime


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def iso_z(seconds: float) -> str:
    """WaveSpeed: 2025-01-31T12:00:00.123Z"""
    return _utc(seconds).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dashscope(seconds: float) -> str:
    """DashScope: 2025-01-31 12:00:00.123"""
    return _utc(seconds).isoformat(sep=" ", timespec="milliseconds").removesuffix("+00:00")


def millis(seconds: float) -> int:
    """APIXO: epoch milliseconds."""
    return int(seconds * 1000)


def iso_nanos(seconds: float) -> str:
    """WaveSpeed's history: 2025-05-19T06:09:15.948268264Z (nanoseconds)."""
    whole = _utc(seconds).strftime("%Y-%m-%dT%H:%M:%S")
    nanos = min(int((seconds % 1) * 1e9), 999_999_999)
    return f"{whole}.{nanos:09d}Z"
