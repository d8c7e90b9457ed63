"""Batched file:// writes into directories too large to list per chunk: stale codec variants are found
by probing their names instead, with the same outcome as the listing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudfiles import CloudFiles
from cloudfiles.interfaces import file_writes
from cloudfiles.interfaces.base import PutItem


@pytest.fixture(params=["listed", "probed"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "probed":  # every directory counts as large
        monkeypatch.setattr(file_writes, "LIST_DIR_MAX_BYTES", -1)
    return str(request.param)


@pytest.mark.parametrize("fsync", ["batch", "none"])
def test_stale_variants_are_removed(tmp_path: Path, mode: str, fsync: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cf = CloudFiles(f"file://{tmp_path}", fsync=fsync)
    cf.puts([(f"{i}", b"old") for i in range(20)], compress="gzip")
    (tmp_path / "d.br").mkdir()  # a directory named like a variant is not one: left alone
    listed: list[str] = []
    real = os.listdir

    def listing(path: str = ".") -> list[str]:
        listed.append(str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", listing)
    cf.puts([(f"{i}", f"new{i}".encode()) for i in range(20)] + [("d", b"x")])
    monkeypatch.setattr(os, "listdir", real)
    assert (str(tmp_path) in listed) == (mode == "listed")
    assert sorted(os.listdir(tmp_path)) == sorted([*(str(i) for i in range(20)), "d", "d.br"])
    assert cf.get([f"{i}" for i in range(20)], return_dict=True) == {f"{i}": f"new{i}".encode() for i in range(20)}


def test_same_key_twice_in_one_chunk_keeps_one_variant(tmp_path: Path, mode: str) -> None:
    cf = CloudFiles(f"file://{tmp_path}", num_threads=1)  # in order: the gzip write first
    items = [PutItem("dup", b"gz-bytes", encoding="gzip"), *(PutItem(f"k{i}", b"x") for i in range(10)),
             PutItem("dup", b"plain")]
    assert all(r.error is None for r in cf.interface.put_files(items))
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("dup")) == ["dup"]
    assert cf.get("dup") == b"plain"
