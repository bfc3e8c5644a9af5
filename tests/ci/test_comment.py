"""`publish` keeps ONE comment per request and marker, found by marker AND author, through the
GitHub and GitLab APIs (a fake of their comment endpoints), and never shows the token."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.ci.fake_forge import TOKEN, FakeForge
from wanplan import __version__
from wanplan.ci.comment import LOG_TAIL, CommentRequest, Posted, log_body, publish
from wanplan.ci.environment import Overrides
from wanplan.ci.forges import CommentError
from wanplan.render.markdown import MARKER

PLAN = f"{MARKER}\n### wanplan plan (profile `default`)\n\nPlan: 1 to create.\n"
GITHUB_ENV = {
    "GITHUB_TOKEN": TOKEN,
    "GITHUB_API_URL": "https://api.github.test",
    "GITHUB_REPOSITORY": "team/clips",
    "GITHUB_SERVER_URL": "https://github.test",
    "GITHUB_RUN_ID": "99",
    "GITHUB_SHA": "f" * 40,
}
GITLAB_ENV = {
    "GITLAB_CI": "true",
    "GITLAB_TOKEN": TOKEN,
    "CI_API_V4_URL": "https://gitlab.test/api/v4",
    "CI_PROJECT_ID": "group/clips",
    "CI_MERGE_REQUEST_IID": "7",
    "CI_COMMIT_SHA": "c" * 40,
    "CI_PIPELINE_URL": "https://gitlab.test/group/clips/-/pipelines/5",
}


def publish_to(fake: FakeForge, request: CommentRequest, env: dict[str, str]) -> Posted | None:
    return publish(request, env, transport=httpx.MockTransport(fake.handle))


def on_pull(number: int = 3, **given: str) -> CommentRequest:
    return CommentRequest(PLAN, where=Overrides(number=number), **given)  # type: ignore[arg-type]


def test_creates_the_comment_with_the_commit_and_the_run_when_there_is_none() -> None:
    fake = FakeForge()
    fake.add(3, "alice", "Looks good")
    posted = publish_to(fake, on_pull(), GITHUB_ENV)
    assert posted == Posted("created", fake.next_id, "pull request #3")
    (_, body) = fake.bodies(3)
    assert body.startswith(PLAN)
    assert body.endswith(
        f"<sub>wanplan {__version__} · commit {'f' * 40} · "
        "[CI run](https://github.test/team/clips/actions/runs/99)</sub>\n"
    )
    created = fake.requests[-1]
    assert created.method == "POST"
    assert created.url.path == "/repos/team/clips/issues/3/comments"
    assert created.headers["Authorization"] == f"Bearer {TOKEN}"


def test_updates_the_one_comment_with_the_marker_by_the_same_author() -> None:
    fake = FakeForge()
    fake.add(3, "alice", f"> {MARKER} quoted by a reviewer")
    other_bot = fake.add(3, "other-bot[bot]", f"{MARKER}\nanother tool's copy")
    ours = fake.add(3, "wanplan-bot", f"{MARKER}\nan older plan")
    posted = publish_to(fake, on_pull(), GITHUB_ENV)
    assert posted == Posted("updated", ours, "pull request #3")
    assert fake.bodies(3)[:2] == [
        f"> {MARKER} quoted by a reviewer",
        f"{MARKER}\nanother tool's copy",
    ]
    assert fake.bodies(3)[2].startswith(PLAN)
    assert fake.requests[-1].method == "PATCH"
    assert fake.requests[-1].url.path == f"/repos/team/clips/issues/comments/{ours}"
    assert other_bot != ours


def test_a_marker_comment_by_another_author_is_not_ours() -> None:
    fake = FakeForge()
    fake.add(3, "someone-else", f"{MARKER}\nnot ours")
    assert publish_to(fake, on_pull(), GITHUB_ENV).action == "created"  # type: ignore[union-attr]
    assert fake.bodies(3)[0] == f"{MARKER}\nnot ours"
    assert len(fake.bodies(3)) == 2


def test_finds_its_comment_on_a_later_page() -> None:
    fake = FakeForge(page_size=2)
    for index in range(5):
        fake.add(3, "alice", f"comment {index}")
    ours = fake.add(3, "wanplan-bot", f"{MARKER}\nan older plan")
    assert publish_to(fake, on_pull(), GITHUB_ENV) == Posted("updated", ours, "pull request #3")
    listed = [r for r in fake.requests if r.method == "GET" and r.url.path.endswith("/comments")]
    assert [r.url.params.get("page") for r in listed] == [None, "2", "3"]
    assert len(fake.bodies(3)) == 6


def test_a_next_page_on_another_host_is_not_followed() -> None:
    """The token goes to the API's own origin only, whatever a Link header says."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.path.endswith("/comments") and request.method == "GET":
            link = '<https://elsewhere.test/steal?page=2>; rel="next"'
            return httpx.Response(200, json=[], headers={"Link": link})
        return FakeForge().handle(request)

    publish(on_pull(author="wanplan-bot"), GITHUB_ENV, transport=httpx.MockTransport(handler))
    assert "elsewhere.test" not in seen and seen


