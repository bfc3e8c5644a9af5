"""The blob store in an S3-compatible bucket (PRODUCT §11): `[cache] url = "s3://bucket/prefix"`.

Blobs are `<prefix>/blobs/<sha256>`. The project's own `.wanplan/` is the local side: bytes are
staged there (hashed as they arrive), uploaded on commit, and downloaded there, verified
against their name, before they are copied into outputs/ or sent as another asset's input.
Credentials, region and endpoint come from the standard AWS variables (`AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL` for MinIO, R2
or moto); an `http://` endpoint only on loopback. The client is obstore (Rust, streaming, a
4 MB wheel that imports in milliseconds), loaded only when such a cache is in use.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import re
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from wanplan.blobs.store import SHA256, LocalBlobStore, StagedBlob, StoredFile
from wanplan.errors import WanplanError

if TYPE_CHECKING:
    from obstore.store import ClientConfig

BLOBS = "blobs"
CHUNK = 1 << 20


def _obstore() -> Any:
    try:
        import obstore
    except ImportError:
        raise WanplanError("an S3 cache needs obstore: pip install 'wanplan[team]'") from None
    return obstore


class CacheRefused(OSError, WanplanError):
    """The bucket refused or failed a request: an OSError for apply (the asset fails, the
    result stays recorded as a task to collect again) and one line for the CLI."""

    def __str__(self) -> str:
        return str(self.strerror)


_CAUSES = (
    ("connection refused", "connection refused"),
    ("dns error", "host not found"),
    ("failed to lookup", "host not found"),
    ("timed out", "timed out"),
    ("certificate", "TLS certificate not trusted"),
)
"""Words of the client's error that name the cause, and how this says it."""


def _refused(url: str, what: str, exc: Exception) -> CacheRefused:
    """One line for a failed request: its kind and HTTP status, or the connection's cause,
    never the body (an S3 error body can echo the access key id and the signed request)."""
    status = re.search(r"status (\d{3})", str(exc))
    text = str(exc).lower()
    cause = next((said for words, said in _CAUSES if words in text), None)
    detail = f"HTTP {status.group(1)}" if status else cause or type(exc).__name__
    message = f"{url}: {what} failed ({detail}); check the bucket and the AWS_* variables"
    return CacheRefused(errno.EIO, message)


class NotInBucket(FileNotFoundError, WanplanError):
    """An object (or the bucket) that is not there: one line, without the server's body."""

    def __str__(self) -> str:
        return str(self.strerror)


@contextlib.contextmanager
def _asking(url: str, what: str) -> Iterator[None]:
    try:
        yield
    except WanplanError:
        raise  # its own line already (not in the bucket, refused, an endpoint not allowed)
    except FileNotFoundError as exc:
        if exc.errno is not None:
            raise  # this disk's
        message = f"{url}: {what} found nothing (no such object, or no such bucket)"
        raise NotInBucket(errno.ENOENT, message) from None
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # this disk's (a full disk): the caller says what to do
        raise _refused(url, what, exc) from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _drop_empty_aws_variables() -> None:
    """An empty AWS_* variable means unset, as for the AWS CLI (a CI secret that is not
    defined arrives empty); the client library would take `AWS_ENDPOINT_URL=""` for a URL
    and abort the process."""
    for name in [n for n, v in os.environ.items() if n.startswith("AWS_") and not v.strip()]:
        del os.environ[name]


