from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import click

from wanplan.cli.output import echo

FORGES = ("github", "gitlab")  # ci.forges.FORGES, imported only when used


@click.command()
@click.argument(
    "file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default="-",
)
@click.option(
    "--title",
    help="Post FILE as a log under this heading (its end, in a code block), not as Markdown.",
)
@click.option(
    "--marker",
    help="The hidden <!-- NAME --> that finds the comment again; another NAME keeps another "
    "comment (the apply result beside the plan). Default: wanplan, the plan's own.",
)
@click.option(
    "--pr",
    "--mr",
    "number",
    type=click.IntRange(min=1),
    help="The pull (GitHub) or merge (GitLab) request. Default: the CI's "
    "(GITHUB_EVENT_PATH, CI_MERGE_REQUEST_IID).",
)
@click.option(
    "--merged-commit",
    metavar="SHA",
    help="Comment on the request that merged SHA instead; nothing is posted when none did.",
)
@click.option(
    "--repo",
    metavar="OWNER/NAME|ID",
    help="GitHub: owner/name (default GITHUB_REPOSITORY). GitLab: the project's id or path "
    "(default CI_PROJECT_ID).",
)
@click.option(
    "--forge",
    type=click.Choice(FORGES),
    help="Default: gitlab under GitLab CI (GITLAB_CI=true), github otherwise.",
)
@click.option(
    "--api-url",
    metavar="URL",
    help="Default: GITHUB_API_URL or https://api.github.com; CI_API_V4_URL or "
    "https://gitlab.com/api/v4.",
)
@click.option(
    "--author",
    metavar="LOGIN",
    help="Whose comment to update. Default: the token's own user; github-actions[bot] with "
    "GitHub Actions' token; GITLAB_USER_LOGIN with CI_JOB_TOKEN.",
)
@click.option(
    "--token-env",
    metavar="NAME",
    help="The environment variable that holds the token. Default: GITHUB_TOKEN; GITLAB_TOKEN, "
    "else CI_JOB_TOKEN.",
)
@click.option(
    "--sha",
    help="The commit the footer names. Default: the pull request's head, GITHUB_SHA or "
    "CI_COMMIT_SHA.",
)
@click.option(
    "--run-url",
    metavar="URL",
    help="The CI run the footer links. Default: GitHub's run from GITHUB_SERVER_URL, "
    "GITHUB_REPOSITORY and GITHUB_RUN_ID; CI_PIPELINE_URL.",
)
def comment(
    file: Path,
    title: str | None,
    marker: str | None,
    number: int | None,
    merged_commit: str | None,
    repo: str | None,
    forge: str | None,
    api_url: str | None,
    author: str | None,
    token_env: str | None,
    sha: str | None,
    run_url: str | None,
) -> None:
    """Create or update ONE comment on a pull request (GitHub) or merge request (GitLab).

    Reads Markdown from FILE (`-`, the default: standard input), such as `wanplan plan
    --format markdown`, and posts it through the forge's API with the token from an
    environment variable (never an option: arguments are visible to other processes). The
    comment found again is the one with the hidden marker written by the same author; a
    footer names the commit and links the CI run. Every default comes from the CI's own
    variables, so in a pull-request job no option is needed.

    Exit codes: 0 posted, or no request merged --merged-commit (nothing posted); 1 nothing
    posted: the line says why (401: the token; 403: its permissions; 404: --repo, --pr).

    \b
    Examples:
      wanplan plan --format markdown > plan.md && wanplan comment plan.md
      wanplan comment apply.log --title "wanplan apply: failure" \\
        --marker wanplan-apply --merged-commit "$GITHUB_SHA"
      GITLAB_TOKEN=... wanplan comment --forge gitlab --repo 42 --mr 7 plan.md
    """
    from wanplan.ci.comment import CommentRequest, publish
    from wanplan.ci.environment import Overrides

    where = Overrides(
        forge=forge,
        api_url=api_url,
        project=repo,
        number=number,
        sha=sha,
        run_url=run_url,
        token_variable=token_env,
    )
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:  # read when it runs: a CI step may write it after parsing
        raise click.BadParameter(f"{file}: {exc.strerror or exc}", param_hint="FILE") from None
    text = raw.decode("utf-8", "replace")  # a log may hold anything; the API takes UTF-8
    request = CommentRequest(text, title, author=author, merged_commit=merged_commit, where=where)
    if marker is not None:
        request = dataclasses.replace(request, marker=marker)
    posted = publish(request, os.environ)
    if posted is None:
        echo(f"No pull or merge request merged {merged_commit}; nothing was posted.")
    else:
        echo(f"{posted.action} comment {posted.comment_id} on {posted.request}")
