"""The conformance suite every blob store passes: bytes stream in through a staged blob and
become a blob only once complete; a blob is named by its sha256, never changes, and comes out
whole or not at all. A new store adds one entry to `STORES`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from wanplan.blobs import BlobStore, LocalBlobStore
from wanplan.blobs.s3 import S3BlobStore

STORES = ("local", "s3")


@pytest.fixture(params=STORES)
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    local = LocalBlobStore(tmp_path / "cache")
    if request.param == "local":
        return local
    # In the bucket, with a local side of its own (empty: every read goes to the bucket).
    return S3BlobStore(request.getfixturevalue("s3_cache"), local)


def put(blobs: BlobStore, data: bytes) -> str:
    with blobs.stage() as staged:
        for start in range(0, len(data), 7):
            staged.write(data[start : start + 7])
        return blobs.commit(staged)


def test_a_committed_blob_is_named_by_its_sha256_and_comes_out_whole(
    blobs: BlobStore, tmp_path: Path
) -> None:
    data = b"a generated video, in chunks" * 100
    sha = put(blobs, data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert blobs.has(sha) and blobs.is_intact(sha)
    destination = tmp_path / "outputs" / "clip.mp4"
    blobs.copy_to(sha, destination)
    assert destination.read_bytes() == data
    assert [(b.name, b.size) for b in blobs.blobs()] == [(sha, len(data))]


def test_the_same_bytes_twice_are_one_blob(blobs: BlobStore) -> None:
    first, second = put(blobs, b"same"), put(blobs, b"same")
    assert first == second
    assert len(list(blobs.blobs())) == 1
    assert blobs.leftovers() == []


def test_a_staged_blob_not_committed_leaves_nothing(blobs: BlobStore) -> None:
    with pytest.raises(RuntimeError), blobs.stage() as staged:
        staged.write(b"half a download")
        raise RuntimeError("connection dropped")
    assert list(blobs.blobs()) == [] and blobs.leftovers() == []
    assert not blobs.has(hashlib.sha256(b"half a download").hexdigest())


def test_a_file_added_is_a_blob(blobs: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "upstream.png"
    source.write_bytes(b"\x89PNG an upstream output")
    sha = blobs.add_file(source)
    assert sha == hashlib.sha256(source.read_bytes()).hexdigest() and blobs.has(sha)


def test_a_removed_blob_is_gone_and_others_stay(blobs: BlobStore) -> None:
    keep, drop = put(blobs, b"keep"), put(blobs, b"drop")
    blobs.remove(drop)
    assert not blobs.has(drop) and not blobs.is_intact(drop)
    assert [b.name for b in blobs.blobs()] == [keep]
    blobs.remove(drop)  # removing what is gone is no error


def test_a_missing_blob_is_not_intact_and_cannot_be_copied(
    blobs: BlobStore, tmp_path: Path
) -> None:
    missing = "0" * 64
    assert not blobs.has(missing) and not blobs.is_intact(missing)
    destination = tmp_path / "out.mp4"
    with pytest.raises(OSError):
        blobs.copy_to(missing, destination)
    assert not destination.exists()


def test_a_blob_streams_out_as_it_went_in(blobs: BlobStore) -> None:
    data = bytes(range(256)) * 1000
    sha = put(blobs, data)
    with blobs.open(sha) as stream:
        chunks = iter(lambda: stream.read(4096), b"")
        assert b"".join(chunks) == data
    with pytest.raises(FileNotFoundError):
        blobs.open("f" * 64)


def test_a_name_that_is_not_a_digest_reads_nothing(blobs: BlobStore, tmp_path: Path) -> None:
    # The state names blobs, and a pull request can edit the state: a "name" that climbs out
    # of the cache must not copy an outside file into outputs/.
    secret = tmp_path / "secret.txt"
    secret.write_text("AWS_SECRET_ACCESS_KEY=topsecret\n")
    climbing = "../" * 12 + str(secret).lstrip("/")
    destination = tmp_path / "outputs" / "poster.png"
    assert not blobs.has(climbing)
    with pytest.raises(OSError):
        blobs.copy_to(climbing, destination)
    assert not destination.exists()


def test_a_blob_changed_on_disk_is_never_copied_out(tmp_path: Path) -> None:
    local = LocalBlobStore(tmp_path / "cache")
    sha = put(local, b"the real bytes")
    blob = local.local_path(sha)
    blob.chmod(0o644)
    blob.write_bytes(b"tampered")
    destination = tmp_path / "outputs" / "clip.gif"
    with pytest.raises(OSError, match="does not match"):
        local.copy_to(sha, destination)
    assert not destination.exists()
