"""The compiled codec modules (cloudfiles._gzip / _brotli / _zstd) against reference implementations.

Oracles: stdlib gzip/zlib, the PyPI ``brotli`` and ``zstandard`` packages. No sockets.
"""

from __future__ import annotations

import contextlib
import gzip
import random
import struct
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import brotli
import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudfiles import _brotli, _gzip, _zstd
from cloudfiles.exceptions import CloudFilesError, DecompressedSizeError, DecompressionError

MiB = 1 << 20
CODECS: dict[str, ModuleType] = {"gzip": _gzip, "br": _brotli, "zstd": _zstd}
LEVELS = {"gzip": [0, 1, 6, 9, 12], "br": [0, 1, 5, 9, 11], "zstd": [-5, 1, 3, 10, 19]}
# Slow top levels only see small inputs.
FAST_LEVEL = {"gzip": 1, "br": 1, "zstd": 1}
BAD_LEVELS = {"gzip": [-1, 13, 100], "br": [-1, 12], "zstd": [23, 1000, -(1 << 20)]}


def oracle_decompress(name: str, data: bytes) -> bytes:
    if name == "gzip":
        return gzip.decompress(data)
    if name == "br":
        return brotli.decompress(data)
    return zstandard.ZstdDecompressor().decompress(data)


def oracle_compress(name: str, data: bytes) -> bytes:
    if name == "gzip":
        return gzip.compress(data, compresslevel=6)
    if name == "br":
        return brotli.compress(data, quality=5)
    return zstandard.ZstdCompressor(level=3).compress(data)


# -- data shapes -------------------------------------------------------------------------------------------


