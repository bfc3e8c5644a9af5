"""Finding recorded addresses, with a suggestion when one is misspelt."""

from __future__ import annotations

from collections.abc import Mapping

from wanplan.errors import StateError
from wanplan.project import DEFAULT_PROFILE
from wanplan.spec.suggest import did_you_mean
from wanplan.state.records import AssetRecord


def recorded(records: Mapping[str, AssetRecord], address: str, profile: str) -> AssetRecord:
    record = records.get(address)
    if record is None:
        raise StateError(
            f"{address} is not in the state (profile {profile})"
            f"{did_you_mean(address, sorted(records))}; `wanplan state list` shows what is"
        )
    return record


def label(record: AssetRecord) -> str:
    """`address`, or `profile/address` outside the default profile (as `state list` shows)."""
    if record.profile == DEFAULT_PROFILE:
        return record.address
    return f"{record.profile}/{record.address}"
