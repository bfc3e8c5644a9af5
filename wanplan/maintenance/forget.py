"""`state rm`: forget addresses; their outputs and cached blobs stay."""

from __future__ import annotations

from collections.abc import Sequence

from wanplan.maintenance.addresses import recorded
from wanplan.state.base import StateReader, StateWriter
from wanplan.state.records import AssetRecord


def chosen(state: StateReader, profile: str, addresses: Sequence[str]) -> list[AssetRecord]:
    """The records to forget; an error on the first unknown address."""
    records = state.assets(profile)
    return [recorded(records, address, profile) for address in dict.fromkeys(addresses)]


def forget(state: StateWriter, profile: str, addresses: Sequence[str]) -> list[AssetRecord]:
    """Every address is checked before any is removed: one unknown address removes none."""
    forgotten = chosen(state, profile, addresses)
    state.forget_assets(profile, [r.address for r in forgotten])
    return forgotten
