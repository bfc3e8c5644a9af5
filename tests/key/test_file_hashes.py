from __future__ import annotations

import os
from pathlib import Path

import pytest

from wanplan.key import file_hashes
from wanplan.key.file_hashes import FileHasher


def test_unchanged_files_are_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.png").write_bytes(b"one")
    old = 1_600_000_000
    os.utime(tmp_path / "a.png", (old, old))
    reads: list[Path] = []
    real = file_hashes.sha256_file
    monkeypatch.setattr(file_hashes, "sha256_file", lambda p: reads.append(p) or real(p))

    first = FileHasher(tmp_path, {})
    digest = first.sha256("a.png")
    assert first.sha256("a.png") == digest and len(reads) == 1  # memoised within a run

    second = FileHasher(tmp_path, first.fresh)
    assert second.sha256("a.png") == digest
    assert len(reads) == 1 and second.fresh == {}

    (tmp_path / "a.png").write_bytes(b"two")
    os.utime(tmp_path / "a.png", (old + 5, old + 5))
    third = FileHasher(tmp_path, first.fresh)
    assert third.sha256("a.png") != digest and len(reads) == 2


def test_a_file_hashed_right_after_it_changed_is_hashed_again(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"one")  # mtime is now: a racy stamp
    first = FileHasher(tmp_path, {})
    first.sha256("a.png")
    stamp = first.fresh["a.png"]
    assert not stamp.matches(os.stat(tmp_path / "a.png"))
