"""`wanplan report`: one self-contained page, every asset, escaped strings, no script, no remote
resource, unknown costs said to be unknown, drafts beside finals, missing outputs shown."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import EXAMPLE_ADDRESSES as ADDRESSES
from tests.conftest import Run, write_spec


def report(run: Run, root: Path, *args: str) -> str:
    result = run(root, "report", *args)
    assert result.exit_code == 0, result.output
    index = Path(result.output.strip())
    assert index.name == "index.html" and index.is_file()
    return index.read_text("utf-8")


def _cell_of(page: str, address: str) -> str:
    section = page[page.index(f'data-address="{address}"') :]
    return section[: section.index("</section>")]


def test_every_asset_linked_where_it_lies_and_no_remote_resource(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    page = report(run, project)

    assert re.findall(r'<section class="asset" [^>]*data-address="([^"]+)"', page) == list(
        ADDRESSES
    )
    sources = re.findall(r'<div class="media"><img src="([^"]+)" alt="([^"]+)"', page)
    outputs = {a: f"{a}.{'png' if a == 'poster' else 'gif'}" for a in ADDRESSES}
    assert sorted(sources) == sorted((f"../outputs/{name}", a) for a, name in outputs.items())
    assert sorted(p.name for p in (project / "report").iterdir()) == ["index.html"]
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert "A slow dolly shot through a foggy pine forest at dawn." in page
    assert "<dt>seed</dt><dd>42</dd>" in page and "$0.50 (estimate)" in page


def test_self_contained_copies_what_it_shows_into_its_own_folder(
    run: Run, project: Path, tmp_path: Path
) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    page = report(run, project, "--self-contained", "--out", str(tmp_path / "artifact"))

    sources = re.findall(r'<div class="media"><img src="([^"]+)" alt="([^"]+)"', page)
    assert len(sources) == len(ADDRESSES)
    for source, address in sources:
        assert source.startswith("media/files/outputs/"), source
        copied = tmp_path / "artifact" / source
        output = project / source.removeprefix("media/files/")
        assert copied.read_bytes() == output.read_bytes() and address in output.name


def test_user_strings_are_escaped(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "x.toml",
        'version = 1\n[assets.xss]\nprovider = "sim"\nmode = "t2i"\nmodel = "wan-2.5"\n'
        'prompt = "<script>alert(1)</script> & \\"quotes\\""\n',
    )
    assert run(empty_project, "apply", "-y").exit_code == 0
    page = report(run, empty_project)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in page


def test_unknown_cost_and_missing_output(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    (project / "outputs/poster.png").unlink()
    from wanplan.state.sqlite import SqliteState

    state = SqliteState.open_writer(project / "state" / "wanplan.db")
    state.db.execute(
        "update ledger set amount = null, source = 'unknown' where address = 'forest-dolly'"
    )
    state.db.conn.commit()
    state.close()

    page = report(run, project)
    forest = _cell_of(page, "forest-dolly")
    assert "<dt>cost</dt><dd>unknown</dd>" in forest and "$0.00" not in forest
    assert 'data-state="missing"' in _cell_of(page, "poster")
    assert "missing: outputs/poster.png" in page


def test_drafts_beside_finals(run: Run, project: Path) -> None:
    settings = project / "wanplan.toml"
    settings.write_text(settings.read_text() + '\n[profiles.draft]\nresolution = "1080p"\n')
    assert run(project, "apply", "-y", "--target", "poster").exit_code == 0
    drafted = run(
        project,
        "apply",
        "-y",
        "--profile",
        "draft",
        "--target",
        "poster",
        "--target",
        "forest-dolly",
    )
    assert drafted.exit_code == 0, drafted.output

    page = report(run, project)
    poster = _cell_of(page, "poster")
    assert re.findall(r'data-profile="(\w+)" data-state="(\w+)"', poster) == [
        ("default", "present"),
        ("draft", "present"),
    ]
    assert '<img src="../outputs/draft/poster.png"' in poster
    assert 'data-profile="default" data-state="absent"' in _cell_of(page, "forest-dolly")

    only = report(run, project, "--profile", "draft", "--out", "drafts")
    assert 'data-profile="default"' not in only and 'data-address="forest-dolly"' in only


def test_report_refuses_to_write_into_the_project(run: Run, project: Path) -> None:
    for out in (".", "outputs", "outputs/gallery"):
        result = run(project, "report", "--out", out)
        assert result.exit_code == 1
        assert "give it a folder of its own" in result.output
    assert not (project / "index.html").exists()


def test_report_and_sidecars_are_readable_like_any_other_file(run: Run, project: Path) -> None:
    """Published by a web server: not private to their owner as a temporary file is."""
    import os
    import stat

    previous = os.umask(0o022)
    try:
        assert run(project, "apply", "-y").exit_code == 0
        assert run(project, "report").exit_code == 0
    finally:
        os.umask(previous)
    for path in [project / "report" / "index.html", *project.glob("outputs/*.wanplan.json")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_outside_a_project_it_says_so_and_writes_nothing(run: Run, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(elsewhere, "report")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "not a wanplan project" in result.output
    assert "-C DIR" in result.output and "wanplan init" in result.output
    assert list(elsewhere.iterdir()) == []


def test_nothing_loads_before_it_is_scrolled_to_or_played(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    page = report(run, project)
    images = re.findall(r"<img [^>]*>", page)
    assert len(images) == len(ADDRESSES) + 3  # and the inputs of hero-turn, hero-to-forest
    assert all('loading="lazy"' in image for image in images)
    assert 'loading="eager"' not in page and 'preload="metadata"' not in page


def _ledger(project: Path, sql: str) -> list[tuple[object, ...]]:
    from wanplan.state.sqlite import SqliteState

    state = SqliteState.open_writer(project / "state" / "wanplan.db")
    try:
        rows = list(state.db.execute(sql).fetchall())
        state.db.conn.commit()
    finally:
        state.close()
    return rows


def test_the_total_spent_overall_and_per_asset(run: Run, project: Path) -> None:
    from decimal import Decimal

    assert run(project, "apply", "-y").exit_code == 0
    poster = project / "specs/launch.toml"
    poster.write_text(poster.read_text().replace("muted greens", "deep greens"))
    assert run(project, "apply", "-y").exit_code == 0
    amounts = [Decimal(str(a)) for (a,) in _ledger(project, "select amount from ledger")]
    assert len(amounts) == len(ADDRESSES) + 1

    page = report(run, project)
    total = sum(amounts, Decimal(0)).quantize(Decimal("0.01"))
    assert f'data-total-usd="{total}"' in page
    assert f"Spent: ${total} over 7 tasks: ${total} estimated" in page
    poster_cost = [
        Decimal(str(a))
        for (a,) in _ledger(project, "select amount from ledger where address = 'poster'")
    ]
    assert len(poster_cost) == 2
    section = _cell_of(page, "poster")
    assert f"<dt>spent</dt><dd>${sum(poster_cost, Decimal(0)):.2f} over 2 tasks" in section


def test_an_unknown_price_is_counted_never_added_as_zero(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    _ledger(
        project,
        "update ledger set amount = null, amount_micros = null, source = 'unknown'"
        " where address = 'poster'",
    )
    page = report(run, project)
    assert "1 of unknown price" in page[: page.index("</header>")]
    section = _cell_of(page, "poster")
    assert "<dt>spent</dt><dd>unknown over 1 task: 1 of unknown price</dd>" in section

    _ledger(project, "update ledger set amount = null, amount_micros = null, source = 'unknown'")
    page = report(run, project)
    assert 'data-total-usd="unknown"' in page and "Spent: unknown over 6 tasks" in page
    assert "$0.00" not in page


def test_each_output_shows_its_inputs_with_their_paths(run: Run, project: Path) -> None:
    write_spec(
        project,
        "more.toml",
        'version = 1\n[assets.poster-motion]\nmode = "i2v"\nmodel = "wan-2.5"\n'
        'image = "asset:poster"\nprompt = "The fog drifts."\nduration = 5\n',
    )
    assert run(project, "apply", "-y").exit_code == 0
    page = report(run, project)

    flf = _cell_of(page, "hero-to-forest")
    assert re.findall(r'<img src="([^"]+)" alt="(\w+): ([^"]+)"', flf) == [
        ("../inputs/hero.png", "first_frame", "inputs/hero.png"),
        ("../inputs/forest.png", "last_frame", "inputs/forest.png"),
    ]
    assert "first_frame: inputs/hero.png" in flf and 'loading="lazy"' in flf
    motion = _cell_of(page, "poster-motion")
    assert '<a href="#asset-poster">asset:poster</a>' in motion
    assert '<img src="../outputs/poster.png" alt="image: asset:poster"' in motion
    assert 'id="asset-poster"' in page

    copied = report(run, project, "--self-contained", "--out", "artifact")
    assert '<img src="media/files/inputs/hero.png" alt="image: inputs/hero.png"' in copied
    assert (project / "artifact/media/files/inputs/hero.png").read_bytes() == (
        project / "inputs/hero.png"
    ).read_bytes()


def test_an_input_changed_since_is_named_not_shown(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    hero = project / "inputs/hero.png"
    hero.write_bytes(hero.read_bytes() + b"changed")
    (project / "inputs/forest.png").unlink()

    flf = _cell_of(report(run, project), "hero-to-forest")
    assert "<img" not in flf.split('<ul class="inputs"')[1]
    assert "first_frame: inputs/hero.png <span" in flf and "changed since" in flf
    assert "last_frame: inputs/forest.png <span" in flf and "(missing)" in flf


def test_a_sidecar_cannot_put_another_project_file_in_the_report(run: Run, project: Path) -> None:
    """The paths come from an editable sidecar: only the file the generation used is shown."""
    import json

    assert run(project, "apply", "-y").exit_code == 0
    (project / ".env").write_text("WAVESPEED_API_KEY=secret\n")
    (project / "inputs/other.png").write_bytes((project / "outputs/poster.png").read_bytes())
    sidecar = project / "outputs/hero-turn.gif.wanplan.json"
    document = json.loads(sidecar.read_text())
    document["inputs"][0]["path"] = ".env"
    sidecar.write_text(json.dumps(document))
    sidecar = project / "outputs/hero-to-forest.gif.wanplan.json"
    document = json.loads(sidecar.read_text())
    document["inputs"][0]["path"] = "inputs/other.png"
    sidecar.write_text(json.dumps(document))

    page = report(run, project, "--self-contained")
    assert "secret" not in page
    assert not list((project / "report").rglob(".env"))
    assert not list((project / "report").rglob("other.png"))
    assert "first_frame: inputs/other.png <span" in _cell_of(page, "hero-to-forest")


def regenerate_poster(run: Run, project: Path) -> bytes:
    """Apply, then apply the poster again with another prompt; returns the first poster."""
    assert run(project, "apply", "-y").exit_code == 0
    first = (project / "outputs/poster.png").read_bytes()
    spec = project / "specs/launch.toml"
    spec.write_text(spec.read_text().replace("muted greens", "deep <greens>"))
    assert run(project, "apply", "-y").exit_code == 0
    assert (project / "outputs/poster.png").read_bytes() != first
    return first


def test_the_version_before_beside_the_current_one(run: Run, project: Path, tmp_path: Path) -> None:
    first = regenerate_poster(run, project)
    page = report(run, project)

    poster = _cell_of(page, "poster")
    before = poster[poster.index('<div class="earlier"') :]
    src = re.findall(r'<img src="([^"]+)"', before)[0]
    assert src.startswith("../.wanplan/blobs/")
    assert (project / "report" / src).resolve().read_bytes() == first
    assert "prompt then: A minimalist poster of a pine forest in fog, muted greens" in before
    assert "deep &lt;greens&gt;" in poster
    assert '<div class="earlier"' not in _cell_of(page, "forest-dolly")

    copied = report(run, project, "--self-contained", "--out", str(tmp_path / "artifact"))
    before = _cell_of(copied, "poster").split('<div class="earlier"')[1]
    src = re.findall(r'<img src="([^"]+)"', before)[0]
    assert src.startswith("media/earlier/") and src.endswith(".png")
    assert (tmp_path / "artifact" / src).read_bytes() == first


def test_a_version_gone_from_the_cache_is_said_to_be_gone(run: Run, project: Path) -> None:
    regenerate_poster(run, project)
    assert run(project, "gc").exit_code == 0

    before = _cell_of(report(run, project), "poster").split('<div class="earlier"')[1]
    assert "<img" not in before and "no longer in this disk's cache" in before
