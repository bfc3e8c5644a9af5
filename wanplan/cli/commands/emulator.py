from __future__ import annotations

from typing import Any

import click

from wanplan.cli.output import echo

_SECONDS = click.FloatRange(min=0)
_COUNT = click.IntRange(min=0)


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to bind: 127.0.0.1, ::1 or localhost; nothing else.",
)
@click.option("--latency", type=_SECONDS, help="Seconds a task takes from start to end.")
@click.option(
    "--time-scale",
    type=click.FloatRange(0, 1, min_open=True),
    help="How much faster than real time it runs (default 0.01): clients scale their polling.",
)
@click.option("--failure-rate", type=click.FloatRange(0, 1), help="Share of tasks that fail.")
@click.option("--failure-seed", type=int, help="Seed of the failure draw (repeatable runs).")
@click.option(
    "--fail-marker",
    metavar="TEXT",
    help="A prompt containing it fails (default [fail]; [fail:CODE] picks the code).",
)
@click.option(
    "--rate-limit-every", type=_COUNT, metavar="K", help="Answer every Kth API request 429."
)
@click.option(
    "--rate-limit-burst", type=_COUNT, metavar="N", help="Answer the next N API requests 429."
)
@click.option("--retry-after", type=_COUNT, help="Seconds announced in Retry-After.")
@click.option(
    "--server-error-every", type=_COUNT, metavar="K", help="Answer every Kth API request 5xx."
)
@click.option(
    "--server-error-burst", type=_COUNT, metavar="N", help="Answer the next N API requests 5xx."
)
@click.option(
    "--server-error-status",
    type=click.Choice(["500", "502", "503", "504"]),
    help="The 5xx status to inject.",
)
@click.option("--task-ttl", type=_SECONDS, help="Seconds until a task is forgotten.")
@click.option("--url-ttl", type=_SECONDS, help="Seconds a result URL stays valid.")
@click.option(
    "--truncate-downloads",
    is_flag=True,
    default=None,
    help="Send half of each result file (Content-Length says all of it).",
)
@click.option("--download-delay", type=_SECONDS, help="Seconds between chunks of a download.")
@click.option("--concurrency-cap", type=click.IntRange(min=1), help="Tasks in flight per key.")
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help="Accept only this key (repeatable); default: any non-empty Bearer key.",
)
@click.option("-q", "--quiet", is_flag=True, help="Do not print a line per request.")
def emulator(port: int, host: str, quiet: bool, api_keys: tuple[str, ...], **knobs: Any) -> None:
    """Serve the provider emulator on loopback, in the foreground (Ctrl-C stops it).

    WaveSpeed, DashScope, APIXO and wanapi answer at their real paths, with their own states,
    errors and failure codes; result files are served too. Knobs add latency, failures, 429
    bursts with Retry-After, 5xx, expiring tasks and URLs, slow or truncated downloads and a
    per-key concurrency cap. A running emulator is steered with GET /_emulator/log,
    POST /_emulator/knobs (a JSON object of knobs) and POST /_emulator/reset.

    \b
    Example:
      wanplan emulator --port 8765 --latency 2 --rate-limit-every 5
      export WANPLAN_WAVESPEED_BASE_URL=http://127.0.0.1:8765
      wanplan apply -y
    """
    from pydantic import ValidationError

    from wanplan.emulator import Emulator, Knobs, LoggedRequest, LoopbackServer
    from wanplan.emulator import provider_base_urls as base_urls
    from wanplan.errors import WanplanError

    settings = {name: value for name, value in knobs.items() if value is not None}
    if "server_error_status" in settings:
        settings["server_error_status"] = int(settings["server_error_status"])
    if api_keys:
        settings["api_keys"] = list(api_keys)
    try:
        chosen = Knobs(**settings)
    except ValidationError as exc:
        raise click.UsageError(str(exc)) from None

    def print_request(entry: LoggedRequest) -> None:
        fault = f"  (injected {entry.fault})" if entry.fault else ""
        echo(f"{entry.provider:<9} {entry.method:<4} {entry.path} -> {entry.status}{fault}")

    served = Emulator(chosen, on_request=None if quiet else print_request)
    try:
        server = LoopbackServer(served, host, port)
    except OSError as exc:
        raise WanplanError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port (0 picks one)"
        ) from None
    echo(f"Provider emulator on {server.base_url} (loopback only). Point wanplan at it:")
    for name, url in base_urls(server.base_url).items():
        echo(f"  export {name}={url}")
    echo(
        "Steer it: GET /_emulator/log, POST /_emulator/knobs, POST /_emulator/reset. Ctrl-C stops."
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        echo("Stopped.")
    finally:
        server.server_close()