def make_data(shape: str, size: int, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    if shape == "random":
        return rng.bytes(size)
    if shape == "text":
        words = [b"cloud", b"files", b"bucket", b"volume", b"segment", b"mesh", b"skeleton", b"chunk",
                 b"the", b"of", b"and", b"0", b"42", b"gs://", b"s3://", b"\n"]
        idx = rng.integers(0, len(words), size // 3 + 1)
        return b" ".join(words[i] for i in idx)[:size]
    if shape == "zeros":
        return bytes(size)
    if shape == "sparse_numpy":
        n = size // 4
        arr = np.zeros(n, dtype=np.uint32)
        hot = rng.random(n) < 0.05
        arr[hot] = rng.integers(1, 1000, int(hot.sum()), dtype=np.uint32)
        return arr  # passed as the array itself
    raise AssertionError(shape)


def as_bytes(data: Any) -> bytes:
    return data.tobytes() if isinstance(data, np.ndarray) else bytes(data)


SHAPES = ["random", "text", "zeros", "sparse_numpy"]
SMALL_SIZES = [0, 1, 17, 4096, 70_000]  # 70 kB crosses the GIL-release threshold


@pytest.fixture(params=list(CODECS), ids=list(CODECS))
def codec(request: pytest.FixtureRequest) -> tuple[str, ModuleType]:
    return request.param, CODECS[request.param]


# -- round trips and interoperability ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", SMALL_SIZES)
def test_round_trip_every_level_small(codec: tuple[str, ModuleType], shape: str, size: int) -> None:
    name, mod = codec
    data = make_data(shape, size)
    raw = as_bytes(data)
    for level in LEVELS[name]:
        packed = mod.compress(data, level)
        assert isinstance(packed, bytes)
        assert mod.decompress(packed) == raw
        assert oracle_decompress(name, packed) == raw  # the reference decodes what we wrote


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [1 * MiB, 3 * MiB + 7])
def test_round_trip_default_and_fast_level_medium(
    codec: tuple[str, ModuleType], shape: str, size: int
) -> None:
    name, mod = codec
    data = make_data(shape, size, seed=size)
    raw = as_bytes(data)
    for level in (None, FAST_LEVEL[name]):
        packed = mod.compress(data, level)
        assert mod.decompress(packed) == raw
        assert oracle_decompress(name, packed) == raw
    assert mod.decompress(oracle_compress(name, raw)) == raw  # and we decode what the reference wrote


@pytest.mark.slow
def test_round_trip_64_mib(codec: tuple[str, ModuleType]) -> None:
    name, mod = codec
    rng = np.random.default_rng(64)
    # Half compressible text, half a sparse array: exercises long matches and literals.
    raw = as_bytes(make_data("text", 32 * MiB)) + as_bytes(make_data("sparse_numpy", 32 * MiB))
    assert len(raw) == 64 * MiB
    packed = mod.compress(raw, FAST_LEVEL[name])
    assert mod.decompress(packed) == raw
    assert oracle_decompress(name, packed) == raw
    # Streamed in 1-4 MiB chunks gives the same bytes.
    d = mod.Decompressor()
    pos, parts = 0, []
    while pos < len(packed):
        step = int(rng.integers(1 * MiB, 4 * MiB))
        parts.append(d.decompress(packed[pos : pos + step]))
        pos += step
    parts.append(d.finish())
    assert b"".join(parts) == raw


def test_default_levels_match_cloud_files() -> None:
    assert _gzip.DEFAULT_LEVEL == 9
    assert _brotli.DEFAULT_LEVEL == 5
    assert _zstd.DEFAULT_LEVEL == 3
    raw = as_bytes(make_data("text", 50_000))
    assert _gzip.compress(raw) == _gzip.compress(raw, 9)
    assert _brotli.compress(raw) == _brotli.compress(raw, 5)
    assert _zstd.compress(raw) == _zstd.compress(raw, 3)
    # Same level -> same stream as the references' encoders at that level for brotli (same algorithm).
    assert len(_brotli.compress(raw)) == pytest.approx(len(brotli.compress(raw, quality=5)), rel=0.05)


@pytest.mark.parametrize("level", [1, 6, 9])
def test_gzip_interop_stdlib_both_ways(level: int) -> None:
    raw = as_bytes(make_data("text", 300_000))
    ours = _gzip.compress(raw, level)
    assert gzip.decompress(ours) == raw
    assert zlib.decompress(ours, 31) == raw
    assert _gzip.decompress(gzip.compress(raw, compresslevel=level)) == raw
    co = zlib.compressobj(level, zlib.DEFLATED, 31)
    assert _gzip.decompress(co.compress(raw) + co.flush()) == raw


def test_gzip_header_fields_from_gzipfile() -> None:
    import io

    raw = b"header fields: name, mtime, comment-free" * 1000
    buf = io.BytesIO()
    with gzip.GzipFile(filename="some/name.txt", mode="wb", fileobj=buf, mtime=1234567890) as f:
        f.write(raw)
    assert _gzip.decompress(buf.getvalue()) == raw
    d = _gzip.Decompressor()
    assert d.decompress(buf.getvalue()) + d.finish() == raw


def test_gzip_multi_member_and_padding() -> None:
    a = as_bytes(make_data("text", 200_000, seed=1))
    b = as_bytes(make_data("random", 5_000, seed=2))
    c = b""
    # First member much larger than the last one's ISIZE: the output buffer has to grow.
    stream = _gzip.compress(a) + gzip.compress(b) + gzip.compress(c) + _gzip.compress(b"tail")
    assert gzip.decompress(stream) == a + b + c + b"tail"
    assert _gzip.decompress(stream) == a + b + c + b"tail"
    padded = gzip.compress(a) + b"\x00" * 7 + gzip.compress(b) + b"\x00" * 3
    assert gzip.decompress(padded) == a + b
    assert _gzip.decompress(padded) == a + b
    d = _gzip.Decompressor()
    assert b"".join(d.decompress(padded[i : i + 999]) for i in range(0, len(padded), 999)) == a + b
    assert d.eof
    assert d.finish() == b""


def test_gzip_isize_wrong_is_corrupt_not_trusted() -> None:
    raw = b"abc" * 10_000
    good = bytearray(gzip.compress(raw))
    # ISIZE smaller than the truth: the output buffer grows, then the trailer check fails -> corrupt.
    small = good[:-4] + struct.pack("<I", 10)
    with pytest.raises(DecompressionError):
        _gzip.decompress(bytes(small))
    # ISIZE larger than the data could ever hold: no huge allocation, just an error.
    big = good[:-4] + struct.pack("<I", 0xFFFF_FFF0)
    with pytest.raises(DecompressionError):
        _gzip.decompress(bytes(big))
    with pytest.raises(DecompressedSizeError):
        _gzip.decompress(bytes(big), max_size=1 * MiB)


@pytest.mark.parametrize("quality", [0, 5, 11])
def test_brotli_interop_both_ways(quality: int) -> None:
    raw = as_bytes(make_data("text", 150_000))
    assert brotli.decompress(_brotli.compress(raw, quality)) == raw
    assert _brotli.decompress(brotli.compress(raw, quality=quality)) == raw
    assert _brotli.decompress(brotli.compress(raw, quality=quality, lgwin=24, mode=brotli.MODE_TEXT)) == raw
    assert brotli.decompress(_brotli.compress(raw, quality, window=10)) == raw


def test_zstd_interop_frames() -> None:
    raw = as_bytes(make_data("text", 400_000))
    other = as_bytes(make_data("random", 30_000, seed=3))
    # Frame with content size, written by the reference.
    assert _zstd.decompress(zstandard.ZstdCompressor(level=5).compress(raw)) == raw
    # Frames without content size (streaming compressor) and with checksums.
    no_size = zstandard.ZstdCompressor(write_content_size=False, write_checksum=True).compress(raw)
    assert zstandard.get_frame_parameters(no_size).content_size == zstandard.CONTENTSIZE_UNKNOWN
    assert _zstd.decompress(no_size) == raw
    cobj = zstandard.ZstdCompressor(level=3).compressobj()
    streamed = cobj.compress(raw[:100_000]) + cobj.compress(raw[100_000:]) + cobj.flush()
    assert _zstd.decompress(streamed) == raw
    # Concatenated frames: known + unknown sizes, plus a skippable frame in the middle.
    skippable = struct.pack("<II", 0x184D2A50, 5) + b"skip!"
    known_known = _zstd.compress(raw) + skippable + zstandard.ZstdCompressor().compress(other)
    assert _zstd.decompress(known_known) == raw + other
    mixed = _zstd.compress(raw) + streamed + _zstd.compress(other)
    assert _zstd.decompress(mixed) == raw + raw + other
    # Ours decodes with the reference, and records size and checksum.
    ours = _zstd.compress(raw)
    params = zstandard.get_frame_parameters(ours)
    assert params.content_size == len(raw) and params.has_checksum
    assert zstandard.ZstdDecompressor().decompress(ours) == raw
    assert zstandard.get_frame_parameters(_zstd.compress(raw, checksum=False)).has_checksum is False


# -- buffer protocol and zero-copy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda raw: raw,
        lambda raw: bytearray(raw),
        lambda raw: memoryview(raw),
        lambda raw: memoryview(bytearray(raw)),
        lambda raw: np.frombuffer(raw, dtype=np.uint8),
        lambda raw: np.frombuffer(raw, dtype=np.float64),  # non-uint8 dtype
        lambda raw: np.frombuffer(raw, dtype=np.uint16).reshape(100, -1),  # 2-D, C-contiguous
    ],
    ids=["bytes", "bytearray", "memoryview", "rw-memoryview", "u8", "f64", "2d"],
)
def test_any_buffer_input(codec: tuple[str, ModuleType], make: Callable[[bytes], Any]) -> None:
    _name, mod = codec
    raw = as_bytes(make_data("text", 80_000))
    packed = mod.compress(make(raw))
    assert mod.decompress(packed) == raw
    assert mod.decompress(bytearray(packed)) == raw
    assert mod.decompress(np.frombuffer(packed, dtype=np.uint8)) == raw
    d = mod.Decompressor()
    assert d.decompress(memoryview(packed)) + d.finish() == raw