def endpoint_allows_http() -> bool:
    """`AWS_ENDPOINT_URL` may be http:// only on loopback (an emulator, moto); https otherwise."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return False
    parts = urlsplit(endpoint)
    if parts.scheme == "http":
        if not _loopback(parts.hostname or ""):
            raise WanplanError(
                "AWS_ENDPOINT_URL: http:// is allowed only on loopback; use https:// for "
                f"{parts.hostname}"
            )
        return True
    return False


class S3BlobStore:
    """Blobs in a bucket, with the project's `.wanplan/` as their local side."""

    shared = True

    def __init__(self, url: str, local: LocalBlobStore) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise WanplanError(
                f"[cache] url: write it as s3://bucket/prefix, got {parts.scheme}://"
            )
        self.url = f"s3://{parts.netloc}{parts.path.rstrip('/')}"
        self.local = local
        self._client: Any = None

    @property
    def store(self) -> Any:
        if self._client is None:
            _obstore()
            from obstore.store import S3Store

            _drop_empty_aws_variables()
            options: ClientConfig = {"allow_http": True} if endpoint_allows_http() else {}
            with _asking(self.url, "setting up the client"):
                self._client = S3Store.from_url(self.url, client_options=options)
        return self._client

    @staticmethod
    def _key(sha256: str) -> str:
        if not SHA256.fullmatch(sha256):  # a name from the state, which a pull request can edit
            raise FileNotFoundError(errno.ENOENT, "not a blob's name (a sha256)", sha256[:80])
        return f"{BLOBS}/{sha256}"

    # ---- in -------------------------------------------------------------------------------

    def stage(self) -> StagedBlob:
        return self.local.stage()

    def commit(self, staged: StagedBlob) -> str:
        """Kept locally, then uploaded: a blob is in the bucket before anything records it."""
        sha256 = self.local.commit(staged)
        self._upload(sha256)
        return sha256

    def add_file(self, path: Path) -> str:
        sha256 = self.local.add_file(path)
        self._upload(sha256)
        return sha256

    def _upload(self, sha256: str) -> None:
        if self.has(sha256):
            return  # the same bytes, by name: never written twice
        with self.local.open(sha256) as source, _asking(self.url, "an upload"):
            _obstore().put(self.store, self._key(sha256), source)

    # ---- out ------------------------------------------------------------------------------

    def has(self, sha256: str) -> bool:
        try:
            with _asking(self.url, "a look-up"):
                _obstore().head(self.store, self._key(sha256))
        except FileNotFoundError:
            return False
        return True

    def check(self) -> None:
        """Before anything is paid for: the bucket takes, gives back and drops an object."""
        probe = f"wanplan-probe-{uuid.uuid4().hex}"
        obstore = _obstore()
        try:
            with _asking(self.url, "a test upload"):
                obstore.put(self.store, probe, b"wanplan")
                obstore.head(self.store, probe)
                obstore.delete(self.store, probe)
        except OSError as exc:
            raise WanplanError(f"{exc.strerror}; nothing was sent") from None

    def open(self, sha256: str) -> BinaryIO:
        self._fetch(sha256)
        return self.local.open(sha256)

    def local_path(self, sha256: str) -> Path:
        self._fetch(sha256)
        return self.local.local_path(sha256)

    def copy_to(self, sha256: str, destination: Path) -> None:
        self._fetch(sha256)
        self.local.copy_to(sha256, destination)

    def _fetch(self, sha256: str) -> None:
        """Download the blob to the local side unless it is there intact; verified by name."""
        if self.local.is_intact(sha256):
            return
        with self.stage() as staged:
            self._download(sha256, staged)
            if staged.sha256 != sha256:
                raise OSError(f"blob {sha256[:12]} in {self.url} does not match its name")
            self.local.commit(staged)

    def _download(self, sha256: str, staged: StagedBlob) -> None:
        with _asking(self.url, "a download"):
            result = _obstore().get(self.store, self._key(sha256))
            for chunk in result.stream(min_chunk_size=CHUNK):
                staged.write(bytes(chunk))

    # ---- upkeep ---------------------------------------------------------------------------

    def blobs(self) -> Iterator[StoredFile]:
        with _asking(self.url, "a listing"):
            for batch in _obstore().list(self.store, f"{BLOBS}/"):
                for meta in batch:
                    name = str(meta["path"]).rsplit("/", 1)[-1]
                    yield StoredFile(name, int(meta["size"]))

    def is_intact(self, sha256: str) -> bool:
        try:
            with self.stage() as staged:
                self._download(sha256, staged)
                return staged.sha256 == sha256
        except FileNotFoundError:
            return False

    def remove(self, sha256: str) -> None:
        if not SHA256.fullmatch(sha256):
            return
        with contextlib.suppress(FileNotFoundError), _asking(self.url, "a removal"):
            _obstore().delete(self.store, self._key(sha256))
        self.local.remove(sha256)

    def leftovers(self) -> list[StoredFile]:
        return self.local.leftovers()

    def remove_leftover(self, name: str) -> None:
        self.local.remove_leftover(name)

    def push_local(self, wanted: Collection[str]) -> list[StoredFile]:
        pushed = []
        for blob in self.local.blobs():
            if blob.name not in wanted:
                continue
            if self.local.is_intact(blob.name) and not self.has(blob.name):
                self._upload(blob.name)
                pushed.append(blob)
        return pushed
