"""The sim provider: free, offline, deterministic; a real provider's path through apply."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import ClassVar

import httpx

from wanplan.config import ProviderSettings
from wanplan.errors import ProviderError
from wanplan.providers.base import (
    GenerationRequest,
    ProviderContext,
    SubmittedTask,
    TaskListing,
    TaskState,
    TaskStatus,
)
from wanplan.providers.sim.service import BASE_URL, SimService

DEFAULT_LATENCY = 0.3
LATENCY_ENV = "WANPLAN_SIM_LATENCY"


def _latency(settings: ProviderSettings) -> float:
    """The environment's, as for every WANPLAN_ override, else wanplan.toml's, else 0.3 s."""
    if os.environ.get(LATENCY_ENV):
        return float(os.environ[LATENCY_ENV])
    if settings.latency is not None:
        return settings.latency
    return DEFAULT_LATENCY


class SimProvider:
    name: ClassVar[str] = "sim"
    key_env: ClassVar[str | None] = None
    # In process: no lag, no other clock, and a submit answers at once.
    DEFAULT_LISTING_LAG: ClassVar[float] = 0.0
    DEFAULT_SUBMIT_TIMEOUT: ClassVar[float] = 2.0
    CLOCK_PAD: ClassVar[float] = 0.0

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.client = context.client
        settings = context.settings
        self._poll = max(_latency(settings) / 4, 0.02)

    @classmethod
    def default_base_url(cls, settings: ProviderSettings) -> str:
        return BASE_URL

    @classmethod
    def make_client(cls, settings: ProviderSettings) -> httpx.AsyncClient:
        service = SimService(_latency(settings))
        return httpx.AsyncClient(transport=service.transport())

    def poll_delay(self, attempt: int) -> float:
        return self._poll

    async def submit(self, request: GenerationRequest) -> SubmittedTask:
        response = await self.client.post(
            f"{BASE_URL}/tasks",
            json={
                "content_key": request.content_key,
                "model_id": request.model_id,
                "mode": request.mode,
                "params": dict(request.params),
                "inputs": {i.field: i.sha256 or i.source for i in request.inputs},
            },
        )
        if response.status_code != 200:
            raise ProviderError(self.name, f"submit refused: HTTP {response.status_code}")
        return SubmittedTask(task_id=response.json()["id"])

    async def poll(self, task_id: str, model_id: str) -> TaskStatus:
        response = await self.client.get(f"{BASE_URL}/tasks/{task_id}")
        if response.status_code == 404:
            return TaskStatus(TaskState.GONE, error="task not found")
        body = response.json()
        if body["status"] == "succeeded":
            return TaskStatus(TaskState.SUCCEEDED, result_urls=(body["result_url"],))
        if body["status"] == "failed":
            return TaskStatus(
                TaskState.FAILED, error=str(body.get("error")), reported_cost=Decimal(0)
            )
        return TaskStatus(TaskState.RUNNING)

    async def list_tasks(self, model_id: str, after: float, before: float) -> TaskListing:
        """A sim task exists only once its id is committed (the id is the task): a submit cut
        off before that made nothing, and costs nothing."""
        return TaskListing((), complete=True)

    async def task_prompt(self, task_id: str, model_id: str) -> str | None:
        return None
