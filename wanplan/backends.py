"""Opens the state and the cache a project names: the one module that knows the concrete backends.

The state comes from `[state] url` (env `WANPLAN_STATE_URL`), by default the SQLite file of
`[project] state`; the cache from `[cache] url` (env `WANPLAN_CACHE_URL`), by default `.wanplan/`
in the project. Everything else works through the interfaces in `state/base.py` and
`blobs/store.py`, so a new backend is one branch here and one module beside its interface.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from wanplan.blobs.store import BlobStore, LocalBlobStore
from wanplan.config import no_secret_in
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
    return _from_environment(CACHE_URL_ENV) or project.config.cache.url


def _from_environment(variable: str) -> str | None:
    url = os.environ.get(variable) or None
    try:
        return no_secret_in(url)
    except ValueError as exc:
        raise WanplanError(f"{variable} {exc}") from None


def open_state(project: Project) -> StateStore:
    """Where the project's state lives; nothing is opened or created until asked."""
    url = state_url(project)
    if url is None:
        return SqliteStore(project.root, project.state_path)
    if urlsplit(url).scheme in ("postgresql", "postgres"):
        from wanplan.state.postgres import PostgresStore  # psycopg only when used

        return PostgresStore(url)
    raise WanplanError(_unsupported("[state] url", STATE_URL_ENV, url, "the SQLite state file"))


def open_state_at(project: Project, where: str) -> StateStore:
    """Another state than the project's own, for `state copy`: a PostgreSQL URL, or the path
    of an SQLite file inside the project."""
    if "://" in where:
        try:
            no_secret_in(where)
        except ValueError as exc:
            raise WanplanError(f"--to {exc}") from None
        if urlsplit(where).scheme in ("postgresql", "postgres"):
            from wanplan.state.postgres import PostgresStore

            return PostgresStore(where)
        raise WanplanError(_unsupported("--to", STATE_URL_ENV, where, "an SQLite file's path"))
    store = SqliteStore(project.root, project.root / where)
    store.check_confined()
    return store


def open_cache(project: Project) -> BlobStore:
    """The store of generated blobs."""
    url = cache_url(project)
    if url is None:
        return LocalBlobStore(project.cache_dir)
    if urlsplit(url).scheme == "s3":
        from wanplan.blobs.s3 import S3BlobStore  # obstore only when used

        return S3BlobStore(url, LocalBlobStore(project.cache_dir))
    raise WanplanError(_unsupported("[cache] url", CACHE_URL_ENV, url, "the local .wanplan/"))


def _unsupported(setting: str, variable: str, url: str, default: str) -> str:
    scheme = urlsplit(url).scheme or "(none)"
    return (
        f"{setting} (or {variable}): this wanplan cannot open a {scheme!r} URL; leave it unset "
        f"for {default}"
    )
