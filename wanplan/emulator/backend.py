"""What the four protocol modules share: the knobs and clock, the task store, uploads, result
files and their links. A protocol module turns its wire format into calls on the `Backend` and
its answers back into that format; the backend knows no provider's shape."""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Callable
from typing import Any

from wanplan.emulator.failures import FailureRule
from wanplan.emulator.files import FileService, ResultLinks
from wanplan.emulator.knobs import Knobs
from wanplan.emulator.oss import OssBucket
from wanplan.emulator.results import ResultFiles
from wanplan.emulator.tasks import Failure, MediaSpec, Phase, Task, TaskStore
from wanplan.emulator.uploads import UploadStore


class Backend:
    def __init__(self, knobs: Knobs, clock: Callable[[], float], secret: bytes) -> None:
        self.knobs = knobs
        self.clock = clock
        self.tasks = TaskStore()
        self.results = ResultFiles()
        self.uploads = UploadStore(secret)
        self.oss = OssBucket(secret, self.uploads)
        self.links = ResultLinks(secret)
        self.failures = FailureRule()
        self.files = FileService(self.results, self.uploads, self.links, self.find)
        self.made_in_request: list[Task] = []
        """Tasks the request being handled made (the app drops some answers)."""
        self._account_rng: tuple[int, random.Random] | None = None

    def clear(self) -> None:
        self.tasks = TaskStore()
        self.results.clear()
        self.uploads.clear()
        self.oss.clear()
        self.failures.reset()
        self.files.downloads.clear()

    def now(self) -> float:
        return self.clock()

    def create_task(
        self,
        *,
        task_id: str,
        provider: str,
        model: str,
        key_id: str,
        media: MediaSpec,
        origin: str,
        prompt: Any,
        details: dict[str, Any] | None = None,
        failure: Failure | None = None,
        latency: float | None = None,
    ) -> Task:
        """A new task; it fails when `failure` is given or the failure rule says so."""
        now = self.now()
        task = Task(
            id=task_id,
            provider=provider,
            model=model,
            key_id=key_id,
            media=media,
            created_at=now,
            latency=self.knobs.latency if latency is None else latency,
            origin=origin,
            failure=failure
            or self.failures.decide(prompt if isinstance(prompt, str) else None, self.knobs),
            details={"prompt": prompt, **(details or {})},
            hostile=isinstance(prompt, str) and self.knobs.hostile_marker in prompt,
        )
        self.tasks.add(task, now, self.knobs.concurrency_cap)
        self.made_in_request.append(task)
        if self.knobs.other_client_rate and self.draw() < self.knobs.other_client_rate:
            self._other_client_task(task)
        return task

    def draw(self) -> float:
        """The next number of the account-level RNG (dropped answers, another client)."""
        seed = self.knobs.drop_seed
        if self._account_rng is None or self._account_rng[0] != seed:
            self._account_rng = (seed, random.Random(seed))
        return self._account_rng[1].random()

    def _other_client_task(self, beside: Task) -> None:
        """Someone else on the same account makes a task of the same model at that moment."""
        prompt = f"another client's shot {uuid.uuid4().hex[:8]}"
        other = dataclasses.replace(
            beside,
            id=str(uuid.uuid4()) if "-" in beside.id else uuid.uuid4().hex,
            failure=None,
            details={"prompt": prompt, "other_client": True},
            started_at=None,
            notified=False,
            hostile=False,
        )
        self.tasks.add(other, self.now(), self.knobs.concurrency_cap)

    def listed(self, provider: str, key_id: str, model: str | None) -> list[Task]:
        """The account's tasks as its task list shows them: newest first, each only once the
        listing lag has passed, none expired."""
        now, lag = self.now(), self.knobs.listing_lag
        shown = [
            task
            for task in self.tasks.all()
            if task.provider == provider
            and task.key_id == key_id
            and (model is None or task.model == model)
            and now - task.created_at >= lag
            and self.find(task.id) is not None
        ]
        return sorted(shown, key=lambda task: task.created_at, reverse=True)

    def find(self, task_id: str, provider: str | None = None) -> Task | None:
        """The task (of that provider), or None when it is unknown or has expired."""
        task = self.tasks.get(task_id, self.now(), self.knobs.concurrency_cap, self.knobs.task_ttl)
        if task is None or (provider is not None and task.provider != provider):
            return None
        return task

    def phase(self, task: Task) -> Phase:
        return task.phase(self.now())

    def in_flight(self, key_id: str) -> int:
        return self.tasks.in_flight(key_id, self.now(), self.knobs.concurrency_cap)

    def result_url(self, task: Task) -> str:
        """A (possibly expiring) URL of the task's result (the file is made when fetched)."""
        if task.hostile and self.knobs.result_url_override is not None:
            return self.knobs.result_url_override
        return self.links.url(task, self.results.extension(task), self.now(), self.knobs.url_ttl)

    def input_bytes(self, url: Any) -> bytes | None:
        return self.uploads.read(url) if isinstance(url, str) else None