def test_readonly_numpy_and_noncontiguous(codec: tuple[str, ModuleType]) -> None:
    _name, mod = codec
    arr = np.arange(200_000, dtype=np.int64).reshape(400, 500)
    arr.flags.writeable = False
    assert mod.decompress(mod.compress(arr)) == arr.tobytes()
    strided = arr[:, ::3]  # not contiguous: copied once, in C order like .tobytes()
    assert not strided.flags.c_contiguous
    assert mod.decompress(mod.compress(strided)) == strided.tobytes()
    fortran = np.asfortranarray(arr)
    assert mod.decompress(mod.compress(fortran)) == fortran.tobytes(order="C")


def test_str_input_rejected(codec: tuple[str, ModuleType]) -> None:
    _, mod = codec
    with pytest.raises(TypeError):
        mod.compress("text is not bytes")
    with pytest.raises(TypeError):
        mod.decompress(12345)


def test_buffer_released_after_call(codec: tuple[str, ModuleType]) -> None:
    _, mod = codec
    buf = bytearray(as_bytes(make_data("text", 100_000)))
    packed = bytearray(mod.compress(buf))
    mod.decompress(packed)
    d = mod.Decompressor()
    d.decompress(packed)
    # A leaked buffer export would make resizing raise BufferError.
    buf.extend(b"more")
    packed.extend(b"more")
    with pytest.raises(DecompressionError):
        mod.decompress(b"")


