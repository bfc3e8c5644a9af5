"""The report in a real browser: headless Chromium (Debian's `chromium`, which .ci/run installs)
shows every asset and every media element loads, under the page's own Content-Security-Policy.

The report runs no script (its CSP forbids it), so a harness page in a temporary folder, served
with the report on loopback, loads it in an iframe and writes what it finds into its own DOM,
which Chromium's --dump-dom prints."""

from __future__ import annotations

import contextlib
import functools
import html
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.report.test_report import ADDRESSES, regenerate_poster

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = bool(os.environ.get("CI"))  # read before the fixtures clear it

HARNESS = """<!doctype html>
<html><body><pre id="result">pending</pre>
<!-- tall: the report's images load lazily, once in view -->
<iframe id="report" src="report/index.html" width="1200" height="20000"></iframe>
<script>
const frame = document.getElementById("report");
let tries = 0;
function loaded(m) {
  if (m.tagName === "IMG") return m.complete && m.naturalWidth > 0;
  return m.readyState >= 1 && !m.error;
}
function settled(m) {
  if (m.tagName === "IMG") return m.complete;
  return m.readyState >= 1 || m.error !== null;
}
function check() {
  const doc = frame.contentDocument;
  const media = [...doc.querySelectorAll("img, video, audio")];
  if (media.some(m => !settled(m)) && tries++ < 100) { setTimeout(check, 100); return; }
  document.getElementById("result").textContent = JSON.stringify({
    assets: [...doc.querySelectorAll("section.asset")].map(s => s.dataset.address),
    media: media.map(m => ({src: m.getAttribute("src"), tag: m.tagName, loaded: loaded(m)})),
  });
}
frame.addEventListener("load", check);
</script></body></html>
"""


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does it in CI)")
    return CHROMIUM


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(root: Path) -> Iterator[str]:
    """`root` served on loopback: the harness and the report share one origin there."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder of its own with the harness, where a self-contained report goes."""
    root = tmp_path / "served"
    root.mkdir()
    (root / "harness.html").write_text(HARNESS, "utf-8")
    with serving(root) as url:
        yield root, f"{url}/harness.html"


def rendered(chromium: str, url: str, tmp_path: Path) -> dict[str, Any]:
    profile = tmp_path / "chromium-profile"
    completed = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="result">(.*?)</pre>', completed.stdout, re.S)
    assert found and found.group(1) != "pending", completed.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


def report_in(run: Run, project: Path, served_root: Path) -> None:
    result = run(project, "report", "--self-contained", "--out", str(served_root / "report"))
    assert result.exit_code == 0, result.output


def test_every_asset_appears_and_every_media_element_loads(
    run: Run, project: Path, served: tuple[Path, str], chromium: str, tmp_path: Path
) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    report_in(run, project, served[0])

    found = rendered(chromium, served[1], tmp_path)

    assert found["assets"] == list(ADDRESSES)
    assert len(found["media"]) == 6 + 3  # the outputs, and the inputs of two of them
    assert [m for m in found["media"] if not m["loaded"]] == []


def test_a_broken_output_is_seen_as_not_loaded(
    run: Run, project: Path, served: tuple[Path, str], chromium: str, tmp_path: Path
) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    poster = project / "outputs/poster.png"
    poster.write_bytes(poster.read_bytes()[:16])  # a truncated PNG: its header, no image
    report_in(run, project, served[0])

    found = rendered(chromium, served[1], tmp_path)

    broken = [m["src"] for m in found["media"] if not m["loaded"]]
    assert broken == ["media/files/outputs/poster.png"]
    assert len(found["assets"]) == 6


def test_a_linked_report_loads_the_outputs_where_they_lie(
    run: Run, project: Path, chromium: str, tmp_path: Path
) -> None:
    """The default report copies nothing: served from the project root, its links resolve,
    to the poster's version before too (a cached blob, which has no extension)."""
    regenerate_poster(run, project)
    assert run(project, "report").exit_code == 0
    (project / "harness.html").write_text(HARNESS, "utf-8")

    with serving(project) as url:
        found = rendered(chromium, f"{url}/harness.html", tmp_path)

    assert found["assets"] == list(ADDRESSES)
    sources = {m["src"] for m in found["media"]}
    assert sources >= {f"../outputs/{a}.gif" for a in ADDRESSES if a != "poster"}
    assert [s for s in sources if s.startswith("../.wanplan/blobs/")]
    assert [m for m in found["media"] if not m["loaded"]] == []
