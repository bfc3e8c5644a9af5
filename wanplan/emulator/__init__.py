"""The provider emulator: the four hosted Wan providers' wire protocols (WaveSpeed, DashScope,
APIXO, wanapi) at their real paths, in one process, with knobs for every failure a real service
shows. `wanplan emulator --port P` serves it on loopback; tests use it in process or on a
loopback port. PROVIDERS.md is the reference for every wire shape.

Layout, one job per module:

    app.py         Emulator: routes a request, checks the key, injects faults, logs
    wire.py        Request / Response values (framework-free; a body may be chunks)
    knobs.py       Knobs, changeable at run time
    tasks.py       the task state machine (latency, concurrency cap), clock-driven
    failures.py    which tasks fail (prompt marker, seeded rate)
    faults.py      429 and 5xx injection
    backend.py     what the protocols share (tasks, uploads, results, links)
    wavespeed.py, dashscope.py, apixo.py, wanapi.py   one wire protocol each
    results.py     deterministic result media and their sha256 records
    files.py       result and upload downloads: expiring URLs, slow and truncated bodies
    uploads.py, oss.py, multipart.py   uploaded inputs (tickets, OSS form, data: URLs)
    callbacks.py   webhooks, to loopback only
    log.py         the request log, Authorization redacted
    admin.py       /_emulator/ endpoints to steer a running emulator
    server.py      stdlib ThreadingHTTPServer on loopback; running() for tests
    transport.py   an httpx transport (sync and async) for tests without sockets

Typical test use:

    emulator = Emulator(Knobs(latency=0.05))
    with running(emulator) as base_url: ...                 # real sockets, loopback
    httpx.AsyncClient(transport=EmulatorTransport(emulator))  # in process
    emulator.set_knobs(rate_limit_burst=2); emulator.requests(provider="dashscope")
"""

from wanplan.emulator.app import Emulator
from wanplan.emulator.callbacks import Delivery
from wanplan.emulator.files import Download
from wanplan.emulator.knobs import Knobs
from wanplan.emulator.log import LoggedRequest
from wanplan.emulator.loopback import LoopbackOnly
from wanplan.emulator.results import ResultFile
from wanplan.emulator.server import LoopbackServer, provider_base_urls, running
from wanplan.emulator.transport import IN_PROCESS_URL, EmulatorTransport
from wanplan.emulator.wire import Request, Response

__all__ = [
    "IN_PROCESS_URL",
    "Delivery",
    "Download",
    "Emulator",
    "EmulatorTransport",
    "Knobs",
    "LoggedRequest",
    "LoopbackOnly",
    "LoopbackServer",
    "Request",
    "Response",
    "ResultFile",
    "provider_base_urls",
    "running",
]
