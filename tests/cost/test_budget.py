"""Budget caps: checked before any request, the whole plan refused with the estimate against each
cap, unknown prices only with --allow-unknown-cost, the day's cap counted from the ledger."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import Run, write_spec
from wanplan.config import BudgetSettings
from wanplan.cost.budget import check_budget, spent_on
from wanplan.errors import OverBudget
from wanplan.state.records import TaskRecord
from wanplan.workspace import PlanRequest, Workspace

# The example project: six assets, $3.03 in all; the dearest is city-timelapse at $1.00.


def budget(project: Path, **caps: str) -> None:
    lines = "".join(f"{name} = {value}\n" for name, value in caps.items())
    config = project / "wanplan.toml"
    config.write_text(config.read_text() + f"\n[budget]\n{lines}")


def nothing_spent(project: Path) -> bool:
    return not (project / "state" / "wanplan.db").exists() and not (project / "outputs").exists()


def test_max_per_apply_refuses_before_anything_is_written(run: Run, project: Path) -> None:
    budget(project, max_per_apply="3.00")
    result = run(project, "apply", "-y")
    assert result.exit_code == 4
    assert "the estimated $3.03 of this apply exceeds [budget] max_per_apply $3.00" in result.stderr
    assert nothing_spent(project)


def test_max_cost_on_the_command_line_adds_to_the_settings(run: Run, project: Path) -> None:
    budget(project, max_per_apply="100")
    result = run(project, "apply", "-y", "--max-cost", "$2.50")
    assert result.exit_code == 4
    assert "exceeds --max-cost $2.50" in result.stderr
    assert "max_per_apply" not in result.stderr
    assert nothing_spent(project)
    assert run(project, "apply", "-y", "--max-cost", "3.03").exit_code == 0


def test_max_per_asset_names_each_asset_over_it(run: Run, project: Path) -> None:
    budget(project, max_per_asset="0.50")
    result = run(project, "apply", "-y")
    assert result.exit_code == 4
    assert (
        "asset city-timelapse: the estimated $1.00 exceeds [budget] max_per_asset $0.50"
        in result.stderr
    )
    assert "forest-dolly" not in result.stderr  # exactly at the cap is within it
    assert nothing_spent(project)
    ok = run(project, "apply", "-y", "--target", "forest-dolly")
    assert ok.exit_code == 0, ok.output


def test_max_per_day_counts_what_the_ledger_recorded_today(run: Run, project: Path) -> None:
    budget(project, max_per_day="2.00")
    assert run(project, "apply", "-y", "--target", "city-timelapse").exit_code == 0  # $1.00
    pair = run(project, "apply", "-y", "--target", "forest-dolly", "--target", "hero-turn")
    assert pair.exit_code == 0, pair.output  # $1.00 more: exactly at the cap is within it
    rest = run(project, "apply", "-y")
    assert rest.exit_code == 4
    assert (
        "$2.00 already spent today (UTC) + the estimated $1.03 = $3.03 exceeds "
        "[budget] max_per_day $2.00" in rest.stderr
    )
    assert not (project / "outputs" / "poster.png").exists()


def test_unknown_price_needs_allow_unknown_cost_when_a_cap_is_set(
    run: Run, empty_project: Path
) -> None:
    # The catalog has deliberately no price for sim's wan-2.7 text-to-image.
    write_spec(
        empty_project,
        "still.toml",
        'version = 1\n[assets.still]\nmodel = "wan-2.7"\nmode = "t2i"\nprompt = "A fern."\n'
        "seed = 1\n",
    )
    assert run(empty_project, "plan").exit_code == 0
    refused = run(empty_project, "apply", "-y", "--max-cost", "100")
    assert refused.exit_code == 4
    assert "1 change(s) of unknown price (still)" in refused.stderr
    assert "--allow-unknown-cost" in refused.stderr
    assert not (empty_project / "outputs").exists()
    allowed = run(empty_project, "apply", "-y", "--max-cost", "100", "--allow-unknown-cost")
    assert allowed.exit_code == 0, allowed.output
    assert "not counted against the budget" in allowed.stderr
    assert (empty_project / "outputs" / "still.png").is_file()


def test_without_a_cap_an_unknown_price_is_applied_as_before(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "still.toml",
        'version = 1\n[assets.still]\nmodel = "wan-2.7"\nmode = "t2i"\nprompt = "A fern."\n'
        "seed = 1\n",
    )
    assert run(empty_project, "apply", "-y").exit_code == 0


@pytest.mark.parametrize("amount", ["abc", "-1", "nan", "inf", ""])
def test_a_bad_amount_is_a_usage_error(run: Run, project: Path, amount: str) -> None:
    result = run(project, "apply", "-y", "--max-cost", amount)
    assert result.exit_code == 1  # not 2: that is "changes" under --detailed-exitcode
    assert "is not an amount in USD" in result.output
    assert nothing_spent(project)


def test_check_budget_lists_every_cap_exceeded(project: Path) -> None:
    plan = Workspace.open(project).plan(PlanRequest()).plan
    caps = BudgetSettings(
        max_per_apply=Decimal("1"), max_per_asset=Decimal("0.40"), max_per_day=Decimal("5")
    )
    with pytest.raises(OverBudget) as refused:
        check_budget(plan, caps, spent_today=(Decimal("4.50"), 0))
    lines = str(refused.value).splitlines()
    assert lines[0] == "over budget, nothing was sent to a provider:"
    assert "exceeds [budget] max_per_apply $1.00" in lines[1]
    over_asset = [line for line in lines if "max_per_asset" in line]
    assert len(over_asset) == 5  # every asset but the $0.03 poster
    assert "$4.50 already spent today (UTC) + the estimated $3.03 = $7.53" in lines[-1]
    assert check_budget(plan, BudgetSettings()) == []


def test_spent_on_sums_one_days_known_amounts() -> None:
    ledger = [
        {"day": "2026-11-20", "amount": "9.00"},
        {"day": "2026-11-21", "amount": "1.25"},
        {"day": "2026-11-21", "amount": None},
        {"day": "2026-11-21", "amount": "0.75"},
    ]
    assert spent_on(ledger, "2026-11-21") == (Decimal("2.00"), 1)
    assert spent_on(ledger, "2026-11-19") == (Decimal(0), 0)


def test_a_task_in_flight_counts_at_its_quote_else_its_estimate() -> None:
    def in_flight(task_id: str, estimate: str, quote: str | None) -> TaskRecord:
        return TaskRecord(
            1, "wavespeed", "m", task_id, "k", "a", "default", "submitted",
            "2026-11-21T09:00:00.000+00:00", "2026-11-21T09:00:00.000+00:00",
            Decimal(estimate), None, Decimal(quote) if quote is not None else None,
        )  # fmt: skip

    tasks = [in_flight("t1", "0.90", "0.60"), in_flight("t2", "0.40", None)]
    assert spent_on([], "2026-11-21", tasks) == (Decimal("1.00"), 0)


def test_max_per_day_counts_tasks_paid_for_but_not_collected(run: Run, project: Path) -> None:
    """An apply killed after its submits has spent the money: the day's cap counts it."""
    from wanplan.state.sqlite import SqliteState

    budget(project, max_per_day="1.00")
    state = SqliteState.open_writer(project / "state" / "wanplan.db")
    try:
        task = state.record_intent(
            provider="sim",
            model_id="sim/wan-2.5/t2v",
            content_key="f" * 64,
            address="elsewhere",
            profile="default",
            estimated_cost=Decimal("0.90"),
        )
        state.record_submitted(task, "sim-task-in-flight")
    finally:
        state.close()
    result = run(project, "apply", "-y", "--target", "hero-turn")
    assert result.exit_code == 4
    assert "$0.90 already spent today (UTC) + the estimated $0.50" in result.stderr


