"""A pull request played end to end: the base applied, a branch that edits two assets and adds
one, its markdown plan against the base branch's, the cost gate, a saved plan applied and an
older one refused as stale."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Run, write_spec
from wanplan.render.markdown import GITHUB_COMMENT_LIMIT, MARKER
from wanplan.state.sqlite import SqliteState

NEW_ASSET = """version = 1
[assets.teaser-end]
model = "wan-2.5"
mode = "t2v"
prompt = "The forest fades to white."
resolution = "720p"
duration = 5
seed = 3
"""


def serial(root: Path) -> int:
    reader = SqliteState.open_reader(root / "state" / "wanplan.db")
    try:
        return reader.serial
    finally:
        reader.close()


def edit_branch(root: Path) -> None:
    launch = root / "specs" / "launch.toml"
    text = launch.read_text()
    text = text.replace("seed = 7\n", "seed = 8\n")  # hero-turn: i2v 720p 5 s
    text = text.replace("at dawn.", "at dusk.")  # forest-dolly: t2v 720p 5 s
    launch.write_text(text)
    write_spec(root, "ending.toml", NEW_ASSET)


def test_a_pull_request_end_to_end(run: Run, project: Path, tmp_path: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    base = tmp_path / "base.json"
    base.write_text(run(project, "plan", "--format", "json").stdout)
    applied = serial(project)

    edit_branch(project)
    older = tmp_path / "older.json"
    assert run(project, "plan", "--out", str(older)).exit_code == 0

    review = run(project, "plan", "--compare-to", str(base), "--format", "markdown")
    assert review.exit_code == 0, review.output
    comment = review.stdout
    assert comment.startswith(MARKER)
    assert "1 added, 2 changed, 0 removed" in comment
    assert "This change: 1 to create, 2 to replace, 0 to delete. Estimated cost: $1.50" in comment
    rows = [line for line in comment.splitlines() if line.startswith("| `")]
    assert sorted(r.split("`")[3] for r in rows) == ["forest-dolly", "hero-turn", "teaser-end"]
    assert all(r.endswith("| $0.50 |") for r in rows)
    # The catalog cost $3.03 to build from scratch; it gains one $0.50 asset.
    assert "| Full rebuild of the catalog | $3.03 → $3.53 (+$0.50) |" in comment

    gate = ["plan", "--compare-to", str(base), "--format", "markdown"]
    refused = run(project, *gate, "--fail-on-cost-increase", "1.00")
    assert refused.exit_code == 4
    assert refused.stdout == comment  # the comment is still printed for the reviewer
    assert "cost gate" in refused.stderr and "$1.50" in refused.stderr and "$1.00" in refused.stderr
    assert run(project, *gate, "--fail-on-cost-increase", "1.50").exit_code == 0

    over = run(project, "apply", "-y", "--max-cost", "1")
    assert over.exit_code == 4
    assert "$1.50" in over.stderr and "--max-cost $1.00" in over.stderr
    assert serial(project) == applied

    saved = tmp_path / "plan.json"
    assert run(project, "plan", "--out", str(saved)).exit_code == 0
    applied_plan = run(project, "apply", str(saved))  # no -y and no terminal: no prompt needed
    assert applied_plan.exit_code == 0, applied_plan.output
    assert "1 created, 2 replaced" in applied_plan.stdout
    assert (project / "outputs" / "teaser-end.gif").is_file()
    assert serial(project) == applied + 3

    stale = run(project, "apply", str(older))
    assert stale.exit_code == 1
    assert "stale" in stale.stderr and f"serial {applied} then, {applied + 3} now" in stale.stderr
    assert serial(project) == applied + 3
    assert run(project, "plan", "--detailed-exitcode").exit_code == 0


def test_a_change_already_on_the_base_branch_is_not_charged_to_the_pull_request(
    run: Run, project: Path, tmp_path: Path
) -> None:
    """The base branch has an unapplied change; the pull request adds one asset: the comment
    charges the pull request for its own asset only and shows the other apart."""
    assert run(project, "apply", "-y").exit_code == 0
    write_spec(project, "ending.toml", NEW_ASSET)  # merged to main, not applied yet
    base = tmp_path / "base.json"
    base.write_text(run(project, "plan", "--format", "json").stdout)
    extra = NEW_ASSET.replace("teaser-end", "teaser-extra").replace("seed = 3", "seed = 4")
    write_spec(project, "extra.toml", extra)

    review = run(project, "plan", "--compare-to", str(base), "--format", "json")
    document = json.loads(review.stdout)
    assert document["compare"]["added"] == ["teaser-extra"]
    assert document["compare"]["cost"] == {"estimated_cost": "0.50", "unknown_cost": 0}
    assert document["compare"]["other_changes"] == 1
    assert document["summary"]["estimated_cost"] == "1.00"
    comment = run(project, "plan", "--compare-to", str(base), "--format", "markdown").stdout
    assert "from the base branch (not applied yet): 1 changes | $0.50 |" in comment
    assert "`teaser-end`" not in comment


def test_compare_to_refuses_what_is_not_a_base_plan(
    run: Run, project: Path, tmp_path: Path
) -> None:
    missing = run(project, "plan", "--compare-to", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1 and "no such file" in missing.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    bad = run(project, "plan", "--compare-to", str(garbage))
    assert bad.exit_code == 1 and "not a JSON plan" in bad.stderr
    garbage.write_text("[" * 100_000)
    deep = run(project, "plan", "--compare-to", str(garbage))
    assert deep.exit_code == 1 and "not a JSON plan" in deep.stderr
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format_version": "1", "changes": []}))
    old = run(project, "plan", "--compare-to", str(other))
    assert old.exit_code == 1 and "no list of declared assets" in old.stderr
    document = json.loads(run(project, "plan", "--format", "json").stdout)
    results = [missing, bad, old]
    for amount in ("NaN", "sNaN", "-Infinity", "1e400", "-1", "ten"):
        document["declared"][0]["rebuild_cost"] = amount
        hostile = tmp_path / "hostile.json"
        hostile.write_text(json.dumps(document))
        results.append(run(project, "plan", "--compare-to", str(hostile), "--format", "markdown"))
        assert results[-1].exit_code == 1 and "is not an amount in USD" in results[-1].stderr
    for result in results:
        assert "Traceback" not in result.output and len(result.stderr.splitlines()) == 1


def test_a_huge_plan_stays_under_githubs_comment_limit(run: Run, empty_project: Path) -> None:
    prompt = "A very long prompt about a forest " * 12
    assets = "\n".join(
        f'[assets.shot-{i:04d}]\nprompt = "{prompt} {i}"\nseed = {i}\n' for i in range(3000)
    )
    write_spec(
        empty_project,
        "many.toml",
        f'version = 1\n[defaults]\nmodel = "wan-2.5"\nmode = "t2v"\nduration = 5\n{assets}',
    )
    result = run(empty_project, "plan", "--format", "markdown")
    assert result.exit_code == 0
    comment = result.stdout
    assert len(comment) <= GITHUB_COMMENT_LIMIT
    assert comment.startswith(MARKER)
    assert "`shot-0000`" in comment and "`shot-2999`" in comment
    shown = sum(1 for line in comment.splitlines() if line.startswith("| `+`"))
    elided = next(line for line in comment.splitlines() if "more changes not shown" in line)
    hidden = int(elided.split("*")[1].split()[0])
    assert shown + hidden == 3000 and hidden > 0
    # The total row counts every change, shown or not.
    document = json.loads(run(empty_project, "plan", "--format", "json").stdout)
    total = document["summary"]["estimated_cost"]
    assert f"| | **total** | | | **${total}** |" in comment


def test_a_base_planned_with_a_target_is_compared_only_where_it_looked(
    run: Run, project: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base.json"
    base.write_text(run(project, "plan", "--target", "poster", "--format", "json").stdout)
    assert json.loads(base.read_text())["scope"] == ["poster"]
    compared = run(project, "plan", "--compare-to", str(base), "--format", "json")
    document = json.loads(compared.stdout)
    assert document["compare"]["added"] == [] and document["compare"]["changed"] == []
    assert document["compare"]["cost"] == {"estimated_cost": "0.00", "unknown_cost": 0}
