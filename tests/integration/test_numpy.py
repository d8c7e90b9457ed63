"""numpy and other buffer-protocol objects: put without a copy, get_into a caller's buffer.

Against file://, mem://, http:// (nginx, read-only: objects are written to its document root) and S3
(SeaweedFS). "No copy" is checked with tracemalloc, which numpy reports its allocations to: a put of a
64 MiB array must not allocate anything near 64 MiB.
"""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cloudfiles
from cloudfiles import CloudFiles

_counter = itertools.count()
SCHEMES = ["file", "mem", "http", "s3"]
# nginx serves the files of its root as stored (x.gz is another file): encodings are tested elsewhere
ENCODING_SCHEMES = ["file", "mem", "s3"]


class Target:
    """``reader`` reads objects; ``write(key, data, compress)`` stores them (through the document root for
    http, which is read-only through CloudFiles)."""

    def __init__(self, reader: CloudFiles, writer: CloudFiles) -> None:
        self.reader = reader
        self.writer = writer

    def write(self, key: str, data: Any, compress: str | None = None) -> None:
        self.writer.put(key, data, compress=compress)


@pytest.fixture(params=SCHEMES)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    n = next(_counter)
    if request.param == "file":
        cf = CloudFiles(f"file://{tmp_path}/np{n}")
        yield Target(cf, cf)
    elif request.param == "mem":
        cf = CloudFiles(f"mem://numpy/np{n}")
        yield Target(cf, cf)
        cloudfiles.clear_memory()
    elif request.param == "http":
        nginx = request.getfixturevalue("nginx")
        yield Target(CloudFiles(f"{nginx.url}/np{n}"), CloudFiles(f"file://{nginx.root}/np{n}"))
    else:
        server = request.getfixturevalue("s3_server")
        cf = CloudFiles(f"s3://{server.endpoint}/eco/np{n}", secrets=server.secrets)
        yield Target(cf, cf)


def _peak_during(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("scheme", ["file", "s3"])
def test_put_of_a_large_array_makes_no_copy(scheme: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    arr = np.random.default_rng(5).integers(0, 256, 64 * 2**20, dtype=np.uint8)
    assert _peak_during(lambda: arr.copy()) >= arr.nbytes  # tracemalloc does see numpy allocations
    if scheme == "file":
        cf = CloudFiles(f"file://{tmp_path}/nocopy")
    else:
        server = request.getfixturevalue("s3_server")
        cf = CloudFiles(f"s3://{server.endpoint}/eco/nocopy{next(_counter)}", secrets=server.secrets)
    cf.put("warm-up", b"x")  # engine, credentials, connection: not part of the measurement
    peak = _peak_during(lambda: cf.put("big", arr))
    assert peak < arr.nbytes // 16, f"put allocated {peak} bytes for a {arr.nbytes}-byte array"
    out = np.empty_like(arr)
    assert cf.get_into("big", out) == arr.nbytes
    np.testing.assert_array_equal(out, arr)


def test_mem_put_stores_a_snapshot() -> None:
    # mem:// keeps objects in this process: it must copy, or later writes to the array would show through
    cf = CloudFiles("mem://numpy/snapshot")
    arr = np.arange(10, dtype=np.int64)
    cf.put("a", arr)
    arr[:] = -1
    assert np.frombuffer(cf.get("a"), dtype=np.int64).tolist() == list(range(10))
    cloudfiles.clear_memory()


@pytest.mark.parametrize("target", ENCODING_SCHEMES, indirect=True)
@pytest.mark.parametrize("compress", [None, "gzip", "br", "zstd"])
def test_put_buffer_types_round_trip(target: Target, compress: str | None) -> None:
    grid = np.arange(300 * 200, dtype=np.float32).reshape(300, 200)
    target.write("grid", grid, compress=compress)
    target.write("bytearray", bytearray(b"abc" * 1000), compress=compress)
    target.write("view", memoryview(grid)[10:20], compress=compress)
    target.write("strided", grid[:, ::2], compress=compress)  # not contiguous: sent as one copy
    assert target.reader.get("grid") == grid.tobytes()
    assert target.reader.get("bytearray") == b"abc" * 1000
    assert target.reader.get("view") == grid[10:20].tobytes()
    assert target.reader.get("strided") == np.ascontiguousarray(grid[:, ::2]).tobytes()


def test_get_into_whole_object_and_ranges(target: Target) -> None:
    data = np.random.default_rng(6).random((128, 64))
    target.write("arr", data)

    out = np.empty_like(data)
    assert target.reader.get_into("arr", out) == data.nbytes
    np.testing.assert_array_equal(out, data)

    # a range lands in a smaller array: row 10..19 (end exclusive)
    row = data.strides[0]
    rows = np.zeros((10, 64))
    assert target.reader.get_into("arr", rows, start=10 * row, end=20 * row) == 10 * row
    np.testing.assert_array_equal(rows, data[10:20])

    # a bigger buffer: only its prefix is filled; views of a larger array work too
    big = np.full(data.size + 7, -1.0)
    assert target.reader.get_into("arr", big[:]) == data.nbytes
    np.testing.assert_array_equal(big[: data.size], data.ravel())
    assert (big[data.size :] == -1).all()

    buf = bytearray(16)
    assert target.reader.get_into({"path": "arr", "start": 0, "end": 16}, buf) == 16
    assert bytes(buf) == data.tobytes()[:16]


def test_get_into_batch_in_input_order(target: Target) -> None:
    arrays = {f"a{i}": np.full(100 + i, i, dtype=np.int32) for i in range(20)}
    for key, arr in arrays.items():
        target.write(key, arr)
    outs = {key: np.zeros_like(arr) for key, arr in arrays.items()}
    head = np.zeros(4, dtype=np.int32)
    specs: list[dict[str, Any]] = [{"path": key, "out": out} for key, out in outs.items()]
    specs.append({"path": "a19", "start": 0, "end": 16, "out": head})
    counts = target.reader.get_into(specs)
    assert counts == [arr.nbytes for arr in arrays.values()] + [16]
    for key, arr in arrays.items():
        np.testing.assert_array_equal(outs[key], arr)
    assert head.tolist() == [19] * 4


def test_get_into_errors(target: Target) -> None:
    target.write("small", np.arange(8, dtype=np.uint8))
    with pytest.raises(FileNotFoundError):
        target.reader.get_into("missing", bytearray(8))
    untouched = np.full(4, 9, dtype=np.uint8)
    with pytest.raises(ValueError, match="do not fit"):
        target.reader.get_into("small", untouched)
    assert (untouched == 9).all()
    with pytest.raises(TypeError, match="read-only"):
        target.reader.get_into("small", b"12345678")
    with pytest.raises(TypeError, match="contiguous"):
        target.reader.get_into("small", np.zeros((4, 4), dtype=np.uint8)[:, 0])


@pytest.mark.parametrize("target", ENCODING_SCHEMES, indirect=True)
def test_get_into_decodes_compressed_objects(target: Target) -> None:
    data = np.tile(np.arange(1000, dtype=np.int16), 50)
    for codec in ("gzip", "br", "zstd"):
        target.write(f"c-{codec}", data, compress=codec)
        out = np.empty_like(data)
        assert target.reader.get_into(f"c-{codec}", out) == data.nbytes
        np.testing.assert_array_equal(out, data)
