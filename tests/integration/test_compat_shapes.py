"""Shapes a script written for cloud-files 6.4.3 can tell apart, checked on file:// and mem://.

The expected values were read off cloud-files 6.4.3 running the same calls (tests never need it
installed): listing order, slices over listings, and the ``compress`` names in get results.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from cloudfiles import CloudFiles

FILES = [("b3", b"xxx"), ("b1", b"x"), ("b2", b"xx"), ("a/z", b"1"), ("a/y", b"2"), ("c.txt", b"hi")]
FILES += [("zz/q/r", b"3"), ("a.txt", b"dot"), ("a-b", b"dash")]


@pytest.fixture(params=["file", "mem"])
def cf(request: pytest.FixtureRequest, tmp_path: Any) -> CloudFiles:
    path = f"file://{tmp_path}/shapes" if request.param == "file" else f"mem://shapes/{tmp_path.name}"
    cf = CloudFiles(path)
    cf.puts(FILES)
    cf.put("a", b"plain", compress="gzip")  # a.gz on disk, beside the directory a/; listed as "a"
    cf.put("g", b"gz" * 50, compress="gzip")
    cf.put("j", b"bz" * 50, compress="bz2")
    return cf


def test_list_is_sorted_by_full_name(cf: CloudFiles) -> None:
    # '-' and '.' sort before '/', so a.txt and a-b come before everything under a/ (cloud-files
    # sorted the whole listing; ours walks one directory at a time in that same order).
    expected = ["a", "a-b", "a.txt", "a/y", "a/z", "b1", "b2", "b3", "c.txt", "g", "j", "zz/q/r"]
    assert list(cf.list()) == expected
    assert list(cf) == expected
    assert list(cf.list("a")) == ["a", "a-b", "a.txt", "a/y", "a/z"]
    assert list(cf.list("a/")) == ["a/y", "a/z"]
    assert list(cf.list(flat=True)) == ["a", "a-b", "a.txt", "a/", "b1", "b2", "b3", "c.txt", "g", "j", "zz/"]
    assert [name for name, _ in cf.list("b", size=True)] == ["b1", "b2", "b3"]


def test_file_prefix_matches_the_name_on_disk(tmp_path: Any) -> None:
    cf = CloudFiles(f"file://{tmp_path}/ondisk")
    cf.put("packed", b"x" * 100, compress="gzip")
    cf.put("plain", b"y")
    assert list(cf.list("packed.gz")) == ["packed"]  # cloud-files filtered on disk names, then stripped
    assert list(cf.list("packed.")) == ["packed"]
    assert list(cf.list("pa")) == ["packed"]
    assert list(cf.list("pl")) == ["plain"]


def test_slices_follow_the_listing(cf: CloudFiles) -> None:
    first = cf[:3]
    assert sorted(r["path"] for r in first) == ["a", "a-b", "a.txt"]
    stepped = cf[3:9:2]
    assert sorted((r["path"], r["content"]) for r in stepped) == [("a/y", b"2"), ("b1", b"x"), ("b3", b"xxx")]
    assert cf["b3", 1:3] == b"xx"
    assert len(cf[:]) == 12
    assert list(itertools.islice(cf, 2)) == ["a", "a-b"]


def test_compress_names_as_cloud_files_gives_them(cf: CloudFiles) -> None:
    raw = {r["path"]: r for r in cf.get(["b1", "g", "j", "missing"], raw=True)}
    assert raw["b1"]["compress"] is None
    assert raw["g"]["compress"] == "gzip"
    assert raw["j"]["compress"] == "bzip2"  # file/mem name the .bz2 suffix "bzip2"
    assert raw["missing"]["compress"] is None and raw["missing"]["content"] is None
    decoded = {r["path"]: r for r in cf.get(["j"])}
    assert decoded["j"]["content"] == b"bz" * 50 and decoded["j"]["compress"] == "bzip2"


def test_mem_raw_put_keeps_the_object() -> None:
    # CloudVolume keeps numpy arrays on mem:// with raw=True and expects the array itself back, as
    # cloud-files' memory store gave it (Fortran order and dtype intact, no bytes in between).
    import numpy as np

    cf = CloudFiles("mem://shapes-objects/d")
    arr = np.asfortranarray(np.arange(24, dtype=np.uint16).reshape(2, 3, 4))
    cf.put("arr", arr, raw=True)
    got = cf.get("arr", raw=True)
    assert got is arr and got.flags["F_CONTIGUOUS"]
    assert cf.size("arr") == arr.nbytes
    cf.puts([("obj", {"any": "python object"})], raw=True)
    assert cf.get("obj", raw=True) == {"any": "python object"}
    # without raw the bytes are a snapshot: later changes to the caller's buffer do not leak in
    buf = bytearray(b"abc")
    cf.put("buf", buf)
    buf[0] = ord("X")
    assert cf.get("buf") == b"abc"