def test_compress_does_not_copy_input(codec: tuple[str, ModuleType]) -> None:
    """Python-level allocations while compressing a 32 MiB array stay below 2x: the input is not copied."""
    name, mod = codec
    arr = np.zeros(32 * MiB // 8, dtype=np.float64)  # compresses to almost nothing
    arr[::4096] = 1.5
    tracemalloc.start()
    try:
        packed = mod.compress(arr, FAST_LEVEL[name])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(packed) < MiB
    # The output is reserved at the compress bound (~ input size, untouched pages cost nothing) and
    # shrunk; a copy of the input would add another 32 MiB.
    assert peak < 1.2 * arr.nbytes, peak


def test_whole_decompress_allocates_output_once() -> None:
    raw = as_bytes(make_data("text", 8 * MiB))
    for mod, slack in ((_gzip, 1.0), (_zstd, 1.0), (_brotli, 2.0)):
        # gzip (ISIZE) and zstd (frame header) know the size: exactly one output-sized allocation.
        # brotli does not: one buffer grown by doubling (realloc, no copy), so at most ~2x.
        packed = mod.compress(raw, 1)
        tracemalloc.start()
        try:
            out = mod.decompress(packed)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert out == raw
        assert len(raw) <= peak < slack * len(raw) + 64 * 1024, (mod.__name__, peak)


# -- streaming -----------------------------------------------------------------------------------------------


def random_chunks(data: bytes, rng: random.Random, max_chunk: int) -> Iterator[bytes]:
    pos = 0
    while pos < len(data):
        step = rng.randint(1, max_chunk)
        yield data[pos : pos + step]
        pos += step


@pytest.mark.parametrize("max_chunk", [1, 7, 4096, 200_000])
def test_streaming_random_chunks(codec: tuple[str, ModuleType], max_chunk: int) -> None:
    name, mod = codec
    size = 20_000 if max_chunk == 1 else 700_000
    raw = as_bytes(make_data("text", size)) + as_bytes(make_data("random", size // 10))
    for packed in (mod.compress(raw), oracle_compress(name, raw)):
        d = mod.Decompressor()
        assert not d.eof
        out = b"".join(d.decompress(c) for c in random_chunks(packed, random.Random(max_chunk), max_chunk))
        assert d.eof
        assert out + d.finish() == raw
        assert d.total_out == len(raw)


@pytest.mark.parametrize("name", ["gzip", "zstd"])  # brotli has no concatenation format
def test_streaming_concatenated(name: str) -> None:
    mod = CODECS[name]
    a, b = b"first member " * 1000, b"second" * 3
    packed = mod.compress(a) + mod.compress(b)
    if name == "zstd":
        cobj = zstandard.ZstdCompressor().compressobj()
        packed += cobj.compress(a) + cobj.flush()
    expect = a + b + (a if name == "zstd" else b"")
    d = mod.Decompressor()
    out = b"".join(d.decompress(c) for c in random_chunks(packed, random.Random(5), 300))
    assert out + d.finish() == expect


@pytest.mark.parametrize("cut", [1, 2, 10, "half", "last"])
def test_streaming_truncated_raises_at_finish(codec: tuple[str, ModuleType], cut: Any) -> None:
    _, mod = codec
    raw = as_bytes(make_data("text", 100_000))
    packed = mod.compress(raw)
    n = {"half": len(packed) // 2, "last": len(packed) - 1}.get(cut, cut)
    d = mod.Decompressor()
    out = d.decompress(packed[:n])
    assert raw.startswith(out)  # whatever came out so far is a correct prefix
    assert not d.eof
    with pytest.raises(DecompressionError, match="truncated"):
        d.finish()
    with pytest.raises(DecompressionError):
        mod.decompress(packed[:n])


def test_streaming_empty_and_after_finish(codec: tuple[str, ModuleType]) -> None:
    _, mod = codec
    d = mod.Decompressor()
    assert d.decompress(b"") == b""
    with pytest.raises(DecompressionError):
        d.finish()
    d = mod.Decompressor()
    d.decompress(mod.compress(b"x"))
    assert d.flush() == b""
    with pytest.raises(DecompressionError):
        d.decompress(mod.compress(b"y"))


def test_streaming_trailing_garbage(codec: tuple[str, ModuleType]) -> None:
    _name, mod = codec
    packed = mod.compress(b"payload" * 100) + b"GARBAGE!"
    with pytest.raises(DecompressionError):
        mod.decompress(packed)
    d = mod.Decompressor()
    with pytest.raises(DecompressionError):
        d.decompress(packed)
        d.finish()


def test_streaming_max_size(codec: tuple[str, ModuleType]) -> None:
    _, mod = codec
    raw = bytes(2 * MiB)
    packed = mod.compress(raw)
    d = mod.Decompressor(max_size=len(raw))
    assert d.max_size == len(raw)
    assert d.decompress(packed) + d.finish() == raw  # exactly at the limit is fine
    d = mod.Decompressor(max_size=len(raw) - 1)
    with pytest.raises(DecompressedSizeError):
        for chunk in random_chunks(packed, random.Random(1), 1000):
            d.decompress(chunk)
    # The limit counts across calls.
    d = mod.Decompressor(max_size=MiB)
    with pytest.raises(DecompressedSizeError):
        for chunk in random_chunks(packed, random.Random(2), 50):
            d.decompress(chunk)
    assert d.total_out <= MiB


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=5000), level=st.integers(0, 9), seed=st.integers(0, 2**32))
def test_property_round_trip_and_chunking(
    codec: tuple[str, ModuleType], data: bytes, level: int, seed: int
) -> None:
    name, mod = codec
    packed = mod.compress(data, level)
    assert mod.decompress(packed) == data
    assert oracle_decompress(name, packed) == data
    d = mod.Decompressor()
    out = b"".join(d.decompress(c) for c in random_chunks(packed, random.Random(seed), 64))
    assert out + d.finish() == data


# -- errors --------------------------------------------------------------------------------------------------


def test_errors_are_cloudfiles_errors() -> None:
    assert issubclass(DecompressionError, CloudFilesError)
    assert issubclass(DecompressionError, ValueError)
    assert issubclass(DecompressedSizeError, DecompressionError)


def test_empty_input(codec: tuple[str, ModuleType]) -> None:
    _, mod = codec
    for empty in (b"", bytearray(), memoryview(b""), np.zeros(0, dtype=np.uint8)):
        with pytest.raises(DecompressionError):
            mod.decompress(empty)


def test_wrong_magic() -> None:
    with pytest.raises(DecompressionError, match="magic"):
        _gzip.decompress(b"this is plain text, not gzip at all")
    with pytest.raises(DecompressionError, match="not zstd"):
        _zstd.decompress(b"this is plain text, not zstd at all")
    with pytest.raises(DecompressionError):
        _gzip.decompress(_zstd.compress(b"zstd is not gzip"))
    with pytest.raises(DecompressionError):
        _zstd.decompress(_gzip.compress(b"gzip is not zstd"))
    with pytest.raises(DecompressionError):
        _brotli.decompress(_gzip.compress(b"gzip is not brotli" * 100))
    d = _gzip.Decompressor()
    with pytest.raises(DecompressionError):
        d.decompress(b"not gzip data at all")


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_truncated(codec: tuple[str, ModuleType], where: float) -> None:
    _, mod = codec
    raw = as_bytes(make_data("text", 200_000))
    packed = mod.compress(raw)
    with pytest.raises(DecompressionError):
        mod.decompress(packed[: int(len(packed) * where)])
    with pytest.raises(DecompressionError):
        mod.decompress(packed[:-1])


def test_corrupt_checksummed_codecs_never_return_garbage() -> None:
    """gzip (CRC32 + ISIZE) and our zstd frames (content checksum) detect any flipped byte."""
    raw = as_bytes(make_data("text", 100_000))
    rng = random.Random(7)
    for mod in (_gzip, _zstd):
        packed = mod.compress(raw)
        for _ in range(30):
            bad = bytearray(packed)
            i = rng.randrange(20, len(bad) - 8)
            bad[i] ^= 1 << rng.randrange(8)
            try:
                out = mod.decompress(bytes(bad))
            except DecompressionError:
                continue
            assert out == raw  # only acceptable if the flip did not change the meaning


def test_corrupt_brotli() -> None:
    # Brotli has no checksum: a flipped byte may decode to different bytes, but never crashes, and
    # structurally broken data is reported.
    raw = as_bytes(make_data("text", 100_000))
    packed = _brotli.compress(raw)
    rng = random.Random(3)
    errors = 0
    for _ in range(30):
        bad = bytearray(packed)
        bad[rng.randrange(len(bad))] ^= 0xFF
        try:
            _brotli.decompress(bytes(bad))
        except DecompressionError:
            errors += 1
    assert errors > 0
    with pytest.raises(DecompressionError):
        _brotli.decompress(bytes(range(256)) * 10)


def test_invalid_levels(codec: tuple[str, ModuleType]) -> None:
    name, mod = codec
    for level in BAD_LEVELS[name]:
        with pytest.raises(ValueError):
            mod.compress(b"data", level)
    with pytest.raises(TypeError):
        mod.compress(b"data", "9")
    with pytest.raises(TypeError):
        mod.compress(b"data", 4.5)
    assert mod.MIN_LEVEL <= mod.DEFAULT_LEVEL <= mod.MAX_LEVEL


def test_invalid_max_size(codec: tuple[str, ModuleType]) -> None:
    _, mod = codec
    packed = mod.compress(b"data")
    with pytest.raises(ValueError):
        mod.decompress(packed, max_size=-1)
    with pytest.raises(TypeError):
        mod.decompress(packed, max_size="big")
    with pytest.raises(ValueError):
        mod.Decompressor(max_size=-5)
    assert mod.decompress(packed, max_size=None) == b"data"
    assert mod.decompress(packed, max_size=4) == b"data"
    with pytest.raises(DecompressedSizeError):
        mod.decompress(packed, max_size=3)
    assert mod.decompress(mod.compress(b""), max_size=0) == b""


# -- decompression bombs -------------------------------------------------------------------------------------


def _zeros_stream(compressor: Any, total: int, method: str = "compress") -> bytes:
    chunk = bytes(4 * MiB)
    parts = [getattr(compressor, method)(chunk) for _ in range(total // len(chunk))]
    return b"".join(parts)


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """1 GiB of zeros in each format, built without ever holding 1 GiB."""
    gib = 1 << 30
    member = _gzip.compress(bytes(64 * MiB), 1)
    co = zlib.compressobj(1, zlib.DEFLATED, 31)
    gz_single = _zeros_stream(co, gib) + co.flush()
    br = brotli.Compressor(quality=1)
    br_stream = _zeros_stream(br, gib, "process") + br.finish()
    zc = zstandard.ZstdCompressor(level=1).compressobj()
    zstd_stream = _zeros_stream(zc, gib) + zc.flush()  # no content size in the header
    return {
        "gzip": gz_single,
        "gzip-multi": member * 16,  # 16 members of 64 MiB
        "br": br_stream,
        "zstd": zstd_stream,
        "zstd-known": zstandard.ZstdCompressor(level=1).compress(bytes(gib // 8)) * 8,
    }


@pytest.mark.parametrize("kind", ["gzip", "gzip-multi", "br", "zstd", "zstd-known"])
def test_bomb_stops_at_max_size(bombs: dict[str, bytes], kind: str) -> None:
    mod = CODECS[kind.split("-")[0]]
    bomb = bombs[kind]
    assert len(bomb) < 8 * MiB
    tracemalloc.start()
    try:
        with pytest.raises(DecompressedSizeError):
            mod.decompress(bomb, max_size=MiB)
        d = mod.Decompressor(max_size=MiB)
        with pytest.raises(DecompressedSizeError):
            for i in range(0, len(bomb), 64 * 1024):
                d.decompress(bomb[i : i + 64 * 1024])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Never more than the limit (+ slack for the chunk slices above), nowhere near 1 GiB.
    assert peak < 4 * MiB, peak


# -- threads -------------------------------------------------------------------------------------------------


def test_concurrent_use_from_threads(codec: tuple[str, ModuleType]) -> None:
    """Pooled contexts are never shared: many threads compressing/decompressing get correct results."""
    name, mod = codec
    inputs = [as_bytes(make_data("text", 100_000 + i * 1000, seed=i)) for i in range(16)]

    def work(i: int) -> bool:
        raw = inputs[i % len(inputs)]
        level = LEVELS[name][i % 3]
        packed = mod.compress(raw, level)
        return mod.decompress(packed) == raw and oracle_decompress(name, packed) == raw

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(64)))


def test_decompressor_rejects_concurrent_use() -> None:
    raw = as_bytes(make_data("random", 16 * MiB))
    packed = _gzip.compress(raw, 1)
    d = _gzip.Decompressor()
    errors: list[BaseException] = []
    started = threading.Event()

    def feed() -> None:
        started.set()
        try:
            d.decompress(packed)
        except BaseException as err:  # pragma: no cover - only on the losing side of the race
            errors.append(err)

    t = threading.Thread(target=feed)
    t.start()
    started.wait()
    # RuntimeError: the other thread was inside decompress(): refused, not corrupted
    with contextlib.suppress(RuntimeError):
        d.decompress(b"")
    t.join()
    assert not errors
