"""Make a plan: load and resolve the specs, read the state, classify every address.

Read-only by construction: it opens the state through a reader and writes nothing anywhere.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from wanplan import confine
from wanplan.blobs import BlobStore
from wanplan.catalog import Catalog
from wanplan.confine import OUTPUTS
from wanplan.cost.estimate import estimate, estimate_material
from wanplan.errors import PlanError
from wanplan.key.file_hashes import FileHasher, sha256_file
from wanplan.plan.diff import FieldDiff, field_diffs
from wanplan.plan.model import Action, Plan, PlanChange, unconfirmed_reason
from wanplan.project import (
    DEFAULT_PROFILE,
    OUTPUTS_DIR,
    Project,
    declared_output_path,
    outputs_of,
)
from wanplan.spec.declared import resolve_specs, settings
from wanplan.spec.dependencies import with_upstreams
from wanplan.spec.resolved import ResolvedAsset
from wanplan.spec.suggest import did_you_mean
from wanplan.state.base import StateReader
from wanplan.state.records import AssetRecord, GenerationRecord, TaskRecord

MISSING = "output file is missing"


def make_plan(
    project: Project,
    *,
    profile: str = DEFAULT_PROFILE,
    targets: Sequence[str] = (),
    force_replace: Sequence[str] = (),
    state: StateReader,
    blobs: BlobStore,
) -> Plan:
    """The plan for `profile`: what apply would generate, reuse, repair or delete, against
    `state` and the blobs cached in `blobs` (both only read)."""
    settings(project, profile)  # settings errors first (with the specs' own): they affect the rest
    project.check_confined()  # outputs and the cache are read: never through a link out
    with _gc_paused():
        catalog = project.catalog  # with the project's prices.toml
        hasher = FileHasher(project.root, state.file_stamps())
        declared = resolve_specs(project, hasher, catalog, profile)
        planner = _Planner(project, state, blobs, catalog, profile)
        plan = planner.plan(declared, targets, force_replace, hasher)
    plan.targets, plan.force_replace = tuple(targets), tuple(force_replace)
    return plan


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while specs load: tens of thousands of long-lived
    dicts would set off repeated full collections that free nothing (about 5% of a plan)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Planner:
    def __init__(
        self,
        project: Project,
        state: StateReader,
        blobs: BlobStore,
        catalog: Catalog,
        profile: str,
    ) -> None:
        self.project = project
        self.state = state
        self.blobs = blobs
        self.catalog = catalog
        self.profile = profile
        self.root = str(project.root)
        self._estimates: dict[tuple[str, str, str, str, int | None], Decimal | None] = {}
        self._materials: dict[str, dict[str, Any] | None] = {}
        self._folders: dict[str, str | None] = {OUTPUTS_DIR: None}
        self._outputs = outputs_of(profile)
        self._current: dict[str, AssetRecord] = {}
        self._recorded_by_key: dict[str, list[AssetRecord]] | None = None
        """This profile's records by content key, made when first needed: where a result not
        in the cache may still be on disk (another address's intact file)."""

    def _rebuild_cost(self, asset: ResolvedAsset) -> Decimal | None:
        shape = (asset.provider, asset.model_id, asset.mode, asset.resolution, asset.duration)
        if shape in self._estimates:
            return self._estimates[shape]
        cost = estimate(asset, self.catalog, self.project.root)
        price = self.catalog.price(asset.provider, asset.model_id, asset.mode, asset.resolution)
        if price is None or not price.reads_inputs:  # else it depends on the asset's inputs
            self._estimates[shape] = cost
        return cost

    def _material(self, content_key: str) -> dict[str, Any] | None:
        """A recorded generation's key material, read once per plan (costs and reasons)."""
        if content_key not in self._materials:
            self._materials[content_key] = self.state.material(content_key)
        return self._materials[content_key]

    def _recorded_cost(self, record: AssetRecord) -> Decimal | None:
        material = self._material(record.content_key)
        return estimate_material(material, self.catalog) if material else None

    def plan(
        self,
        declared: list[ResolvedAsset],
        targets: Sequence[str],
        force_replace: Sequence[str],
        hasher: FileHasher,
    ) -> Plan:
        current = self.state.assets(self.profile)
        known = {a.address for a in declared} | set(current)
        wanted = _check_addresses(targets, known, "--target")
        if wanted:  # like Terraform: a target brings the assets it uses along
            edges = {a.address: a.upstreams for a in declared if a.inputs}
            wanted = with_upstreams(edges, wanted)
        forced = _check_addresses(force_replace, known, "--replace")
        # Open tasks by content key: a task in flight for an asset since renamed still serves it.
        # A task with an id comes before a submit whose outcome is unknown.
        open_tasks: dict[str, TaskRecord] = {}
        for task in self.state.open_tasks():
            if task.profile != self.profile:
                continue
            earlier = open_tasks.get(task.content_key)
            if earlier is None or earlier.outcome_unknown:
                open_tasks[task.content_key] = task
        generating: dict[str, str] = {}
        """Content key -> the address that generates it in this plan."""
        self._current = current
        self._recorded_by_key = None

        changes: list[PlanChange] = []
        unchanged = 0
        recorded_costs: dict[str, Decimal | None] = {}
        for asset in declared:
            if wanted and asset.address not in wanted:
                continue
            record = current.get(asset.address)
            if record is not None and record.content_key != asset.content_key:
                recorded_costs[asset.address] = self._recorded_cost(record)
            change = self._classify(
                asset,
                record,
                open_tasks.pop(asset.content_key, None),
                asset.address in forced,
            )
            if change is not None and change.generates:
                first = generating.setdefault(asset.content_key, asset.address)
                if first != asset.address:
                    # The same content twice in one plan is paid once: this one copies it.
                    change = PlanChange(
                        asset.address,
                        Action.REUSE,
                        (f"same content as {first}",),
                        asset=asset,
                        previous=change.previous,
                        waits_for=first,
                    )
            if change is None:
                unchanged += 1
            else:
                changes.append(change)
        declared_addresses = {a.address for a in declared}
        gone = {
            address: record
            for address, record in current.items()
            if address not in declared_addresses and (not wanted or address in wanted)
        }
        for address in gone:
            recorded_costs[address] = self._recorded_cost(gone[address])
        changes = self._moves(changes, gone, current, forced)
        changes.sort(key=lambda c: c.address)
        return Plan(
            profile=self.profile,
            lineage=self.state.lineage,
            serial=self.state.serial,
            changes=changes,
            unchanged=unchanged,
            fresh_file_stamps=hasher.fresh,
            declared_assets=declared,
            recorded=current,
            recorded_costs=recorded_costs,
            estimator=self._rebuild_cost,
            scope=frozenset(wanted),
        )

    def _classify(
        self,
        asset: ResolvedAsset,
        record: AssetRecord | None,
        task: TaskRecord | None,
        forced: bool,
    ) -> PlanChange | None:
        key = asset.content_key
        if forced:
            change = self._generate(asset, record, ("forced by --replace",))
            if task is not None and task.outcome_unknown:
                # Paid again knowingly: the unknown submit is closed when this one is sent.
                warning = f"{unconfirmed_reason(task)}; --replace pays again"
                return dataclasses.replace(change, task=task, warnings=(*change.warnings, warning))
            return change
        if record is not None and record.content_key == key:
            return self._check_output(asset, record)
        diff, reasons = self._diff(asset, record)
        if task is not None and task.content_key == key:
            if task.outcome_unknown:
                return PlanChange(
                    asset.address,
                    Action.UNCONFIRMED,
                    (unconfirmed_reason(task),),
                    asset=asset,
                    previous=record,
                    task=task,
                    cost_at_risk=task.committed_cost,
                    diff=diff,
                )
            return PlanChange(
                asset.address,
                Action.RESUME,
                ("collect the task submitted earlier",),
                asset=asset,
                previous=record,
                task=task,
                diff=diff,
            )
        source = self.state.generation(key)
        if source is not None and self._cached(source.blob_sha256):
            return PlanChange(
                asset.address,
                Action.REUSE,
                ("generated before", *reasons),
                asset=asset,
                previous=record,
                source=source,
                diff=diff,
            )
        holder = self._intact_holder(source) if source is not None else None
        if source is not None and holder is not None:  # two assets that trade contents
            return PlanChange(
                asset.address,
                Action.REUSE,
                ("generated before", f"from {holder.output_path}", *reasons),
                asset=asset,
                previous=record,
                source=source,
                diff=diff,
                file_source=holder,
            )
        return dataclasses.replace(self._generate(asset, record, reasons), diff=diff)

    def _intact_holder(self, source: GenerationRecord) -> AssetRecord | None:
        """A recorded output that holds this generation's bytes intact, where the cache lacks
        them: apply takes the result from that file instead of paying again."""
        if self._recorded_by_key is None:
            self._recorded_by_key = {}
            for recorded in self._current.values():
                self._recorded_by_key.setdefault(recorded.content_key, []).append(recorded)
        for recorded in self._recorded_by_key.get(source.content_key, ()):
            if (
                recorded.output_sha256 == source.blob_sha256
                and self._output_problem(recorded) is None
            ):
                return recorded
        return None

    def _generate(
        self, asset: ResolvedAsset, record: AssetRecord | None, reasons: tuple[str, ...]
    ) -> PlanChange:
        action = Action.CREATE if record is None else Action.REPLACE
        warnings = asset.cautions
        return PlanChange(
            asset.address,
            action,
            reasons if record else (),
            estimated_cost=self._rebuild_cost(asset),
            asset=asset,
            previous=record,
            warnings=warnings,
        )

    def _diff(
        self, asset: ResolvedAsset, record: AssetRecord | None
    ) -> tuple[tuple[FieldDiff, ...], tuple[str, ...]]:
        """What changed since the recorded generation, and the reasons naming those fields."""
        if record is None:
            return (), ()
        before = self._material(record.content_key)
        if before is None:
            return (), ("previous parameters unknown",)
        diff = tuple(field_diffs(before, asset))
        return diff, tuple(d.field for d in diff) or ("content key format",)

    def _moves(
        self,
        changes: list[PlanChange],
        gone: dict[str, AssetRecord],
        current: dict[str, AssetRecord],
        forced: set[str],
    ) -> list[PlanChange]:
        """The changes plus a delete for each address no longer declared, except a rename: a
        new address with the content a gone one holds takes it over (one change, no delete).
        It reuses the cached result, or, where the cache lacks it (a fresh CI runner, `gc`),
        the gone address's intact file (apply puts it back in the cache first)."""
        waiting: dict[str, list[int]] = {}
        """Content key -> the new addresses (indexes) that reuse or create it."""
        for position, change in enumerate(changes):
            if change.action in (Action.REUSE, Action.CREATE, Action.REPLACE) and (
                change.address not in forced  # --replace pays again, knowingly
            ):
                waiting.setdefault(change.content_key or "", []).append(position)
        holders = {r.output_path: a for a, r in current.items() if a not in gone}
        changes = list(changes)
        for address in sorted(gone):
            record = gone[address]
            index = self._taker(changes, waiting.get(record.content_key, []), record)
            if index is not None:
                changes[index] = dataclasses.replace(
                    changes[index], reasons=(f"moved from {address}",), moved=record
                )
                continue
            holder = holders.get(record.output_path)
            reasons = (f"{record.output_path} is {holder}'s now: kept",) if holder else ()
            changes.append(PlanChange(address, Action.DELETE, reasons, previous=record))
        return changes

    def _taker(
        self, changes: list[PlanChange], candidates: list[int], record: AssetRecord
    ) -> int | None:
        """The first new address that can take over `record`'s result (removed from
        `candidates`), turned into a reuse when it can only be had from the old file."""
        for position in candidates:
            change = changes[position]
            if change.action is Action.REUSE and change.source is not None:
                candidates.remove(position)
                return position
            if change.action in (Action.CREATE, Action.REPLACE) and change.asset is not None:
                source = self.state.generation(record.content_key)
                if (
                    source is not None
                    and source.blob_sha256 == record.output_sha256
                    and self._output_problem(record) is None
                ):
                    candidates.remove(position)
                    changes[position] = dataclasses.replace(
                        change,
                        action=Action.REUSE,
                        source=source,
                        file_source=record,
                        estimated_cost=Decimal(0),
                        warnings=(),
                    )
                    return position
        return None

    def _output_problem(self, record: AssetRecord) -> str | None:
        """What is wrong with a recorded output file (MISSING when it is gone); None when it is
        still the one recorded (its size and time, else its bytes)."""
        path = f"{self.root}/{record.output_path}"  # a str: a Path per asset would cost
        folder_problem = self._folder_problem(record.output_path)
        if folder_problem is not None:
            return folder_problem
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return MISSING
        except OSError as exc:
            return f"output file cannot be read ({exc.strerror or exc})"
        if not stat.S_ISREG(st.st_mode):
            return f"{record.output_path} is {confine.kind(st.st_mode)}: move it away"
        if st.st_size == record.output_size and (
            st.st_mtime_ns == record.output_mtime_ns
            or sha256_file(Path(path)) == record.output_sha256
        ):
            return None
        return "output file was altered"

    def _folder_problem(self, output_path: str) -> str | None:
        """Why an output's folder (other than outputs/ itself) cannot hold it, once per folder."""
        folder = output_path.rpartition("/")[0]
        if folder not in self._folders:
            try:
                confine.check_folder(self.project.outputs_dir, self.project.root / folder, OUTPUTS)
                self._folders[folder] = None
            except confine.Confined as exc:
                self._folders[folder] = f"{folder}/ {exc}"
        return self._folders[folder]

    def _cached(self, sha256: str) -> bool:
        """Whether the blob can be restored: a shared store has every recorded one (plan needs
        no access to it); the local cache is looked at."""
        return self.blobs.shared or self.blobs.has(sha256)

    def _check_output(self, asset: ResolvedAsset, record: AssetRecord) -> PlanChange | None:
        problem = self._output_problem(record)
        if self._output_renamed(asset, record):
            source = self.state.generation(record.content_key)
            if source is not None:
                declared = declared_output_path(
                    asset.address, asset.output, self.profile, source.extension
                )
                if declared != record.output_path:
                    return self._move_output(asset, record, source, declared, problem)
        if problem is None or (problem == MISSING and self.blobs.shared):
            return None  # missing but in the shared store: `wanplan pull` writes it here
        source = self.state.generation(record.content_key)
        if source is not None and self._cached(source.blob_sha256):
            return PlanChange(
                asset.address,
                Action.REPAIR,
                (problem, "restore from the cache"),
                asset=asset,
                previous=record,
                source=source,
            )
        change = self._generate(asset, record, (problem, "not in the cache: generate again"))
        return dataclasses.replace(change, action=Action.REPAIR)

    def _output_renamed(self, asset: ResolvedAsset, record: AssetRecord) -> bool:
        """Whether the spec names another output file than the recorded one (with the recorded
        file's extension: no query per asset where nothing was renamed)."""
        path = record.output_path
        if asset.output is None:  # the common case, per asset: string tests only
            stem = f"{self._outputs}/{asset.address}."
            return not path.startswith(stem) or "." in path[len(stem) :]
        extension = path.rpartition(".")[2]
        return declared_output_path(asset.address, asset.output, self.profile, extension) != path

    def _move_output(
        self,
        asset: ResolvedAsset,
        record: AssetRecord,
        source: GenerationRecord,
        declared: str,
        problem: str | None,
    ) -> PlanChange:
        """The spec names another output file for the same content: the result is written
        there (from the cache, else from the intact old file) and the old file removed."""
        reason = f"output file is now {declared} (was {record.output_path})"
        if self._cached(source.blob_sha256):
            reasons = (reason, "restore from the cache")
            return PlanChange(
                asset.address, Action.REPAIR, reasons, asset=asset, previous=record, source=source
            )
        if problem is None:
            return PlanChange(
                asset.address,
                Action.REPAIR,
                (reason, f"move {record.output_path}"),
                asset=asset,
                previous=record,
                source=source,
                file_source=record,
            )
        change = self._generate(
            asset, record, (reason, problem, "not in the cache: generate again")
        )
        return dataclasses.replace(change, action=Action.REPAIR)


def _check_addresses(addresses: Iterable[str], known: set[str], option: str) -> set[str]:
    """The addresses named; a matrix's table name stands for all its members."""
    chosen: set[str] = set()
    for address in addresses:
        if address in known:
            chosen.add(address)
            continue
        members = {k for k in known if k.startswith(f"{address}.")}
        if not members:
            raise PlanError(
                f"{option} {address}: no such asset in the specs or the state"
                f"{did_you_mean(address, sorted(known))}"
            )
        chosen |= members
    return chosen
