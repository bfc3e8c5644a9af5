"""What the report shows: every recorded asset of every profile (or one), from the state alone.

Read-only: nothing here writes the state or the outputs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from wanplan.cost.ledger import Tally, select, spend_report
from wanplan.project import DEFAULT_PROFILE, OUTPUTS_DIR, Project
from wanplan.report.figure import extension_of
from wanplan.report.history import Earlier, EarlierFinder
from wanplan.report.inputs import Input, InputFinder
from wanplan.state.base import StateReader
from wanplan.state.records import AssetRecord


@dataclass(frozen=True)
class Entry:
    """One asset in one profile."""

    address: str
    profile: str
    output_path: str
    source: Path | None
    """The output file to show; None when it is missing (or not a file inside outputs/)."""
    media_type: str | None
    provider: str | None
    model_id: str | None
    mode: str | None
    parameters: dict[str, Any]
    cost: Decimal | None
    cost_source: str | None
    generated_at: str | None
    inputs: tuple[Input, ...]
    earlier: Earlier | None
    """The version before this one, when the ledger records one."""
    spent: Tally
    """Every task the ledger records for this address in this profile, earlier ones too."""

    @property
    def present(self) -> bool:
        return self.source is not None

    @property
    def extension(self) -> str:
        return extension_of(self.output_path)


@dataclass(frozen=True)
class Gallery:
    profiles: list[str]
    """Default first, then the others by name: one column each."""
    rows: dict[str, dict[str, Entry]]
    """address → profile → entry, by address."""
    spent: Tally
    """Every task the ledger records (of the profile shown), assets since deleted included."""

    @property
    def entries(self) -> list[Entry]:
        return [entry for row in self.rows.values() for entry in row.values()]

    @property
    def project_files(self) -> set[Path]:
        """Every file of the project the page shows, resolved."""
        shown = [entry.source for entry in self.entries]
        shown += [i.source for entry in self.entries for i in entry.inputs]
        return {source for source in shown if source is not None}

    @property
    def cached_files(self) -> dict[Path, str]:
        """Every earlier version the page shows from the cache → its extension."""
        earlier = [entry.earlier for entry in self.entries if entry.earlier is not None]
        return {e.blob: e.extension for e in earlier if e.blob is not None}


def collect(project: Project, state: StateReader, profile: str | None = None) -> Gallery:
    records = [r for r in state.all_assets() if profile is None or r.profile == profile]
    records.sort(key=lambda r: (r.address, r.profile))
    ledger = list(state.ledger())
    spending = spend_report(select(ledger, profile=profile), ["asset"])
    by_asset = spending.groups["asset"]
    outputs = {r: _output_file(project, r.output_path) for r in records}
    finder = InputFinder(project, state, {r.content_key: (r.address, outputs[r]) for r in records})
    history = EarlierFinder(project, state, ledger)
    rows: dict[str, dict[str, Entry]] = {}
    for record in records:
        details = state.generation_details(record.content_key) or {}
        rows.setdefault(record.address, {})[record.profile] = _entry(
            record,
            details,
            source=outputs[record],
            inputs=finder.inputs(details.get("material") or {}, record.output_path),
            earlier=history.before(record.address, record.profile, record.content_key),
            spent=by_asset.get((record.address, record.profile), Tally()),
        )
    profiles = sorted({r.profile for r in records}, key=lambda p: (p != DEFAULT_PROFILE, p))
    if profile is not None and not profiles:
        profiles = [profile]
    return Gallery(profiles, rows, spending.total)


def _entry(
    record: AssetRecord,
    details: dict[str, Any],
    *,
    source: Path | None,
    inputs: list[Input],
    earlier: Earlier | None,
    spent: Tally,
) -> Entry:
    cost = details.get("cost")
    return Entry(
        address=record.address,
        profile=record.profile,
        output_path=record.output_path,
        source=source,
        media_type=details.get("media_type"),
        provider=details.get("provider"),
        model_id=details.get("model_id"),
        mode=details.get("mode"),
        parameters=dict((details.get("material") or {}).get("params") or {}),
        cost=Decimal(cost) if cost is not None else None,
        cost_source=details.get("cost_source"),
        generated_at=details.get("created_at"),
        inputs=tuple(inputs),
        earlier=earlier,
        spent=spent,
    )


def _output_file(project: Project, output_path: str) -> Path | None:
    """The output, if it is a file inside outputs/: a symlink out of the project is never
    shown, nor copied into a report that may be published."""
    path = project.root / output_path
    try:
        resolved = path.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        return None
    inside = resolved.is_relative_to((project.root / OUTPUTS_DIR).resolve())
    return resolved if inside and resolved.is_file() else None
