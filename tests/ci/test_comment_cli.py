"""`wanplan comment` on the command line: the body from a file or standard input, the target
from the CI's variables, one line of output, exit 1 with one line (never the token) when the
forge refuses. The forge is the fake on loopback: the command builds its own client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ci.fake_forge import TOKEN, FakeForge, serving
from tests.conftest import Run
from wanplan.render.markdown import MARKER


@pytest.fixture
def forge(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeForge]:
    fake = FakeForge()
    with serving(fake) as url:
        for name in ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_EVENT_PATH", "GITHUB_SHA"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("GITHUB_API_URL", url)
        monkeypatch.setenv("GITHUB_REPOSITORY", "team/clips")
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        yield fake


def test_posts_standard_input_then_updates_it(run: Run, tmp_path: Path, forge: FakeForge) -> None:
    created = run(tmp_path, "comment", "--pr", "4", "--sha", "abc1234", input=f"{MARKER}\nv1\n")
    assert created.exit_code == 0, created.output
    assert created.output == f"created comment {forge.next_id} on pull request #4\n"
    (tmp_path / "plan.md").write_text("v2, without the marker\n", "utf-8")
    updated = run(tmp_path, "comment", "--pr", "4", str(tmp_path / "plan.md"))
    assert updated.output == f"updated comment {forge.next_id} on pull request #4\n"
    (body,) = forge.bodies(4)
    assert body.startswith(f"{MARKER}\nv2, without the marker\n\n<sub>wanplan ")
    assert TOKEN not in created.output + updated.output


def test_a_refusal_is_one_line_exit_1_without_the_token(
    run: Run, tmp_path: Path, forge: FakeForge
) -> None:
    forge.status = 403
    refused = run(tmp_path, "comment", "--pr", "4", "--author", "me", input="plan\n")
    assert refused.exit_code == 1
    assert refused.output.count("\n") == 1 and TOKEN not in refused.output
    assert refused.output.startswith("error: GitHub answered HTTP 403 to list the comments")
    assert "pull-requests: write" in refused.output


def test_a_commit_no_request_merged_posts_nothing_and_succeeds(
    run: Run, tmp_path: Path, forge: FakeForge
) -> None:
    done = run(tmp_path, "comment", "--merged-commit", "abc", "--title", "t", input="log\n")
    assert done.exit_code == 0
    assert done.output == "No pull or merge request merged abc; nothing was posted.\n"
    assert forge.comments == {}


def test_a_missing_file_is_one_line_not_a_crash(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wanplan.cli.main import cli

    result = CliRunner().invoke(cli, ["comment", str(tmp_path / "nope.md")])
    assert result.exit_code == 1
    assert "nope.md: No such file or directory" in result.output
    assert "crashed" not in result.output
