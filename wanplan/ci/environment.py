"""Where a comment goes, from the command line first and the CI job's variables second.

GitHub Actions: GITHUB_API_URL, GITHUB_REPOSITORY, the event file at GITHUB_EVENT_PATH (the
pull request's number and head commit), GITHUB_SHA, GITHUB_SERVER_URL and GITHUB_RUN_ID (the
run's link), GITHUB_ACTIONS. GitLab CI: GITLAB_CI, CI_API_V4_URL, CI_PROJECT_ID,
CI_MERGE_REQUEST_IID, CI_COMMIT_SHA, CI_PIPELINE_URL, GITLAB_USER_LOGIN.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wanplan.ci.forges import CommentError, Credentials, text_of

ACTIONS_BOT = "github-actions[bot]"
"""Who writes with GitHub Actions' own token, which cannot ask GitHub who it is."""
GITHUB_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
DEFAULT_API_URLS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}


@dataclass(frozen=True)
class Overrides:
    """What the command line said; None: take it from the environment."""

    forge: str | None = None
    api_url: str | None = None
    project: str | None = None
    number: int | None = None
    sha: str | None = None
    run_url: str | None = None
    token_variable: str | None = None


@dataclass(frozen=True)
class Target:
    forge: str  # a key of forges.FORGES
    api_url: str
    project: str  # GitHub: owner/name; GitLab: the project's id or path
    number: int | None  # the pull or merge request, when known
    sha: str | None
    run_url: str | None
    fallback_author: str | None  # whose comments are ours when the token cannot say


def resolve_target(env: Mapping[str, str], given: Overrides) -> Target:
    forge = given.forge or ("gitlab" if env.get("GITLAB_CI") == "true" else "github")
    found = _gitlab(env) if forge == "gitlab" else _github(env)
    api_url = given.api_url or found.get("api_url") or DEFAULT_API_URLS[forge]
    _check_api_url(api_url)
    project = given.project or found.get("project")
    if not project:
        raise CommentError(
            "no project: pass --repo OWNER/NAME (GitHub; Actions sets GITHUB_REPOSITORY) or "
            "--repo ID (GitLab; CI sets CI_PROJECT_ID)"
        )
    if forge == "github" and not GITHUB_REPO.fullmatch(project):
        raise CommentError(f"--repo {project!r} is not OWNER/NAME")
    return Target(
        forge=forge,
        api_url=api_url,
        project=project,
        number=given.number or found.get("number"),
        sha=given.sha or found.get("sha"),
        run_url=given.run_url or found.get("run_url"),
        fallback_author=found.get("fallback_author"),
    )


def resolve_credentials(env: Mapping[str, str], forge: str, variable: str | None) -> Credentials:
    """The token from `variable`, else the forge's usual one. Never from the command line:
    a process's arguments are visible to every user of the machine."""
    if variable is None:
        if forge == "gitlab" and not env.get("GITLAB_TOKEN") and env.get("CI_JOB_TOKEN"):
            return Credentials(env["CI_JOB_TOKEN"], "CI_JOB_TOKEN", job_token=True)
        variable = "GITLAB_TOKEN" if forge == "gitlab" else "GITHUB_TOKEN"
    token = env.get(variable, "").strip()
    if not token:
        raise CommentError(f"no token: set {variable} to a token that may comment")
    if not (token.isascii() and token.isprintable()):
        raise CommentError(f"{variable} does not hold a token (it has characters no token has)")
    return Credentials(token, variable)


def _github(env: Mapping[str, str]) -> dict[str, Any]:
    pull = _event(env).get("pull_request")
    pull = pull if isinstance(pull, dict) else {}
    repository, server, run = (
        env.get(name) for name in ("GITHUB_REPOSITORY", "GITHUB_SERVER_URL", "GITHUB_RUN_ID")
    )
    run_url = f"{server}/{repository}/actions/runs/{run}" if server and repository and run else None
    return {
        "api_url": env.get("GITHUB_API_URL"),
        "project": repository,
        "number": pull.get("number") if isinstance(pull.get("number"), int) else None,
        # On a pull request GITHUB_SHA is a merge GitHub made; the reviewer knows the head.
        "sha": text_of(pull.get("head"), "sha") or env.get("GITHUB_SHA"),
        "run_url": run_url,
        "fallback_author": ACTIONS_BOT if env.get("GITHUB_ACTIONS") == "true" else None,
    }


def _event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        event = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        raise CommentError(f"GITHUB_EVENT_PATH {path} is not a readable event file") from None
    return event if isinstance(event, dict) else {}


def _gitlab(env: Mapping[str, str]) -> dict[str, Any]:
    iid = env.get("CI_MERGE_REQUEST_IID", "")
    return {
        "api_url": env.get("CI_API_V4_URL"),
        "project": env.get("CI_PROJECT_ID"),
        "number": int(iid) if iid.isdigit() else None,
        "sha": env.get("CI_COMMIT_SHA"),
        "run_url": env.get("CI_PIPELINE_URL"),
        # Used only with CI_JOB_TOKEN, which cannot read /user and acts as this user.
        "fallback_author": env.get("GITLAB_USER_LOGIN"),
    }


def _check_api_url(url: str) -> None:
    """The token goes there: https only, plain http on loopback only (a test's fake)."""
    from wanplan.providers.wire import is_loopback

    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise CommentError(f"API URL {url!r} is not a URL") from None
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and is_loopback(host or ""):
        return
    raise CommentError(f"API URL {url!r}: use https (plain http only on loopback)")
