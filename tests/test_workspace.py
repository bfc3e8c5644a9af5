"""The workflows called as the CLI calls them, without the CLI: a Workspace with its provider
transport, backoff and stores injected."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KEY_VARIABLES, write_spec
from wanplan.apply.backoff import Backoff
from wanplan.apply.events import ApplyEvent, EventSink
from wanplan.emulator import Emulator, Knobs, provider_base_urls
from wanplan.emulator.transport import IN_PROCESS_URL, EmulatorTransport
from wanplan.errors import ApplyRefused
from wanplan.plan.model import Action, Plan
from wanplan.workspace import ApplyRequest, PlanRequest, Workspace

KEY = "sk-workspace"
CLIPS = "".join(
    f'[assets.{provider}-clip]\nprovider = "{provider}"\nmode = "t2v"\nmodel = "wan-2.5"\n'
    f'prompt = "A {provider} shot."\nseed = 3\n'
    for provider in ("wavespeed", "dashscope", "apixo")
)


class Prompts:
    """What a script answers: no terminal, events collected."""

    def __init__(self) -> None:
        self.shown: list[Plan] = []
        self.events: list[ApplyEvent] = []

    def show(self, plan: Plan) -> None:
        self.shown.append(plan)

    def can_confirm(self) -> bool:
        return False

    def confirm(self, plan: Plan) -> bool:
        raise AssertionError("never asked: there is no one to ask")

    @contextlib.contextmanager
    def progress(self, plan: Plan) -> Iterator[EventSink]:
        yield self.events.append


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: socket.socket, address: Any) -> Any:
        raise AssertionError(f"a socket was opened to {address}: the transport was not used")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Emulator:
    for variable, url in provider_base_urls(IN_PROCESS_URL).items():
        monkeypatch.setenv(variable, url)
    for variable in KEY_VARIABLES.values():
        monkeypatch.setenv(variable, KEY)
    return Emulator(Knobs(latency=0.05, time_scale=0.01))


def test_apply_runs_through_an_injected_transport(
    empty_project: Path, emulator: Emulator, no_sockets: None
) -> None:
    write_spec(empty_project, "clips.toml", CLIPS)
    workspace = Workspace.open(
        empty_project, transport=EmulatorTransport(emulator), backoff=Backoff(base=0.01)
    )
    planned = workspace.plan(PlanRequest()).plan
    assert [c.action for c in planned.changes] == [Action.CREATE] * 3

    prompts = Prompts()
    result = workspace.apply(ApplyRequest(auto_approve=True), prompts)
    assert result is not None and not result.failed and len(result.outcomes) == 3
    assert {e.kind for e in prompts.events} >= {"submitted", "created"}
    made = {str(task.details.get("prompt")) for task in emulator.tasks()}
    assert made == {"A wavespeed shot.", "A dashscope shot.", "A apixo shot."}
    for outcome in result.outcomes:
        assert (empty_project / str(outcome.output_path)).is_file()
    assert not workspace.plan(PlanRequest()).plan.has_changes
    assert workspace.apply(ApplyRequest(auto_approve=True), Prompts()) is None  # nothing to do


def test_apply_without_approval_and_no_one_to_ask_changes_nothing(
    empty_project: Path, emulator: Emulator, no_sockets: None
) -> None:
    write_spec(empty_project, "clips.toml", CLIPS)
    workspace = Workspace.open(empty_project, transport=EmulatorTransport(emulator))
    prompts = Prompts()
    with pytest.raises(ApplyRefused, match="no terminal to ask"):
        workspace.apply(ApplyRequest(), prompts)
    assert len(prompts.shown) == 1  # the refusal reads against the plan
    assert not (empty_project / "state").exists() and emulator.tasks() == []


def test_the_maintenance_workflows_return_values(
    empty_project: Path, emulator: Emulator, no_sockets: None
) -> None:
    write_spec(empty_project, "clips.toml", CLIPS)
    workspace = Workspace.open(empty_project, transport=EmulatorTransport(emulator))
    workspace.apply(ApplyRequest(auto_approve=True), Prompts())
    assert [r.address for r in workspace.recorded()] == [
        "apixo-clip",
        "dashscope-clip",
        "wavespeed-clip",
    ]
    moved = workspace.move("apixo-clip", "apixo-take", "default")
    assert moved.file_moved and (empty_project / moved.output_path).is_file()
    report = workspace.refresh()
    assert not report.missing and not report.altered
    (removed,) = workspace.forget(["apixo-take"], "default")
    assert removed.address == "apixo-take"
    assert workspace.collect_garbage(dry_run=True).blobs == []  # the specs still use it
    spend = workspace.spend(["provider"])
    assert spend.total.tasks == 3
