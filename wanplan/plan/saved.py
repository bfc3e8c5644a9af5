"""Saved plans: `plan --out FILE` and `apply FILE`.

A saved plan is the JSON plan (PRODUCT §5) plus a `saved` section: the options it was made with,
the state's lineage and serial, and a sha256 of every specs file, of wanplan.toml and of every
input file. `apply FILE` plans again with the same options and applies only if nothing it
touches moved: the same state (lineage), the same files, and the very same changes (addresses,
actions, content keys, the keys they replace, estimates, tasks resumed). Other runners of a
shared state may change other assets meanwhile (the serial moves): that does not make it stale.
Otherwise it refuses the plan as stale and says why.
It holds no secret: API keys are never part of a plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wanplan import atomic
from wanplan.config import CONFIG_FILE
from wanplan.errors import PlanError
from wanplan.key.file_hashes import sha256_file
from wanplan.plan.model import Plan
from wanplan.project import Project
from wanplan.render.json_plan import FORMAT_VERSION, change_document, plan_document
from wanplan.spec.load import spec_files
from wanplan.spec.suggest import first_few
from wanplan.state.base import StateStore

SAVED_FORMAT = "wanplan.saved-plan/1"


def fingerprint(project: Project, plan: Plan) -> dict[str, Any]:
    """What the plan was made from, file by file."""
    root = project.root
    settings = root / CONFIG_FILE
    return {
        "settings": sha256_file(settings) if settings.is_file() else None,
        "specs": {p.relative_to(root).as_posix(): sha256_file(p) for p in spec_files(root)},
        "inputs": dict(sorted(plan.inputs.items())),
    }


def _change_identity(document: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Each change by address: what it does, from what, for how much."""
    return {
        c["address"]: (
            c["action"],
            c["content_key"],
            c.get("previous_content_key"),
            c["estimated_cost"],
            c.get("task_id"),
            c.get("moved_from"),
        )
        for c in document["changes"]
    }


def saved_document(project: Project, plan: Plan) -> dict[str, Any]:
    document = plan_document(plan)
    document["saved"] = {
        "format": SAVED_FORMAT,
        "options": {
            "profile": plan.profile,
            "targets": list(plan.targets),
            "replace": list(plan.force_replace),
        },
        "files": fingerprint(project, plan),
    }
    return document


def check_plan_path(project: Project, path: Path, state: StateStore) -> None:
    """A plan file must not overwrite what wanplan reads or makes: the state, the settings,
    specs, inputs, outputs or the cache."""
    target = path.resolve()
    root = project.root.resolve()
    folders = [root / "specs", root / "inputs", project.outputs_dir, project.cache_dir]
    protected = state.owns(target) or target == root / CONFIG_FILE
    if protected or any(target.is_relative_to(f.resolve()) for f in folders):
        raise PlanError(
            f"--out {path}: that would overwrite the project's own files; save the plan "
            "elsewhere, like plan.json"
        )
    if target.suffix in (".db", ".toml"):
        raise PlanError(f"--out {path}: a saved plan is JSON; name it like plan.json")


def write_saved_plan(path: Path, document: dict[str, Any]) -> None:
    """Write atomically: a half-written plan file must never be applied."""
    path = path.resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        raise PlanError(f"{path}: cannot write the plan ({exc.strerror})") from None


@dataclass(frozen=True)
class SavedPlan:
    path: Path
    document: dict[str, Any]

    @property
    def profile(self) -> str:
        return str(self.document["saved"]["options"]["profile"])

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.document["saved"]["options"]["targets"])

    @property
    def force_replace(self) -> tuple[str, ...]:
        return tuple(self.document["saved"]["options"]["replace"])


def load_saved_plan(path: Path) -> SavedPlan:
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{path}: no such plan file; save one with `wanplan plan --out`") from None
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON, UTF-8, digits
        raise PlanError(f"{path}: not a saved plan ({exc})") from None
    saved = document.get("saved") if isinstance(document, dict) else None
    if not isinstance(saved, dict) or saved.get("format") != SAVED_FORMAT:
        raise PlanError(
            f"{path}: not a plan saved by `wanplan plan --out` (a --format json plan cannot be "
            "applied: it carries no check against a stale state)"
        )
    version = document.get("format_version")
    if version is not None and version != FORMAT_VERSION:
        raise PlanError(
            f"{path}: a plan of format_version {repr(version)[:40]}, which this wanplan "
            f"(format_version {FORMAT_VERSION}) does not apply; plan again with this wanplan"
        )
    try:
        options, files = saved["options"], saved["files"]
        if not (
            isinstance(options["profile"], str)
            and all(isinstance(t, str) for t in options["targets"])
            and all(isinstance(t, str) for t in options["replace"])
            and isinstance(files["specs"], dict)
            and isinstance(files["inputs"], dict)
            and isinstance(document["changes"], list)
            and isinstance(document["state"], dict)
            and version == FORMAT_VERSION
        ):
            raise TypeError
        _change_identity(document)
    except (KeyError, TypeError):
        raise PlanError(f"{path}: the saved plan is damaged; save it again") from None
    return SavedPlan(path, document)


def _changed_files(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        [f"{n} (changed)" for n in before.keys() & after.keys() if before[n] != after[n]]
        + [f"{n} (added)" for n in after.keys() - before.keys()]
        + [f"{n} (removed)" for n in before.keys() - after.keys()]
    )


def check_fresh(saved: SavedPlan, project: Project, plan: Plan) -> None:
    """Refuse a saved plan that is not exactly what planning again now gives."""
    document = saved.document
    reasons: list[str] = []
    state = document["state"]
    if state.get("lineage") is not None and state.get("lineage") != plan.lineage:
        reasons.append(
            f"it was made against another state (lineage {str(state.get('lineage'))[:8]}, "
            f"this one is {str(plan.lineage)[:8]})"
        )
    files = document["saved"]["files"]
    now = fingerprint(project, plan)
    if files.get("settings") != now["settings"]:
        reasons.append(f"{CONFIG_FILE} changed")
    specs = _changed_files(files["specs"], now["specs"])
    if specs:
        reasons.append(f"specs changed: {first_few(specs)}")
    inputs = _changed_files(files["inputs"], now["inputs"])
    if inputs:
        reasons.append(f"inputs changed: {first_few(inputs)}")
    if not reasons:
        then = _change_identity(document)
        now_changes = _change_identity({"changes": [change_document(c) for c in plan.changes]})
        moved = sorted(
            a for a in then.keys() | now_changes.keys() if then.get(a) != now_changes.get(a)
        )
        if moved:
            where = (
                f"the state changed since (serial {state.get('serial')} then, {plan.serial} now)"
                if state.get("serial") != plan.serial
                else "outputs or the cache changed"
            )
            reasons.append(f"planning again gives other changes for {first_few(moved)} ({where})")
    if reasons:
        raise PlanError(
            f"{saved.path}: the saved plan is stale, nothing was applied: "
            + "; ".join(reasons)
            + ". Run `wanplan plan --out` again and review it."
        )
