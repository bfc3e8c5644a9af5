"""Prices that bill the input video's seconds (video edit, reference-to-video): the length is
read from the file's header; an unknown length is counted at the provider's cap where there
is one, else the estimate is unknown, never $0."""

from __future__ import annotations

import datetime
import json
import struct
from decimal import Decimal
from pathlib import Path

from tests.conftest import Run, write_spec
from wanplan.catalog.model import PriceEntry
from wanplan.spec.media_length import video_seconds


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4(seconds: float, *, version: int = 0, timescale: int = 600) -> bytes:
    units = round(seconds * timescale)
    if version == 1:
        header = bytes([1, 0, 0, 0]) + bytes(16) + struct.pack(">IQ", timescale, units)
    else:
        header = bytes(4) + bytes(8) + struct.pack(">II", timescale, units)
    moov = box(b"moov", box(b"mvhd", header + bytes(80)))
    # `moov` after the media data, as a file written without "faststart" has it.
    return box(b"ftyp", b"isom\x00\x00\x02\x00isom") + box(b"mdat", bytes(64)) + moov


def gif(delays: list[int]) -> bytes:
    """An animated GIF of 1×1 frames, each shown `delay` hundredths of a second."""
    data = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    for delay in delays:
        data += b"\x21\xf9\x04\x00" + struct.pack("<H", delay) + b"\x00\x00"
        data += b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return data + b"\x3b"


def test_video_lengths_come_from_the_header(tmp_path: Path) -> None:
    cases = {
        "a.mp4": (mp4(6.5), Decimal("6.5")),
        "b.mov": (mp4(12, version=1, timescale=90000), Decimal(12)),
        "c.gif": (gif([50, 70]), Decimal("1.2")),
        "d.mp4": (b"\x00\x00\x00\x18ftypisom" + bytes(20), None),  # no movie header
        "e.mp4": (mp4(3)[:40], None),  # truncated before it
        "f.png": (b"\x89PNG\r\n\x1a\n" + bytes(20), None),
        # Short or hostile headers: unknown, never a crash.
        "g.gif": (b"GIF89a\x01\x00", None),
        "h.gif": (gif([50])[:-12], None),  # cut inside the image descriptor
        "i.mp4": (box(b"ftyp", b"isom") + box(b"moov", box(b"mvhd", b"")), None),
        "j.mp4": (mp4(0), None),
        "k.mp4": (mp4(3 * 86400), None),  # three days: not believed
    }
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    assert {n: video_seconds(tmp_path / n) for n in cases} == {
        n: seconds for n, (_, seconds) in cases.items()
    }


def price(mode: str, *, cap: int | None, minimum: int = 0) -> PriceEntry:
    return PriceEntry(
        provider="dashscope",
        model_id="m",
        mode=mode,  # type: ignore[arg-type]
        resolution="720p",
        unit="second",
        price=Decimal("0.10"),
        minimum_seconds=minimum,
        currency="USD",
        source="test",
        as_of=datetime.date(2026, 12, 6),
        bills_input_video=True,
        max_billed_input_seconds=cap,
    )


def test_billed_input_seconds_are_whole_capped_and_never_zero_when_unknown() -> None:
    r2v = price("r2v", cap=5)
    assert r2v.estimate(5, [Decimal("3.2")]) == Decimal("0.90")  # 5 s + 4 s (a started second)
    assert r2v.estimate(5, [Decimal(12)]) == Decimal("1.00")  # at most 5 s of reference
    assert r2v.estimate(10, [None]) == Decimal("1.50")  # unknown: counted at the cap
    assert r2v.estimate(5, []) == Decimal("0.50")  # image references only
    edit = price("edit", cap=None)
    # An edit keeps its source's length: billed once as input, once as output.
    assert edit.estimate(None, [Decimal(6)]) == Decimal("1.20")
    assert edit.estimate(None, [None]) is None  # no length, no cap: unknown, not $0
    assert price("edit", cap=10).estimate(None, [None]) == Decimal("2.00")
    # The output is capped like the input; a frame of overshoot is not a started second.
    assert price("edit", cap=10).estimate(None, [Decimal(30)]) == Decimal("2.00")
    assert edit.estimate(None, [Decimal("5.005")]) == Decimal("1.00")


def edit_estimate(run: Run, root: Path, provider: str, source: bytes) -> str:
    """The planned cost of a 720p Wan 2.7 edit of `source` on `provider`."""
    (root / "inputs" / "take.mp4").write_bytes(source)
    write_spec(
        root,
        "a.toml",
        f'[assets.night]\nprovider = "{provider}"\nmode = "edit"\nmodel = "wan-2.7"\nseed = 1\n'
        'resolution = "720p"\nprompt = "make it night"\nvideo = "inputs/take.mp4"\n',
    )
    result = run(root, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    cost: str = json.loads(result.output)["changes"][0]["estimated_cost"]
    return cost


def test_a_plan_prices_an_edit_by_its_source_video(run: Run, empty_project: Path) -> None:
    # $0.10/s over 5 s of source (4.2 s, a started second counts) and 5 s of output.
    assert edit_estimate(run, empty_project, "dashscope", mp4(4.2)) == "1.00"
    assert edit_estimate(run, empty_project, "dashscope", mp4(8)) == "1.60"


def test_a_damaged_input_video_leaves_the_estimate_unknown_not_a_crash(
    run: Run, empty_project: Path
) -> None:
    damaged = box(b"ftyp", b"isom") + box(b"moov", box(b"mvhd", b""))
    # WaveSpeed's edit bills up to 10 s in and out: an unreadable length counts at that cap.
    assert edit_estimate(run, empty_project, "wavespeed", damaged) == "2.00"


def test_the_recorded_side_counts_only_what_can_be_a_billed_video() -> None:
    from wanplan.catalog import load_catalog
    from wanplan.cost.estimate import estimate_material

    material = {
        "provider": "dashscope",
        "model_id": "wan2.7-r2v",
        "mode": "r2v",
        "params": {"resolution": "720p", "duration": 5},
        "inputs": {"references": ["sha256:a", "sha256:b"]},
    }
    # wan2.7-r2v takes image references too: digests alone cannot say they are billed videos.
    assert estimate_material(material, load_catalog()) == Decimal("0.50")


def test_a_reference_to_a_model_that_takes_only_images_is_not_billed_as_video(
    run: Run, empty_project: Path
) -> None:
    """WaveSpeed's 2.7 edit takes image references: one whose kind its name does not tell (a
    URL without an extension) adds nothing, rather than 10 s of video at the cap."""
    alone = edit_estimate(run, empty_project, "wavespeed", mp4(4.2))
    spec = empty_project / "specs" / "a.toml"
    spec.write_text(spec.read_text() + 'references = ["https://e.example/look"]\n')
    result = run(empty_project, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["changes"][0]["estimated_cost"] == alone
