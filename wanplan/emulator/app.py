"""The emulator core: one object that answers requests, whatever carries them.

`Emulator.handle(Request) -> Response` routes a request: `/_emulator/...` to the admin
endpoints, `/files/...` and the OSS form to storage (no key, no faults), and everything else to
the wire protocol that owns its path. For a provider API request it checks the Bearer key (401
in that provider's shape), injects a configured 429 or 5xx, then lets the protocol answer. Every
request except the admin ones is logged, with its Authorization header redacted.

All state sits behind one lock, so the threaded server may call `handle` from many threads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from wanplan.emulator import admin
from wanplan.emulator.apixo import Apixo
from wanplan.emulator.backend import Backend
from wanplan.emulator.callbacks import Delivery, Poster, deliver, post_json
from wanplan.emulator.dashscope import DashScope
from wanplan.emulator.faults import FaultInjector
from wanplan.emulator.files import RESULTS_PATH, Download
from wanplan.emulator.hostile import hostile_answer
from wanplan.emulator.knobs import Knobs
from wanplan.emulator.log import (
    LoggedRequest,
    RequestLog,
    logged_headers,
    logged_json,
    logged_query,
)
from wanplan.emulator.oss import OSS_PATH
from wanplan.emulator.protocol import WireProtocol
from wanplan.emulator.results import ResultFile
from wanplan.emulator.tasks import Task
from wanplan.emulator.wanapi import WanApi
from wanplan.emulator.wavespeed import WaveSpeed
from wanplan.emulator.wire import BadJson, Request, Response, json_response
from wanplan.providers.wire import TIME_SCALE_HEADER

FILES_PREFIX = "/files/"


class Emulator:
    """The four providers' APIs in one object.

    `knobs` may be changed at any time (`emulator.knobs.latency = 1.0` or `set_knobs(...)`);
    `clock` returns epoch seconds and may be a fake one to move tasks along without waiting.
    """

    def __init__(
        self,
        knobs: Knobs | None = None,
        *,
        clock: Callable[[], float] = time.time,
        on_request: Callable[[LoggedRequest], None] | None = None,
        post_callback: Poster = post_json,
    ) -> None:
        self.knobs = knobs if knobs is not None else Knobs()
        self._initial_knobs = self.knobs.model_dump()
        self._lock = threading.RLock()
        self._backend = Backend(self.knobs, clock, os.urandom(32))
        self._log = RequestLog(on_request)
        self._faults = FaultInjector()
        self._post_callback = post_callback
        self._deliveries: list[Delivery] = []
        self.protocols: dict[str, WireProtocol] = {
            protocol.name: protocol
            for protocol in (
                WaveSpeed(self._backend),
                DashScope(self._backend),
                Apixo(self._backend),
                WanApi(self._backend),
            )
        }

    # -- answering --------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == admin.PREFIX or request.path.startswith(admin.PREFIX + "/"):
            return admin.handle(self, request)
        self._make_result_outside_lock(request)
        with self._lock:
            provider, response, fault = self._route(request)
            now = self._backend.now()
            if provider in self.protocols:
                scale = {TIME_SCALE_HEADER: f"{self.knobs.time_scale:g}"}
                response = dataclasses.replace(response, headers={**response.headers, **scale})
        self._log.add(
            LoggedRequest(
                time=now,
                provider=provider,
                method=request.method,
                path=request.path,
                query=logged_query(request),
                headers=logged_headers(request),
                json=logged_json(request),
                status=response.status,
                fault=fault,
            )
        )
        return response

    def _make_result_outside_lock(self, request: Request) -> None:
        """Make a requested result file before taking the lock: drawing a clip takes a few
        milliseconds, and every other request would wait for it. Made twice at worst (the
        bytes are deterministic); routing then finds it made."""
        if not request.path.startswith(RESULTS_PATH):
            return
        task_id = request.path.removeprefix(RESULTS_PATH).rpartition(".")[0]
        with self._lock:
            task = self._backend.find(task_id)
        if task is not None:
            self._backend.results.make(task)

    def _route(self, request: Request) -> tuple[str, Response, str | None]:
        backend = self._backend
        if request.path.startswith(FILES_PREFIX):
            return "files", backend.files.handle(request, self.knobs, backend.now()), None
        if request.path.rstrip("/") == OSS_PATH:
            return "files", backend.oss.form_upload(request, backend.now()), None
        protocol = next((p for p in self.protocols.values() if p.owns(request.path)), None)
        if protocol is None:
            answer = {"error": f"the emulator has no endpoint {request.method} {request.path}"}
            return "unknown", json_response(404, answer), None
        key = request.bearer_key()
        if key is None or (self.knobs.api_keys is not None and key not in self.knobs.api_keys):
            return protocol.name, protocol.unauthorized(request), None
        fault = self._faults.next(request.method, self.knobs)
        if fault is not None:
            return protocol.name, protocol.fault(request, fault), fault.label
        key_id = hashlib.sha256(f"{protocol.name}\0{key}".encode()).hexdigest()[:16]
        backend.made_in_request = []
        try:
            answered = protocol.handle(request, key_id)
        except BadJson as exc:
            return protocol.name, protocol.bad_request(request, str(exc)), None
        dropping = self.knobs.drop_answer_rate
        if backend.made_in_request and dropping and backend.draw() < dropping:
            return protocol.name, Response(0, dropped=True), "dropped"
        return protocol.name, hostile_answer(protocol.name, request, answered, backend), None

    # -- steering ---------------------------------------------------------------------------

    def set_knobs(self, **changes: Any) -> None:
        """Change several knobs at once, all or none (raises pydantic.ValidationError)."""
        with self._lock:
            self.knobs.update(changes)

    def reset(self) -> None:
        """Forget tasks, uploads, results, downloads, callbacks and the log; restore the knobs
        the emulator was created with."""
        with self._lock:
            self.knobs.update(self._initial_knobs)
            self._backend.clear()
            self._faults.reset()
            self._deliveries.clear()
            self._log.clear()

    # -- observing --------------------------------------------------------------------------

    @property
    def log(self) -> list[LoggedRequest]:
        """Every request answered so far, oldest first (a snapshot)."""
        return self._log.entries()

    def requests(
        self,
        provider: str | None = None,
        method: str | None = None,
        path: str | None = None,
        path_prefix: str | None = None,
    ) -> list[LoggedRequest]:
        """The logged requests matching every filter given."""
        return [
            entry
            for entry in self._log.entries()
            if (provider is None or entry.provider == provider)
            and (method is None or entry.method == method.upper())
            and (path is None or entry.path == path)
            and (path_prefix is None or entry.path.startswith(path_prefix))
        ]

    @property
    def results(self) -> dict[str, ResultFile]:
        """Task id → the result file made for it (sha256, size, content type)."""
        with self._lock:
            return dict(self._backend.results.records)

    @property
    def downloads(self) -> list[Download]:
        """Every result download served, oldest first."""
        with self._lock:
            return list(self._backend.files.downloads)

    def served_sha256(self) -> set[str]:
        """The sha256 of every result file made so far."""
        return {record.sha256 for record in self.results.values()}

    def tasks(self) -> list[Task]:
        """Every task made so far, oldest first, expired ones too (what was paid for)."""
        with self._lock:
            return sorted(self._backend.tasks.all(), key=lambda task: task.created_at)

    def task(self, task_id: str) -> Task | None:
        """A task as the emulator sees it (None when unknown or expired)."""
        with self._lock:
            return self._backend.find(task_id)

    def input_bytes(self, url: str) -> bytes | None:
        """The bytes of an input as a provider would read them: an upload's URL or `oss://`
        key, a `data:` URL, or a result this emulator served (None when it cannot see them)."""
        with self._lock:
            return self._backend.input_bytes(url)

    @property
    def callbacks(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def deliver_callbacks(self) -> list[Delivery]:
        """POST the webhooks and callbacks of tasks that have ended since the last call.
        The loopback server calls this in the background; in-process users call it."""
        due: list[tuple[Task, str, Any]] = []
        with self._lock:
            backend = self._backend
            for task in backend.tasks.all():
                if task.notified or not task.details.get("callback_url"):
                    continue
                if backend.find(task.id) is None or not backend.phase(task).terminal:
                    continue
                task.notified = True
                notice = self.protocols[task.provider].notification(task)
                if notice is not None:
                    due.append((task, *notice))
        deliveries = [
            deliver(task.provider, task.id, url, payload, self._post_callback)
            for task, url, payload in due
        ]
        with self._lock:
            self._deliveries.extend(deliveries)
        return deliveries
