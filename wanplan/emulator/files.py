"""Serving files: result media at `/files/results/<task>.<ext>` and uploads at
`/files/uploads/...`, with no API key, as a CDN or a bucket would.

Result URLs may carry an expiry (`Expires`, epoch ms, and a `Signature` over path and expiry):
after it the file answers 403 in the storage's XML shape, and polling the task again gives a
fresh URL. Downloads can be slow (a pause between chunks) or truncated (Content-Length says
the whole file, half of it is sent); each one is recorded for tests.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape

from wanplan.emulator.knobs import Knobs
from wanplan.emulator.results import ResultFiles
from wanplan.emulator.tasks import Phase, Task
from wanplan.emulator.uploads import UPLOADS_PATH, UploadStore
from wanplan.emulator.wire import Request, Response

RESULTS_PATH = "/files/results/"


@dataclass(frozen=True, slots=True)
class Download:
    task_id: str
    sha256: str
    """Of the whole file (what a complete download must hash to)."""
    size: int
    sent: int
    """Bytes actually sent: fewer than `size` when truncated."""

    @property
    def complete(self) -> bool:
        return self.sent == self.size


def storage_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>\n"
    )
    return Response(status, {"Content-Type": "application/xml"}, body.encode())


class ResultLinks:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def url(self, task: Task, extension: str, now: float, ttl: float | None) -> str:
        path = f"{RESULTS_PATH}{task.id}.{extension}"
        if ttl is None:
            return f"{task.origin}{path}"
        expires = int((now + ttl) * 1000)
        return f"{task.origin}{path}?Expires={expires}&Signature={self._sign(path, expires)}"

    def refusal(self, request: Request, now: float) -> Response | None:
        """Why a signed URL may not be served (tampered, expired), or None when it may."""
        expires = request.query.get("Expires")
        if expires is None:
            return None
        signature = request.query.get("Signature", "")
        if not expires.isdigit() or not hmac.compare_digest(
            signature, self._sign(request.path, int(expires))
        ):
            return storage_error(403, "SignatureDoesNotMatch", "The signature does not match.")
        if now * 1000 >= int(expires):
            return storage_error(403, "AccessDenied", "Request has expired.")
        return None

    def _sign(self, path: str, expires: int) -> str:
        message = f"{path}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]


class FileService:
    def __init__(
        self,
        results: ResultFiles,
        uploads: UploadStore,
        links: ResultLinks,
        find_task: Callable[[str], Task | None],
    ) -> None:
        self.results = results
        self.uploads = uploads
        self.links = links
        self._find_task = find_task
        self.downloads: list[Download] = []

    def handle(self, request: Request, knobs: Knobs, now: float) -> Response:
        if request.path.startswith(RESULTS_PATH) and request.method in ("GET", "HEAD"):
            return self._result(request, knobs, now)
        if request.path.startswith(UPLOADS_PATH):
            if request.method == "PUT":
                status = self.uploads.put(
                    request.path,
                    request.query.get("token"),
                    request.body,
                    request.header("content-type"),
                )
                if status == 200:
                    return Response(200)
                code = "NoSuchUpload" if status == 404 else "SignatureDoesNotMatch"
                return storage_error(status, code, "The upload ticket is not valid.")
            if request.method in ("GET", "HEAD"):
                stored = self.uploads.get(request.path)
                if stored is not None and stored.data is not None:
                    body = b"" if request.method == "HEAD" else stored.data
                    return Response(200, {"Content-Type": stored.content_type}, body)
        return storage_error(404, "NoSuchKey", "The specified key does not exist.")

    def _result(self, request: Request, knobs: Knobs, now: float) -> Response:
        refusal = self.links.refusal(request, now)
        if refusal is not None:
            return refusal
        task_id, _, extension = request.path.removeprefix(RESULTS_PATH).rpartition(".")
        task = self._find_task(task_id)
        if task is None or task.phase(now) is not Phase.SUCCEEDED:
            return storage_error(404, "NoSuchKey", "The specified key does not exist.")
        record, data = self.results.make(task)
        if extension != record.extension:
            return storage_error(404, "NoSuchKey", "The specified key does not exist.")
        if task.hostile and knobs.redirect_downloads is not None:
            return Response(302, {"Location": knobs.redirect_downloads})
        content_type = record.content_type
        if task.hostile and knobs.download_content_type is not None:
            content_type = knobs.download_content_type
        # Content-Length is always the whole file: a truncated download sends less than it says.
        headers = {"Content-Type": content_type, "Content-Length": str(record.size)}
        if request.method == "HEAD":
            return Response(200, headers)
        sent = data[: len(data) // 2] if knobs.truncate_downloads else data
        self.downloads.append(Download(task.id, record.sha256, record.size, len(sent)))
        return Response(
            200,
            headers,
            _chunks(sent, knobs.download_chunk_size),
            chunk_delay=knobs.download_delay,
        )


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
