"""ONE comment per pull or merge request and marker, created once and then updated in place.

A comment is ours when it carries the hidden marker AND was written by our author (the token's
own user): a reviewer who quotes the plan, or another bot that copies it, keeps their comment.
The body gets the marker when it lacks it, and a footer naming the commit and the CI run, so a
reviewer can tell an old plan from the newest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import httpx

from wanplan import __version__
from wanplan.ci.environment import Overrides, Target, resolve_credentials, resolve_target
from wanplan.ci.forges import FORGES, Comment, CommentError, Forge
from wanplan.render.markdown import MARKER_NAME

MARKER_PATTERN = re.compile(r"[a-z0-9][a-z0-9_:-]*")
LOG_TAIL = 60_000
"""Characters of a log's end that are posted: under GitHub's limit with the title and footer."""
BODY_LIMITS = {"github": 65_536, "gitlab": 1_000_000}


@dataclass(frozen=True)
class CommentRequest:
    text: str  # Markdown; or, with a title, a log shown under it
    title: str | None = None
    marker: str = MARKER_NAME  # the Markdown plan's own marker
    author: str | None = None  # whose comment is ours; default: the token's own user
    merged_commit: str | None = None  # comment on the request that merged this commit
    where: Overrides = field(default_factory=Overrides)


@dataclass(frozen=True)
class Posted:
    action: str  # "created" or "updated"
    comment_id: int
    request: str  # "pull request #3", "merge request !3"


def marker(name: str) -> str:
    if not MARKER_PATTERN.fullmatch(name):
        raise CommentError(f"--marker {name!r}: use lowercase letters, digits, '-', '_', ':'")
    return f"<!-- {name} -->"


def log_body(title: str, log: str) -> str:
    """The title as a heading, then the log's end in a code block no line of it can close."""
    cut = len(log) > LOG_TAIL
    tail = log[-LOG_TAIL:].rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", tail)), default=0)
    fence = "`" * max(3, longest + 1)
    note = f"(the last {LOG_TAIL:,} characters)\n\n" if cut else ""
    return f"### {title}\n\n{note}{fence}text\n{tail}\n{fence}\n"


def footer(target: Target) -> str:
    parts = [f"wanplan {__version__}"]
    if target.sha:
        parts.append(f"commit {target.sha}")  # the forges link a bare commit id
    if target.run_url:
        parts.append(f"[CI run]({target.run_url})")
    return "<sub>" + " · ".join(parts) + "</sub>\n"


def compose(request: CommentRequest, target: Target) -> str:
    hidden = marker(request.marker)
    body = log_body(request.title, request.text) if request.title else request.text
    if hidden not in body:
        body = f"{hidden}\n{body}"
    body = f"{body.rstrip()}\n\n{footer(target)}"
    limit = BODY_LIMITS[target.forge]
    if len(body) > limit:
        raise CommentError(
            f"the comment is {len(body):,} characters; {target.forge} takes at most {limit:,} "
            "(post a log with --title: its end is kept)"
        )
    return body


def find_ours(comments: Iterable[Comment], hidden_marker: str, author: str) -> Comment | None:
    """The first comment with the marker written by `author` (logins ignore case)."""
    for comment in comments:
        if hidden_marker in comment.body and comment.author.casefold() == author.casefold():
            return comment
    return None


def post(forge: Forge, number: int, body: str, hidden_marker: str, author: str) -> Posted:
    where = f"{forge.request_noun} {'!' if forge.request_noun == 'merge request' else '#'}{number}"
    ours = find_ours(forge.comments(number), hidden_marker, author)
    if ours is None:
        return Posted("created", forge.create(number, body).id, where)
    return Posted("updated", forge.update(number, ours.id, body).id, where)


def publish(
    request: CommentRequest,
    env: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
) -> Posted | None:
    """Creates or updates the comment; None when `merged_commit` was merged by no request."""
    target = resolve_target(env, request.where)
    if request.merged_commit:
        target = replace(target, sha=request.merged_commit)
    credentials = resolve_credentials(env, target.forge, request.where.token_variable)
    body = compose(request, target)
    headers = {"User-Agent": f"wanplan/{__version__}"}
    with httpx.Client(transport=transport, headers=headers, timeout=30) as client:
        forge = FORGES[target.forge](client, target.api_url, target.project, credentials)
        number = _request_number(forge, target, request.merged_commit)
        if number is None:
            return None
        author = request.author or forge.own_login() or target.fallback_author
        if not author:
            raise CommentError(
                "cannot tell which comment is wanplan's: pass --author LOGIN, the token's user"
            )
        return post(forge, number, body, marker(request.marker), author)


def _request_number(forge: Forge, target: Target, merged_commit: str | None) -> int | None:
    if merged_commit:
        return forge.merged_request(merged_commit)
    if target.number is None:
        raise CommentError(
            f"no {forge.request_noun}: pass --pr N (the CI gives it on pull request and merge "
            "request pipelines) or --merged-commit SHA"
        )
    return target.number
