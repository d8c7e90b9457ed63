"""file:// batched writes (cloudfiles.interfaces.file_writes): chunked sync + rename keeps the
one-variant rule, creates directories, and syncs once per chunk instead of once per file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudfiles import CloudFiles
from cloudfiles.interfaces import file_writes
from cloudfiles.interfaces.base import PutItem


def test_batch_replaces_stale_variants_and_leaves_no_temps(tmp_path: Path) -> None:
    cf = CloudFiles(f"file://{tmp_path}")
    cf.puts([(f"d/{i}", b"old") for i in range(20)], compress="gzip")
    cf.puts([(f"d/{i}", b"new") for i in range(20)])
    assert sorted(os.listdir(tmp_path / "d")) == sorted(str(i) for i in range(20))
    assert cf.get([f"d/{i}" for i in range(20)], return_dict=True) == {f"d/{i}": b"new" for i in range(20)}


def test_same_key_twice_in_one_chunk_keeps_one_variant(tmp_path: Path) -> None:
    cf = CloudFiles(f"file://{tmp_path}", num_threads=1)  # in order: the identity write is last
    items = [PutItem(f"k{i}", b"x") for i in range(10)]
    items.insert(0, PutItem("dup", b"gz-bytes", encoding="gzip"))
    items.append(PutItem("dup", b"plain"))
    results = list(cf.interface.put_files(items))
    assert all(r.error is None for r in results)
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("dup")) == ["dup"]


def test_batch_creates_nested_directories(tmp_path: Path) -> None:
    cf = CloudFiles(f"file://{tmp_path}")
    cf.puts([(f"a/b/c/{i}", b"z") for i in range(30)])
    assert sorted(cf.list()) == sorted(f"a/b/c/{i}" for i in range(30))
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(file_writes.TMP_SUFFIX)]


@pytest.mark.skipif(not file_writes.HAVE_SYNCFS, reason="syncfs is Linux-only")
def test_one_sync_per_chunk_not_per_file(tmp_path: Path, syncs: dict[str, int]) -> None:
    cf = CloudFiles(f"file://{tmp_path}")
    n = file_writes.CHUNK_OBJECTS + 10
    cf.puts([(f"{i}", b"v") for i in range(n)])
    assert syncs["syncfs"] == 2  # two chunks
    assert syncs["fsync"] == 2  # the root directory, once per chunk


def test_small_batches_fsync_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    cf = CloudFiles(f"file://{tmp_path}")
    cf.puts([(f"{i}", b"v") for i in range(file_writes.SMALL_BATCH - 1)])
    assert len(synced) == file_writes.SMALL_BATCH - 1


@pytest.mark.skipif(not file_writes.HAVE_SYNCFS, reason="syncfs is Linux-only")
def test_sync_failure_fails_the_chunk_and_publishes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_path: str) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(file_writes, "sync_filesystem_of", broken)
    cf = CloudFiles(f"file://{tmp_path}")
    results = list(cf.interface.put_files([PutItem(f"{i}", b"v") for i in range(10)]))
    assert all(isinstance(r.error, OSError) for r in results)
    assert os.listdir(tmp_path) == []