def test_unknown_spend_today_needs_allow_unknown_cost_under_a_daily_cap(
    run: Run, project: Path
) -> None:
    write_spec(
        project,
        "still.toml",
        'version = 1\n[assets.still]\nmodel = "wan-2.7"\nmode = "t2i"\nprompt = "A fern."\n'
        "seed = 1\n",
    )
    assert run(project, "apply", "-y", "--target", "still").exit_code == 0  # unknown price
    budget(project, max_per_day="5.00")
    refused = run(project, "apply", "-y", "--target", "poster")
    assert refused.exit_code == 4
    assert "1 task(s) of unknown price were paid for today" in refused.stderr
    allowed = run(project, "apply", "-y", "--target", "poster", "--allow-unknown-cost")
    assert allowed.exit_code == 0, allowed.output


def test_a_refusal_shows_the_plan_and_writes_nothing(run: Run, project: Path) -> None:
    no_terminal = run(project, "apply", "--max-cost", "10")
    assert no_terminal.exit_code == 1
    assert "no terminal to ask" in no_terminal.stderr
    assert "Plan: 6 to create" in no_terminal.stdout
    assert nothing_spent(project)
    budget(project, max_per_apply="1")
    result = run(project, "apply", "-y")
    assert "Plan: 6 to create" in result.stdout  # the refusal reads against the plan
    assert result.exit_code == 4 and nothing_spent(project)


def test_the_unknown_cost_warning_is_given_once(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "still.toml",
        'version = 1\n[assets.still]\nmodel = "wan-2.7"\nmode = "t2i"\nprompt = "A fern."\n'
        "seed = 1\n",
    )
    result = run(empty_project, "apply", "-y", "--max-cost", "1", "--allow-unknown-cost")
    assert result.exit_code == 0
    assert result.stderr.count("not counted against the budget") == 1
