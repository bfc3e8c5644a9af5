"""The comment APIs of GitHub and GitLab: a pull or merge request's comments page by page,
create one, update one, the token's own user, and the request that merged a commit.

Every HTTP or network failure leaves here as a CommentError whose one line names what to
check. The token travels in a header only, to the API's own origin only (a pagination link
elsewhere is not followed), and is cut out of every message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx

from wanplan.errors import WanplanError

MAX_PAGES = 100
"""10,000 comments at 100 a page: a link that loops back on itself ends here."""


class CommentError(WanplanError):
    """The comment could not be posted; the message says what to check."""


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    body: str


@dataclass(frozen=True)
class Credentials:
    token: str
    variable: str  # the environment variable it came from, for messages
    job_token: bool = False  # GitLab's CI_JOB_TOKEN: another header, no /user


class Forge(Protocol):
    request_noun: str  # "pull request" / "merge request"

    def comments(self, number: int) -> Iterator[Comment]: ...
    def create(self, number: int, body: str) -> Comment: ...
    def update(self, number: int, comment_id: int, body: str) -> Comment: ...
    def own_login(self) -> str | None: ...
    def merged_request(self, sha: str) -> int | None: ...


class _Api:
    name = ""
    request_noun = ""
    forbidden = ""  # what a 403 means on this forge
    author_field = ("", "")  # where a comment names its author: entry[a][b]

    def __init__(
        self, client: httpx.Client, api_url: str, project: str, credentials: Credentials
    ) -> None:
        self.client = client
        self.api_url = api_url.rstrip("/")
        self.project = project
        self.credentials = credentials

    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def call(
        self, method: str, url: str, what: str, tolerated: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The answer, when it succeeded or has the `tolerated` status."""
        try:
            response = self.client.request(method, url, headers=self.headers(), **kwargs)
        except httpx.HTTPError as exc:
            raise CommentError(
                f"could not reach {self.api_url} to {what}: {type(exc).__name__}"
            ) from None
        if not response.is_success and response.status_code != tolerated:
            raise CommentError(self._refusal(response, what))
        return response

    def json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            message = f"{self.name} answered {what} with something other than JSON"
            raise CommentError(message) from None

    def write(self, method: str, url: str, what: str, body: str) -> Comment:
        return self.comment(self.json(self.call(method, url, what, json={"body": body}), what))

    def comment(self, entry: Any) -> Comment:
        author, login = self.author_field
        try:
            return Comment(int(entry["id"]), str(entry[author][login]), str(entry["body"]))
        except (KeyError, TypeError, ValueError):
            raise CommentError(f"{self.name} answered with a comment wanplan cannot read") from None

    def same_origin(self, url: str) -> bool:
        mine, theirs = urlsplit(self.api_url), urlsplit(url)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)

    def _refusal(self, response: httpx.Response, what: str) -> str:
        code = response.status_code
        if code == 401:
            hint = f"the token in {self.credentials.variable} is missing, expired or revoked"
        elif code == 403:
            hint = self.forbidden
        elif code == 404:
            hint = (
                f"check the project ({self.project}) and the {self.request_noun} number, "
                "and that the token can see the project"
            )
        else:  # the API's own words, the only text that could echo the token
            hint = self._redact(_api_message(response))
        return f"{self.name} answered HTTP {code} to {what}: {hint}"

    def _redact(self, message: str) -> str:
        return message.replace(self.credentials.token, "***") if self.credentials.token else message

    def too_many(self, what: str) -> CommentError:
        return CommentError(
            f"{self.name} listed more than {MAX_PAGES} pages when asked to {what}; "
            "pass --pr/--mr explicitly or tidy the request's comments"
        )


def _api_message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    text = message if isinstance(message, str) else response.reason_phrase
    return text[:200] or "no reason given"


def text_of(answer: Any, key: str) -> str | None:
    value = answer.get(key) if isinstance(answer, dict) else None
    return value if isinstance(value, str) else None


