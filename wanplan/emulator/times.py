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
