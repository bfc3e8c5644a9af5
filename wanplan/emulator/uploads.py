"""Files clients upload before they submit: WaveSpeed upload tickets (announce, PUT, then a
download URL), WaveSpeed's legacy form upload, and objects put in the OSS-style bucket for
DashScope. Inputs given as `data:` URLs are decoded here too, so every protocol can read the
bytes of an input the emulator knows (to shape the result like its input image).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

UPLOADS_PATH = "/files/uploads/"


@dataclass(slots=True)
class StoredFile:
    filename: str
    content_type: str
    data: bytes | None = None
    """None until the bytes of a ticket arrive."""


class UploadStore:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._files: dict[str, StoredFile] = {}
        self._objects: dict[str, StoredFile] = {}
        self._count = 0

    def clear(self) -> None:
        self._files.clear()
        self._objects.clear()
        self._count = 0

    def ticket(self, filename: str, content_type: str) -> tuple[str, str]:
        """(path, token): PUT the bytes to `path?token=...`, then GET `path`."""
        path = self._new_path(filename)
        self._files[path] = StoredFile(filename, content_type)
        return path, self._token(path)

    def add(self, filename: str, content_type: str, data: bytes) -> str:
        path = self._new_path(filename)
        self._files[path] = StoredFile(filename, content_type, data)
        return path

    def put(self, path: str, token: str | None, data: bytes, content_type: str | None) -> int:
        """The HTTP status of a PUT to a ticket."""
        stored = self._files.get(path)
        if stored is None:
            return 404
        if token is None or not hmac.compare_digest(token, self._token(path)):
            return 403
        stored.data = data
        if content_type:
            stored.content_type = content_type
        return 200

    def get(self, path: str) -> StoredFile | None:
        stored = self._files.get(path)
        return stored if stored is not None and stored.data is not None else None

    def put_object(self, key: str, content_type: str, data: bytes) -> None:
        self._objects[key] = StoredFile(key.rpartition("/")[2], content_type, data)

    def has_object(self, key: str) -> bool:
        return key in self._objects

    def read(self, url: str) -> bytes | None:
        """The bytes behind an input URL the emulator can see: one of its uploads, an
        `oss://` object, or a `data:` URL. None for anything else (it never fetches)."""
        if url.startswith("data:"):
            return decode_data_url(url)
        if url.startswith("oss://"):
            stored = self._objects.get(url.removeprefix("oss://"))
            return None if stored is None else stored.data
        path = urlsplit(url).path
        if path.startswith(UPLOADS_PATH):
            stored = self.get(path)
            return None if stored is None else stored.data
        return None

    def _new_path(self, filename: str) -> str:
        self._count += 1
        name = quote(filename.rpartition("/")[2] or "upload", safe="._-")
        return f"{UPLOADS_PATH}u{self._count:06d}/{name}"

    def _token(self, path: str) -> str:
        return hmac.new(self._secret, path.encode(), hashlib.sha256).hexdigest()[:32]


def decode_data_url(url: str) -> bytes | None:
    """The bytes of `data:<type>;base64,<data>`, None when it is not valid base64."""
    header, found, payload = url.partition(",")
    if not found or not header.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
