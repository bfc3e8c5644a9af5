"""Opens the state and the cache a project names: the one module that knows the concrete backends.

The state comes from `[state] url` (env `WANPLAN_STATE_URL`), by default the SQLite file of
`[project] state`; the cache from `[cache] url` (env `WANPLAN_CACHE_URL`), by default `.wanplan/`
in the project. Everything else works through the interfaces in `state/base.py` and
`blobs/store.py`, so a new backend is one branch here and one module beside its interface.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from wanplan.blobs.store import BlobStore, LocalBlobStore
from wanplan.config import no_secret_in, plain_cache_url
from wanplan.errors import WanplanError
from wanplan.project import Project
from wanplan.state.base import StateStore
from wanplan.state.sqlite import SqliteStore

STATE_URL_ENV = "WANPLAN_STATE_URL"
CACHE_URL_ENV = "WANPLAN_CACHE_URL"


def state_url(project: Project) -> str | None:
    """The state's URL, or None for the embedded SQLite file."""
    return _from_environment(STATE_URL_ENV) or project.config.state.url


def cache_url(project: Project) -> str | None:
    """The cache's URL, or None for the project's own `.wanplan/`."""
    return _from_environment(CACHE_URL_ENV, plain_cache_url) or project.config.cache.url


def _from_environment(
    variable: str, check: Callable[[str | None], str | None] = no_secret_in
) -> str | None:
    url = os.environ.get(variable) or None
    try:
        return check(url)
    except ValueError as exc:
        raise WanplanError(f"{variable} {exc}") from None


def open_state(project: Project) -> StateStore:
    """Where the project's state lives; nothing is opened or created until asked."""
    url = state_url(project)
    if url is None:
        return SqliteStore(project.root, project.state_path)
    return _state_at_url(
        url, f"[state] url (or {STATE_URL_ENV})", "leave it unset for the SQLite state file"
    )


def open_state_at(project: Project, where: str) -> StateStore:
    """Another state than the project's own, for `state copy`: a PostgreSQL URL, or the path
    of an SQLite file inside the project."""
    if "://" in where:
        try:
            no_secret_in(where)
        except ValueError as exc:
            raise WanplanError(f"--to {exc}") from None
        return _state_at_url(where, "--to", "give a postgresql:// URL or an SQLite file's path")
    path = Path(os.path.normpath(project.root / where))
    if not path.is_relative_to(os.path.normpath(project.root)):
        raise WanplanError(
            f"--to {where}: outside the project; wanplan writes only inside it: give a path "
            "inside the project or a postgresql:// URL"
        )
    store = SqliteStore(project.root, path)
    store.check_confined()
    return store


def _state_at_url(url: str, setting: str, advice: str) -> StateStore:
    if urlsplit(url).scheme in ("postgresql", "postgres"):
        from wanplan.state.postgres import PostgresStore  # psycopg only when used

        return PostgresStore(url)
    raise WanplanError(_unsupported(setting, url, advice))


def open_cache(project: Project) -> BlobStore:
    """The store of generated blobs."""
    url = cache_url(project)
    if url is None:
        return open_disk_cache(project)
    if urlsplit(url).scheme == "s3":
        from wanplan.blobs.s3 import S3BlobStore  # obstore only when used

        return S3BlobStore(url, open_disk_cache(project))
    raise WanplanError(
        _unsupported(
            f"[cache] url (or {CACHE_URL_ENV})", url, "leave it unset for the local .wanplan/"
        )
    )


def open_disk_cache(project: Project) -> LocalBlobStore:
    """The blobs on this disk (a shared cache downloads into it too): what a reader that never
    goes to the network (the report) can show."""
    return LocalBlobStore(project.cache_dir)


def _unsupported(setting: str, url: str, advice: str) -> str:
    scheme = urlsplit(url).scheme or "(none)"
    return f"{setting}: this wanplan cannot open a {scheme!r} URL; {advice}"