def test_github_actions_token_comments_as_the_actions_bot() -> None:
    fake = FakeForge(actions_token=True)
    ours = fake.add(3, "github-actions[bot]", f"{MARKER}\nan older plan")
    env = {**GITHUB_ENV, "GITHUB_ACTIONS": "true"}
    assert publish_to(fake, on_pull(), env) == Posted("updated", ours, "pull request #3")
    with pytest.raises(CommentError, match="pass --author LOGIN"):
        publish_to(fake, on_pull(), GITHUB_ENV)  # not in Actions: no guess
    assert publish_to(fake, on_pull(author="GitHub-Actions[bot]"), GITHUB_ENV).action == "updated"  # type: ignore[union-attr]


def test_the_pull_request_and_its_head_commit_come_from_the_event_file(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    pull = {"number": 12, "head": {"sha": "a" * 40}}
    event.write_text(json.dumps({"pull_request": pull}), "utf-8")
    fake = FakeForge()
    request = CommentRequest(PLAN)
    posted = publish_to(fake, request, {**GITHUB_ENV, "GITHUB_EVENT_PATH": str(event)})
    assert posted == Posted("created", fake.next_id, "pull request #12")
    assert f"commit {'a' * 40}" in fake.bodies(12)[0]  # the head, not GitHub's merge commit
    with pytest.raises(CommentError, match="no pull request: pass --pr N"):
        publish_to(fake, request, GITHUB_ENV)


def test_the_apply_result_goes_to_the_merged_pull_request_beside_the_plan() -> None:
    fake = FakeForge()
    plan = fake.add(3, "wanplan-bot", PLAN)
    fake.merged["d" * 40] = 3
    result = CommentRequest(
        "done: 1 created\n",
        title="wanplan apply: success",
        marker="wanplan-apply",
        merged_commit="d" * 40,
    )
    assert publish_to(fake, result, GITHUB_ENV) == Posted("created", plan + 1, "pull request #3")
    assert publish_to(fake, result, GITHUB_ENV) == Posted("updated", plan + 1, "pull request #3")
    plan_body, result_body = fake.bodies(3)
    assert plan_body == PLAN  # the reviewed plan stays
    assert result_body.startswith("<!-- wanplan-apply -->\n### wanplan apply: success\n")
    assert f"commit {'d' * 40}" in result_body
    assert publish_to(fake, CommentRequest("x", merged_commit="e" * 40), GITHUB_ENV) is None


def test_gitlab_notes_with_the_ci_variables_and_pages() -> None:
    fake = FakeForge(page_size=1)
    fake.add(7, "alice", "first")
    ours = fake.add(7, "wanplan-bot", f"{MARKER}\nolder")
    assert publish_to(fake, CommentRequest(PLAN), GITLAB_ENV) == Posted(
        "updated", ours, "merge request !7"
    )
    put = fake.requests[-1]
    assert put.method == "PUT"
    assert (
        put.url.raw_path.decode() == f"/api/v4/projects/group%2Fclips/merge_requests/7/notes/{ours}"
    )
    assert put.headers["PRIVATE-TOKEN"] == TOKEN and "Authorization" not in put.headers
    assert "[CI run](https://gitlab.test/group/clips/-/pipelines/5)" in fake.bodies(7)[1]
    job = {**GITLAB_ENV, "CI_JOB_TOKEN": TOKEN, "GITLAB_USER_LOGIN": "alice"}
    del job["GITLAB_TOKEN"]
    assert publish_to(fake, CommentRequest(PLAN), job).action == "created"  # type: ignore[union-attr]
    assert fake.requests[-1].headers["JOB-TOKEN"] == TOKEN


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "the token in GITHUB_TOKEN is missing, expired or revoked"),
        (403, "pull-requests: write"),
        (404, "check the project (team/clips) and the pull request number"),
        (500, "refused ***"),
    ],
)
def test_refusals_say_what_to_check_and_never_show_the_token(status: int, hint: str) -> None:
    fake = FakeForge(status=status)
    with pytest.raises(CommentError) as raised:
        publish_to(fake, on_pull(author="wanplan-bot"), GITHUB_ENV)
    message = str(raised.value)
    assert message.startswith(f"GitHub answered HTTP {status} to list the comments of pull")
    assert hint in message and TOKEN not in message and "\n" not in message


def test_network_failures_and_missing_tokens_are_one_line_without_the_token() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect with {request.headers['Authorization']}")

    with pytest.raises(CommentError) as raised:
        publish(on_pull(author="b"), GITHUB_ENV, transport=httpx.MockTransport(unreachable))
    assert str(raised.value) == (
        "could not reach https://api.github.test to list the comments of pull request #3: "
        "ConnectError"
    )
    with pytest.raises(CommentError, match="no token: set WANPLAN_NOTE_TOKEN"):
        publish(
            CommentRequest(PLAN, where=Overrides(token_variable="WANPLAN_NOTE_TOKEN")), GITLAB_ENV
        )
    with pytest.raises(CommentError, match="use https"):
        publish(on_pull(), {**GITHUB_ENV, "GITHUB_API_URL": "http://api.github.test"})


def test_a_log_is_posted_as_its_end_in_a_fence_it_cannot_close() -> None:
    log = "start\n" + "x" * LOG_TAIL + "\n```\nfake end of block ````\n"
    body = log_body("wanplan plan failed (exit 1)", log)
    assert body.startswith(
        f"### wanplan plan failed (exit 1)\n\n(the last {LOG_TAIL:,} characters)\n\n`````text\n"
    )
    assert body.endswith("fake end of block ````\n`````\n") and "start" not in body
    assert log_body("t", "short").endswith("```text\nshort\n```\n")