class GitHub(_Api):
    name = "GitHub"
    request_noun = "pull request"
    author_field = ("user", "login")
    forbidden = (
        "the token may not do that; in GitHub Actions give the job `permissions: "
        "pull-requests: write` (pull requests from forks get a read-only token)"
    )

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.credentials.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def comments(self, number: int) -> Iterator[Comment]:
        what = f"list the comments of pull request #{number}"
        url: str | None = f"{self.api_url}/repos/{self.project}/issues/{number}/comments"
        params: dict[str, Any] | None = {"per_page": 100}
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self.call("GET", url, what, params=params)
            for entry in self.json(response, what):
                yield self.comment(entry)
            following = response.links.get("next", {}).get("url")
            url = following if following and self.same_origin(following) else None
            params = None  # the next link carries them
        if url is not None:
            raise self.too_many(what)

    def create(self, number: int, body: str) -> Comment:
        url = f"{self.api_url}/repos/{self.project}/issues/{number}/comments"
        return self.write("POST", url, f"comment on pull request #{number}", body)

    def update(self, number: int, comment_id: int, body: str) -> Comment:
        url = f"{self.api_url}/repos/{self.project}/issues/comments/{comment_id}"
        what = f"update comment {comment_id} on pull request #{number}"
        return self.write("PATCH", url, what, body)

    def own_login(self) -> str | None:
        what = "read the token's own user"
        response = self.call("GET", f"{self.api_url}/user", what, tolerated=403)
        if response.status_code == 403:
            return None  # GitHub Actions' own token cannot read /user; the caller falls back
        return text_of(self.json(response, what), "login")

    def merged_request(self, sha: str) -> int | None:
        what = f"find the pull request of commit {sha[:12]}"
        url = f"{self.api_url}/repos/{self.project}/commits/{sha}/pulls"
        for entry in self.json(self.call("GET", url, what), what):
            if isinstance(entry, dict) and entry.get("merged_at") and "number" in entry:
                return int(entry["number"])
        return None


class GitLab(_Api):
    name = "GitLab"
    request_noun = "merge request"
    author_field = ("author", "username")
    forbidden = (
        "the token may not do that; use a project access token with scope api and at least "
        "the Reporter role (a CI job token may not write notes)"
    )

    def headers(self) -> dict[str, str]:
        header = "JOB-TOKEN" if self.credentials.job_token else "PRIVATE-TOKEN"
        return {header: self.credentials.token}

    def _project_url(self) -> str:
        return f"{self.api_url}/projects/{quote(self.project, safe='')}"

    def comments(self, number: int) -> Iterator[Comment]:
        what = f"list the notes of merge request !{number}"
        url = f"{self._project_url()}/merge_requests/{number}/notes"
        page = "1"
        for _ in range(MAX_PAGES):
            params = {"per_page": 100, "page": page, "sort": "asc", "order_by": "created_at"}
            response = self.call("GET", url, what, params=params)
            for entry in self.json(response, what):
                if isinstance(entry, dict) and not entry.get("system"):
                    yield self.comment(entry)
            page = response.headers.get("X-Next-Page", "")
            if not page:
                return
        raise self.too_many(what)

    def create(self, number: int, body: str) -> Comment:
        url = f"{self._project_url()}/merge_requests/{number}/notes"
        return self.write("POST", url, f"add a note to merge request !{number}", body)

    def update(self, number: int, comment_id: int, body: str) -> Comment:
        url = f"{self._project_url()}/merge_requests/{number}/notes/{comment_id}"
        what = f"update note {comment_id} on merge request !{number}"
        return self.write("PUT", url, what, body)

    def own_login(self) -> str | None:
        if self.credentials.job_token:
            return None  # a job token cannot read /user; the caller falls back
        what = "read the token's own user"
        return text_of(self.json(self.call("GET", f"{self.api_url}/user", what), what), "username")

    def merged_request(self, sha: str) -> int | None:
        what = f"find the merge request of commit {sha[:12]}"
        url = f"{self._project_url()}/repository/commits/{sha}/merge_requests"
        for entry in self.json(self.call("GET", url, what), what):
            if isinstance(entry, dict) and entry.get("state") == "merged" and "iid" in entry:
                return int(entry["iid"])
        return None


FORGES: dict[str, type[GitHub] | type[GitLab]] = {"github": GitHub, "gitlab": GitLab}
