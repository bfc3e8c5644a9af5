"""`import`: adopt a task that finished at the provider outside wanplan.

The task is written into the journal as if an apply had submitted it, then the apply engine
resumes it: the same polling, download, verification and records (generation, spend, asset) as
any apply, and no submit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from wanplan.apply.engine import run_apply
from wanplan.apply.events import AssetOutcome, EventSink
from wanplan.apply.providers import ProviderSetup
from wanplan.blobs import BlobStore
from wanplan.cost.estimate import estimate
from wanplan.errors import EXIT_INTERRUPTED, WanplanError
from wanplan.key.file_hashes import FileHasher, FileStamp
from wanplan.plan.model import Action, Plan, PlanChange
from wanplan.project import Project
from wanplan.spec.declared import resolve_specs
from wanplan.spec.resolved import ResolvedAsset
from wanplan.spec.suggest import did_you_mean
from wanplan.state.base import StateReader, StateWriter
from wanplan.state.records import ABANDONED, FAILED, AssetRecord, TaskRecord


class ImportRefused(WanplanError):
    pass


class ImportInterrupted(WanplanError):
    exit_code = EXIT_INTERRUPTED


@dataclass(frozen=True)
class Candidate:
    """The declared asset a task is adopted for, settled before the state is locked."""

    asset: ResolvedAsset
    estimate: Decimal | None
    fresh_file_stamps: dict[str, FileStamp]


def candidate(
    project: Project, reader: StateReader, address: str, provider: str | None, profile: str
) -> Candidate:
    """The declared asset to adopt a task for, checked against the specs and the state."""
    catalog = project.catalog
    hasher = FileHasher(project.root, reader.file_stamps())
    declared = {a.address: a for a in resolve_specs(project, hasher, catalog)}
    asset = declared.get(address)
    if asset is None:
        raise ImportRefused(
            f"{address} is not declared in the specs{did_you_mean(address, sorted(declared))}; "
            "declare it first: its spec says what the task made"
        )
    if provider is not None and provider != asset.provider:
        raise ImportRefused(
            f"--provider {provider} does not match {address}, which {asset.file} gives to "
            f"provider {asset.provider}"
        )
    adoptable(reader, asset, profile)
    return Candidate(asset, estimate(asset, catalog, project.root), hasher.fresh)


def adoptable(state: StateReader, asset: ResolvedAsset, profile: str) -> AssetRecord | None:
    """The asset's current record, unless the state already has (or is getting) its content."""
    current = state.assets(profile).get(asset.address)
    if current is not None and current.content_key == asset.content_key:
        raise ImportRefused(
            f"{asset.address} is already in the state with this content (profile {profile}); "
            f"`wanplan state rm {asset.address}` first to adopt another result for it"
        )
    for open_task in state.open_tasks():
        if open_task.outcome_unknown:
            continue  # what import settles: the task it adopts is that submit's
        if open_task.profile == profile and open_task.content_key == asset.content_key:
            raise ImportRefused(
                f"an earlier apply has a task open for {asset.address} "
                f"(journal row {open_task.id}); "
                "`wanplan apply` collects it"
            )
    return current


def _unknown_submit(state: StateReader, asset: ResolvedAsset, profile: str) -> TaskRecord | None:
    for task in state.open_tasks():
        if (
            task.outcome_unknown
            and task.profile == profile
            and task.content_key == asset.content_key
        ):
            return task
    return None


def adopt(
    project: Project,
    state: StateWriter,
    blobs: BlobStore,
    found: Candidate,
    *,
    task_id: str,
    profile: str,
    setups: dict[str, ProviderSetup],
    on_event: EventSink,
    state_disk: Path | None = None,
) -> AssetOutcome:
    """Poll, download and record `task_id` as `found`'s output. `state_disk`: a local state's
    folder, whose free space is checked before anything is written."""
    asset = found.asset
    current = adoptable(state, asset, profile)
    if state.known_task_ids(asset.provider, [task_id]):
        raise ImportRefused(
            f"{asset.provider} task {task_id} is already in the journal; a task is adopted "
            "once (`wanplan state show` lists what it made)"
        )
    unknown = _unknown_submit(state, asset, profile)
    with state.transaction():
        task_ref = state.record_intent(
            provider=asset.provider,
            model_id=asset.model_id,
            content_key=asset.content_key,
            address=asset.address,
            profile=profile,
            estimated_cost=found.estimate,
        )
        state.record_submitted(task_ref, task_id, "imported (wanplan import)")
    task = state.task(task_ref)
    assert task is not None
    change = PlanChange(
        asset.address,
        Action.RESUME,
        (f"import task {task_id}",),
        estimated_cost=found.estimate,
        asset=asset,
        previous=current,
        task=task,
    )
    plan = Plan(
        profile=profile,
        lineage=state.lineage,
        serial=state.serial,
        changes=[change],
        unchanged=0,
        fresh_file_stamps=found.fresh_file_stamps,
    )
    outcome = run_apply(
        project, plan, state, blobs, setups=setups, on_event=on_event, state_disk=state_disk
    ).outcomes[0]
    if outcome.ok:
        if unknown is not None:  # the user found the task that submit made: settled
            state.record_task_status(
                unknown.id, ABANDONED, f"settled by `wanplan import` of task {task_id}"
            )
        return outcome
    if outcome.interrupted:
        raise ImportInterrupted(
            f"interrupted: task {task_id} is in the journal; `wanplan apply` collects it "
            "(`wanplan plan` shows it as resume)"
        )
    ended = state.task(task_ref)
    if ended is not None and ended.status == FAILED:
        state.discard_task(task_ref)  # nothing was adopted: the journal forgets it
        raise ImportRefused(
            f"cannot import {asset.address}: {asset.provider} task {task_id} failed or is "
            f"unknown there ({ended.error}); nothing was recorded"
        )
    raise ImportRefused(
        f"cannot import {asset.address} yet: {outcome.error}. Task {task_id} stays in the "
        "journal: `wanplan plan` shows it as resume"
    )
