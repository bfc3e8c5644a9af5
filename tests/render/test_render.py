"""The three plan formats of PRODUCT §5."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.conftest import Run, write_spec
from wanplan.catalog import load_catalog
from wanplan.cost.estimate import estimate
from wanplan.workspace import PlanRequest, Workspace


def test_json_plan_follows_the_contract(run: Run, project: Path) -> None:
    document = json.loads(run(project, "plan", "--format", "json").output)
    assert document["format_version"] == "1"
    assert document["profile"] == "default"
    assert document["state"] == {"lineage": None, "serial": 0}
    change = next(c for c in document["changes"] if c["address"] == "forest-dolly")
    assert set(change) >= {
        "address",
        "action",
        "reasons",
        "provider",
        "model_id",
        "mode",
        "content_key",
        "previous_content_key",
        "estimated_cost",
        "currency",
    }
    assert change == {
        **change,
        "action": "create",
        "reasons": [],
        "provider": "sim",
        "model_id": "sim/wan-2.5/t2v",
        "mode": "t2v",
        "previous_content_key": None,
        "estimated_cost": "0.50",
        "currency": "USD",
    }
    assert len(change["content_key"]) == 64
    assert document["summary"] == {
        "create": 6,
        "replace": 0,
        "reuse": 0,
        "resume": 0,
        "repair": 0,
        "delete": 0,
        "unconfirmed": 0,
        "unchanged": 0,
        "estimated_cost": "3.03",
        "unknown_cost": 0,
        "committed_cost": "0.00",
        "unknown_committed_cost": 0,
        "cost_at_risk": "0.00",
        "unknown_cost_at_risk": 0,
        "rebuild": {
            "before": {"estimated_cost": "0.00", "unknown_cost": 0},
            "after": {"estimated_cost": "3.03", "unknown_cost": 0},
        },
    }
    assert len(document["declared"]) == 6
    assert {d["address"]: d["rebuild_cost"] for d in document["declared"]}["forest-dolly"] == "0.50"


def test_unknown_price_is_null_and_counted_never_zero(run: Run, project: Path) -> None:
    write_spec(
        project,
        "extra.toml",
        '[assets.new-poster]\nmode = "t2i"\nmodel = "wan-2.7"\nprompt = "x"\nseed = 2\n',
    )
    document = json.loads(run(project, "plan", "--format", "json").output)
    change = next(c for c in document["changes"] if c["address"] == "new-poster")
    assert change["estimated_cost"] is None
    assert document["summary"]["unknown_cost"] == 1
    assert document["summary"]["estimated_cost"] == "3.03"
    text = run(project, "plan").output
    assert "new-poster" in text and "unknown" in text
    assert "Estimated cost: $3.03 + 1 of unknown price" in text


def test_text_plan_has_symbols_legend_and_closing_line(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    spec = project / "specs" / "launch.toml"
    text = spec.read_text()
    spec.write_text(
        text.replace("seed = 42", "seed = 41").replace("[assets.poster]", "[assets.poster-2]")
    )
    (project / "specs" / "social.toml").unlink()
    output = run(project, "plan").output
    assert "  ~ forest-dolly" in output and "replace  seed" in output
    assert "  = poster-2" in output
    assert "  - hero-to-forest" in output and "  - square-loop" in output
    assert "Legend: ~ replace (generate again), = reuse a cached result, - delete" in output
    assert output.rstrip().endswith(
        "Plan: 0 to create, 1 to replace, 2 to delete. Estimated cost: $0.50. Also 1 to reuse"
    )


def test_markdown_plan_for_pull_requests(run: Run, project: Path) -> None:
    output = run(project, "plan", "--format", "markdown").output
    assert output.startswith("<!-- wanplan -->\n")
    assert "| `+` | `forest-dolly` | create |" in output
    assert "**Plan: 6 to create, 0 to replace, 0 to delete. Estimated cost: $3.03**" in output
    assert "| | **total** | | | **$3.03** |" in output
    assert "Compared with an empty state" in output
    run(project, "apply", "-y")
    again = run(project, "plan", "--format", "markdown").output
    assert "Compared with the last applied state: serial 6" in again
    assert "**No changes.** 6 assets match the specs." in again


def test_estimates_are_decimal_with_minimum_seconds(project: Path) -> None:
    catalog = load_catalog()
    write_spec(
        project,
        "short.toml",
        '[assets.short]\nmode = "t2v"\nmodel = "wan-2.7"\nprompt = "x"\nduration = 2\n'
        'seed = 1\nresolution = "1080p"\n',
    )
    plan = Workspace.open(project).plan(PlanRequest(targets=("short", "city-timelapse"))).plan
    costs = {c.address: c.estimated_cost for c in plan.changes}
    assert costs == {"short": Decimal("0.75"), "city-timelapse": Decimal("1.00")}  # 5 s minimum
    assert all(isinstance(estimate(c.asset, catalog), Decimal) for c in plan.changes if c.asset)


def test_an_apply_stopped_without_a_failure_says_interrupted_not_failures() -> None:
    from wanplan.apply.events import ApplyResult, AssetOutcome
    from wanplan.cli.progress import render_summary
    from wanplan.plan.model import Action

    stopped = ApplyResult(
        [
            AssetOutcome("a", Action.CREATE, ok=True),
            AssetOutcome("b", Action.CREATE, ok=False, error="interrupted", interrupted=True),
        ]
    )
    text = render_summary(stopped)
    assert text.startswith("Apply interrupted: 1 created") and "1 interrupted" in text
    assert "failures" not in text
    failed = ApplyResult([AssetOutcome("c", Action.CREATE, ok=False, error="boom")])
    assert render_summary(failed).startswith("Apply finished with failures")


def test_committed_cost_of_resumed_tasks_is_shown_apart_in_every_format() -> None:
    from wanplan.plan.model import Action, Plan, PlanChange
    from wanplan.render.json_plan import plan_document
    from wanplan.render.markdown import render_markdown
    from wanplan.render.text import render_text
    from wanplan.state.records import TaskRecord

    def task(n: int, quoted: str | None, estimated: str | None) -> TaskRecord:
        return TaskRecord(
            n, "sim", "m", f"t{n}", f"k{n}", f"a{n}", "default", "submitted", "", "",
            Decimal(estimated) if estimated else None, None,
            Decimal(quoted) if quoted else None,
        )  # fmt: skip

    changes = [
        PlanChange("a1", Action.RESUME, task=task(1, "1.25", "1.00")),  # the quote wins
        PlanChange("a2", Action.RESUME, task=task(2, None, "0.50")),
        PlanChange("a3", Action.RESUME, task=task(3, None, None)),  # unknown, never $0
        PlanChange("new", Action.CREATE, estimated_cost=Decimal("2.00")),
    ]
    plan = Plan("default", None, 0, changes, unchanged=0)
    summary = plan_document(plan)["summary"]
    assert (summary["estimated_cost"], summary["committed_cost"]) == ("2.00", "1.75")
    assert summary["unknown_committed_cost"] == 1
    text = render_text(plan)
    assert (
        "Estimated cost: $2.00 (plus $1.75 + 1 of unknown price already committed by 3 tasks"
        " in flight)" in text
    )
    assert "$1.25 committed" in text
    markdown = render_markdown(plan)
    assert "| Already committed by 3 tasks in flight | $1.75 + 1 of unknown price |" in markdown
