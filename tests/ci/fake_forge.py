"""A fake of GitHub's and GitLab's comment endpoints, kept in memory: one handler that
httpx.MockTransport calls directly, and that `serving` puts on loopback for a workflow's step
run in bash. It checks the token the way the forges do and records every request."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

TOKEN = "tok-5ecret-never-shown"


@dataclass
class FakeForge:
    login: str = "wanplan-bot"  # who the token is (GET /user)
    actions_token: bool = False  # GitHub Actions' own token: /user is forbidden
    page_size: int = 100  # the most a page holds, whatever per_page asks
    status: int | None = None  # answer every request with this status instead
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    merged: dict[str, int] = field(default_factory=dict)  # commit → request that merged it
    requests: list[httpx.Request] = field(default_factory=list)
    next_id: int = 1000

    def add(self, number: int, author: str, body: str) -> int:
        self.next_id += 1
        entry = {"id": self.next_id, "body": body, "system": False}
        entry.update(user={"login": author}, author={"username": author})
        self.comments.setdefault(number, []).append(entry)
        return self.next_id

    def bodies(self, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get(number, [])]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status is not None:
            return httpx.Response(self.status, json={"message": f"refused {TOKEN}"})
        path = request.url.path
        headers = request.headers
        given = (
            headers.get("Authorization") or headers.get("PRIVATE-TOKEN") or headers.get("JOB-TOKEN")
        )
        if given not in (f"Bearer {TOKEN}", TOKEN):
            return httpx.Response(401, json={"message": "Bad credentials"})
        if path.endswith("/user"):
            if self.actions_token:
                return httpx.Response(403, json={"message": "Resource not accessible"})
            return httpx.Response(200, json={"login": self.login, "username": self.login})
        if match := re.search(
            r"/(?:commits|repository/commits)/(\w+)/(pulls|merge_requests)$", path
        ):
            number = self.merged.get(match[1])
            merged = [{"number": number, "iid": number, "merged_at": "x", "state": "merged"}]
            return httpx.Response(200, json=merged if number else [])
        if match := re.search(r"/(?:issues|merge_requests)/(\d+)/(?:comments|notes)$", path):
            return self._collection(request, int(match[1]))
        if match := re.search(r"/(?:issues/comments|notes)/(\d+)$", path):
            return self._edit(request, int(match[1]))
        return httpx.Response(404, json={"message": "Not Found"})

    def _collection(self, request: httpx.Request, number: int) -> httpx.Response:
        if request.method == "POST":
            author = "github-actions[bot]" if self.actions_token else self.login
            new = self.add(number, author, json.loads(request.content)["body"])
            return httpx.Response(201, json=self._find(new))
        page = int(request.url.params.get("page", "1"))
        size = min(int(request.url.params.get("per_page", "30")), self.page_size)
        everything = self.comments.get(number, [])
        shown = everything[(page - 1) * size : page * size]
        headers = {}
        if page * size < len(everything):
            following = request.url.copy_merge_params({"page": str(page + 1)})
            headers = {"Link": f'<{following}>; rel="next"', "X-Next-Page": str(page + 1)}
        return httpx.Response(200, json=shown, headers=headers)

    def _edit(self, request: httpx.Request, comment_id: int) -> httpx.Response:
        comment = self._find(comment_id)
        comment["body"] = json.loads(request.content)["body"]
        return httpx.Response(200, json=comment)

    def _find(self, comment_id: int) -> dict[str, Any]:
        return next(c for cs in self.comments.values() for c in cs if c["id"] == comment_id)


@contextmanager
def serving(fake: FakeForge) -> Iterator[str]:
    """The fake on a loopback port; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = httpx.Request(
                self.command,
                f"http://{self.headers['Host']}{self.path}",
                headers=dict(self.headers),
                content=self.rfile.read(length),
            )
            response = fake.handle(request)
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = do_PATCH = do_PUT = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
