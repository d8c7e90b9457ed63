"""cloudfiles.compression: the cloud-files-compatible names, codecs and transcode. No sockets."""

from __future__ import annotations

import bz2
import gzip
import inspect
import lzma
import random
from typing import Any

import brotli
import numpy as np
import pytest
import zstandard

from cloudfiles import _brotli, _gzip, _zstd, compression
from cloudfiles.compression import (
    COMPRESSION_TYPES,
    FILE_SUFFIXES,
    compress,
    decompress,
    decompressor,
    encoding_from_suffix,
    encoding_header,
    normalize_encoding,
    transcode,
)
from cloudfiles.exceptions import (
    CloudFilesError,
    DecompressedSizeError,
    DecompressionError,
    UnsupportedCompressionType,
)

MiB = 1 << 20
TEXT = b"".join(b"line %d of a text file in a bucket\n" % i for i in range(20_000))

ORACLE_DECODE = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda b: zstandard.ZstdDecompressor().decompress(b),
    "bz2": bz2.decompress,
    "xz": lzma.decompress,
}
ORACLE_ENCODE = {
    "gzip": gzip.compress,
    "br": brotli.compress,
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
    "bz2": bz2.compress,
    "xz": lzma.compress,
}


def test_compression_types_exact() -> None:
    assert COMPRESSION_TYPES == [None, False, True, "", "bz2", "bzip2", "gzip", "br", "zstd", "xz", "lzma"]


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None), (False, None), ("", None), (0, None), ("identity", None), ("IDENTITY", None),
        (True, "gzip"), (1, "gzip"), ("gzip", "gzip"), ("GZIP", "gzip"), (" gzip ", "gzip"), ("x-gzip", "gzip"),
        ("br", "br"), ("Br", "br"), ("zstd", "zstd"), ("ZSTD", "zstd"),
        ("bz2", "bz2"), ("bzip2", "bz2"), ("BZIP2", "bz2"), ("xz", "xz"), ("lzma", "xz"), ("LZMA", "xz"),
        ("aws-chunked", None), ("aws-chunked,gzip", "gzip"), ("gzip, aws-chunked", "gzip"),
        ("aws-chunked, BR", "br"), ("aws-chunked,zstd", "zstd"),
    ],
)
def test_normalize_encoding(value: Any, expected: str | None) -> None:
    assert normalize_encoding(value) == expected


@pytest.mark.parametrize("value", ["deflate", "lz4", "gzip, br", 2, -1, 3.5, object(), "snappy"])
def test_normalize_encoding_unknown(value: Any) -> None:
    with pytest.raises(UnsupportedCompressionType) as info:
        normalize_encoding(value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, CloudFilesError)


def test_every_compression_type_round_trips() -> None:
    for method in COMPRESSION_TYPES:
        packed = compress(TEXT, method)
        enc = normalize_encoding(method)
        if enc is None:
            assert packed is TEXT  # no method: content returned unchanged
        else:
            assert len(packed) < len(TEXT)
            assert ORACLE_DECODE[enc](packed) == TEXT
        assert decompress(packed, method) == TEXT


@pytest.mark.parametrize("enc", ["gzip", "br", "zstd", "bz2", "xz"])
def test_interop_with_references(enc: str) -> None:
    assert decompress(ORACLE_ENCODE[enc](TEXT), enc) == TEXT
    assert ORACLE_DECODE[enc](compress(TEXT, enc)) == TEXT


def test_default_levels() -> None:
    assert compression.DEFAULT_LEVELS == {"gzip": 9, "br": 5, "zstd": 3, "bz2": 9, "xz": 6}
    assert compress(TEXT, "gzip") == _gzip.compress(TEXT, 9)
    assert compress(TEXT, True) == _gzip.compress(TEXT, 9)
    assert compress(TEXT, "br") == _brotli.compress(TEXT, 5)
    assert compress(TEXT, "zstd") == _zstd.compress(TEXT, 3)
    assert compress(TEXT, "bz2") == bz2.compress(TEXT, 9)
    assert compress(TEXT, "xz") == lzma.compress(TEXT, preset=6)


@pytest.mark.parametrize(
    "method, levels",
    [("gzip", [0, 1, 6, 12]), ("br", [0, 6, 11]), ("zstd", [-3, 1, 19]), ("bz2", [1, 5, 9]), ("xz", [0, 3, 9])],
)
def test_levels(method: str, levels: list[int]) -> None:
    direct = {
        "gzip": _gzip.compress,
        "br": _brotli.compress,
        "zstd": _zstd.compress,
        "bz2": bz2.compress,
        "xz": lambda data, level: lzma.compress(data, preset=level),
    }[method]
    outputs = set()
    for level in levels:
        packed = compress(TEXT, method, compress_level=level)
        assert packed == direct(TEXT, level)  # the level reaches the codec
        assert decompress(packed, method) == TEXT
        assert ORACLE_DECODE[method](packed) == TEXT
        outputs.add(packed)
    assert len(outputs) == len(levels)


def test_gzip_level_minus_one_is_the_zlib_default() -> None:
    # cloud-files accepted compression_level=-1 for gzip (its libdeflate binding read it as 6)
    assert compress(TEXT, "gzip", compress_level=-1) == _gzip.compress(TEXT, 6)
    assert gzip.decompress(compress(TEXT, True, compress_level=-1)) == TEXT


@pytest.mark.parametrize("method, level", [("gzip", 13), ("br", 12), ("zstd", 99), ("bz2", 0), ("bz2", 10), ("xz", 10)])
def test_invalid_level_is_value_error(method: str, level: int) -> None:
    with pytest.raises(ValueError):
        compress(TEXT, method, compress_level=level)


def test_compress_accepts_str_and_buffers() -> None:
    assert decompress(compress("héllo wörld", "gzip"), "gzip") == "héllo wörld".encode()
    arr = np.arange(10_000, dtype=np.float32)
    for method in ("gzip", "br", "zstd", "bz2", "xz"):
        assert decompress(compress(arr, method), method) == arr.tobytes()
        assert decompress(memoryview(compress(bytearray(TEXT), method)), method) == TEXT


def test_unknown_method_and_encoding() -> None:
    with pytest.raises(UnsupportedCompressionType):
        compress(TEXT, "lz4")
    with pytest.raises(ValueError):
        compress(TEXT, "deflate")
    with pytest.raises(UnsupportedCompressionType):
        decompress(b"data", "snappy")


def test_decompress_without_encoding_returns_content() -> None:
    for enc in (None, False, "", "identity"):
        assert decompress(TEXT, enc) is TEXT
    assert decompress(b"", None) == b""


@pytest.mark.parametrize("enc", ["gzip", "br", "zstd", "bz2", "xz"])
def test_empty_body_with_encoding(enc: str) -> None:
    with pytest.raises(DecompressionError, match=r"zero bytes.*some/file"):
        decompress(b"", enc, "some/file")


def test_gzip_requires_magic() -> None:
    with pytest.raises(DecompressionError, match="magic"):
        decompress(b"plain text stored as if it were gzip", "gzip")
    with pytest.raises(DecompressionError, match=r"obj.gz"):
        decompress(b"plain text stored as if it were gzip", "gzip", filename="obj.gz")


@pytest.mark.parametrize("enc", ["gzip", "br", "zstd", "bz2", "xz"])
def test_corrupt_and_truncated(enc: str) -> None:
    packed = compress(TEXT, enc)
    with pytest.raises(DecompressionError):
        decompress(packed[: len(packed) // 2], enc)
    with pytest.raises(DecompressionError):
        decompress(packed[:-1], enc)
    with pytest.raises(DecompressionError):
        decompress(bytes(range(256)) * 4, enc)


@pytest.mark.parametrize("enc", ["gzip", "br", "zstd", "bz2", "xz"])
def test_max_size(enc: str) -> None:
    raw = bytes(8 * MiB)
    packed = compress(raw, enc, compress_level=1)
    assert decompress(packed, enc, max_size=len(raw)) == raw
    assert decompress(packed, enc, max_size=None) == raw
    with pytest.raises(DecompressedSizeError):
        decompress(packed, enc, max_size=len(raw) - 1)
    with pytest.raises(DecompressedSizeError):
        decompress(packed, enc, "f", max_size=MiB)


def test_bz2_xz_concatenated_streams() -> None:
    a, b = TEXT, b"second stream"
    assert decompress(bz2.compress(a) + bz2.compress(b), "bz2") == a + b
    assert decompress(lzma.compress(a) + lzma.compress(b), "xz") == a + b
    assert decompress(lzma.compress(a) + b"\x00" * 8 + lzma.compress(b), "xz") == a + b  # stream padding
    assert decompress(lzma.compress(a, format=lzma.FORMAT_ALONE), "lzma") == a  # legacy .lzma
    with pytest.raises(DecompressionError):
        decompress(bz2.compress(a) + b"trailing junk", "bz2")


def test_bz2_xz_bomb_bounded() -> None:
    bomb = bz2.compress(bytes(256 * MiB), 1)
    assert len(bomb) < MiB
    with pytest.raises(DecompressedSizeError):
        decompress(bomb, "bz2", max_size=MiB)
    xz_bomb = lzma.compress(bytes(64 * MiB), preset=0)
    with pytest.raises(DecompressedSizeError):
        decompress(xz_bomb, "xz", max_size=MiB)


def test_cloud_files_helper_signatures() -> None:
    params = {
        "gzip_compress": ["content", "compresslevel"],
        "gunzip": ["content", "max_size"],
        "brotli_compress": ["content", "quality"],
        "brotli_decompress": ["content", "max_size"],
        "zstd_compress": ["content", "level"],
        "zstd_decompress": ["content", "max_size"],
        "bz2_compress": ["content", "compresslevel"],
        "bz2_decompress": ["content", "max_size"],
        "xz_compress": ["content", "preset"],
        "xz_decompress": ["content", "max_size"],
        "compress": ["content", "method", "compress_level"],
        "decompress": ["content", "encoding", "filename", "max_size"],
        "transcode": ["files", "encoding", "level", "progress", "in_place"],
    }
    for name, expected in params.items():
        assert list(inspect.signature(getattr(compression, name)).parameters) == expected, name
    sig = inspect.signature(compress)
    assert sig.parameters["method"].default == "gzip" and sig.parameters["compress_level"].default is None
    assert inspect.signature(decompress).parameters["filename"].default == "N/A"
    for name in ("gzip_compress", "brotli_compress", "zstd_compress", "bz2_compress", "xz_compress"):
        fn = getattr(compression, name)
        assert ORACLE_DECODE[name.split("_")[0].replace("brotli", "br")](fn(TEXT)) == TEXT
    assert compression.gunzip(gzip.compress(TEXT)) == TEXT
    assert compression.brotli_decompress(brotli.compress(TEXT)) == TEXT
    assert compression.zstd_decompress(zstandard.ZstdCompressor().compress(TEXT)) == TEXT
    assert compression.bz2_decompress(bz2.compress(TEXT)) == TEXT
    assert compression.xz_decompress(lzma.compress(TEXT)) == TEXT


def test_suffixes_and_headers() -> None:
    assert FILE_SUFFIXES == {None: "", "gzip": ".gz", "br": ".br", "zstd": ".zstd", "bz2": ".bz2", "xz": ".xz"}
    assert encoding_from_suffix("a/b/c.gz") == "gzip"
    assert encoding_from_suffix("c.zstd") == "zstd"
    assert encoding_from_suffix("c.json") is None
    assert encoding_header("bzip2", "s3") == "bzip2"
    assert encoding_header("bz2", "s3") == "bzip2"
    assert encoding_header("bz2", "gs") == "bz2"
    assert encoding_header(True, "s3") == "gzip"
    assert encoding_header("lzma", "gs") == "xz"
    assert encoding_header(None, "s3") is None
    for enc in compression.ENCODINGS:
        assert normalize_encoding(encoding_header(enc, "s3")) == enc
        assert normalize_encoding(encoding_header(enc, "gs")) == enc


# -- streaming ---------------------------------------------------------------------------------------------


def _chunks(data: bytes, seed: int, max_chunk: int) -> list[bytes]:
    rng = random.Random(seed)
    out, pos = [], 0
    while pos < len(data):
        step = rng.randint(1, max_chunk)
        out.append(data[pos : pos + step])
        pos += step
    return out


@pytest.mark.parametrize("enc", ["gzip", "br", "zstd", "bz2", "xz", "bzip2", "lzma", True])
def test_decompressor_streams(enc: Any) -> None:
    packed = compress(TEXT, enc)
    d = decompressor(enc)
    out = b"".join(d.decompress(c) for c in _chunks(packed, 1, 5000))
    assert d.eof
    assert out + d.finish() == TEXT


def test_decompressor_identity() -> None:
    for enc in (None, "", False, "identity"):
        d = decompressor(enc, max_size=10)
        assert d.decompress(b"12345") + d.decompress(bytearray(b"6789")) == b"123456789"
        assert d.finish() == b""
        with pytest.raises(DecompressedSizeError):
            d.decompress(b"ab")


@pytest.mark.parametrize("enc", ["gzip", "br", "zstd", "bz2", "xz"])
def test_decompressor_truncated_and_bounded(enc: str) -> None:
    packed = compress(TEXT, enc)
    d = decompressor(enc)
    d.decompress(packed[:-3])
    assert not d.eof
    with pytest.raises(DecompressionError):
        d.finish()
    d = decompressor(enc, max_size=1000)
    with pytest.raises(DecompressedSizeError):
        for c in _chunks(packed, 2, 700):
            d.decompress(c)


def test_decompressor_unknown() -> None:
    with pytest.raises(UnsupportedCompressionType):
        decompressor("lz4")


# -- transcode ---------------------------------------------------------------------------------------------


def test_transcode_raw_dicts() -> None:
    files = [
        {"path": "a", "content": compress(TEXT, "gzip"), "raw": True, "compress": "gzip", "error": None},
        {"path": "b", "content": compress(TEXT, "br"), "raw": True, "compress": "br"},
        {"path": "c", "content": TEXT, "raw": True, "compress": None},
        {"path": "d", "content": None, "raw": True, "compress": None},
    ]
    out = list(transcode(files, "zstd"))
    assert [f["path"] for f in out] == ["a", "b", "c", "d"]
    for f in out[:3]:
        assert f["raw"] is True and f["compress"] == "zstd"
        assert decompress(f["content"], "zstd") == TEXT
    assert out[3]["content"] is None
    assert out[0]["error"] is None  # other keys are kept
    assert files[0]["compress"] == "gzip"  # not in place: inputs untouched


def test_transcode_same_encoding_is_a_pass_through() -> None:
    packed = compress(TEXT, "gzip")
    f = {"path": "a", "content": packed, "raw": True, "compress": "gzip"}
    (out,) = transcode([f], True)
    assert out["content"] is packed
    (out,) = transcode([dict(f, compress="GZIP")], "gzip")
    assert out["content"] is packed and out["compress"] == "gzip"


def test_transcode_tuples_and_decoded_dicts() -> None:
    out = list(transcode([("x", TEXT), ("y", b"")], "br", level=2))
    assert out[0] == {"path": "x", "content": _brotli.compress(TEXT, 2), "compress": "br", "raw": True}
    assert decompress(out[1]["content"], "br") == b""
    # A dict that is not raw holds decoded content: compressed as is.
    (out2,) = transcode({"path": "z", "content": TEXT, "raw": False, "compress": "gzip"}, "xz")
    assert decompress(out2["content"], "xz") == TEXT


def test_transcode_to_identity_and_in_place() -> None:
    f = {"path": "a", "content": compress(TEXT, "bz2"), "raw": True, "compress": "bzip2"}
    (out,) = transcode([f], None, in_place=True)
    assert out is f
    assert f["content"] == TEXT and f["compress"] is None and f["raw"] is True


def test_transcode_is_lazy_and_reports_bad_items() -> None:
    def gen() -> Any:
        yield {"path": "ok", "content": compress(TEXT, "gzip"), "raw": True, "compress": "gzip"}
        yield {"path": "bad.gz", "content": b"not gzip", "raw": True, "compress": "gzip"}

    it = transcode(gen(), "zstd")
    assert next(it)["path"] == "ok"
    with pytest.raises(DecompressionError, match=r"bad.gz"):
        next(it)


def test_transcode_progress(capsys: pytest.CaptureFixture[str]) -> None:
    out = list(transcode([("a", TEXT)], "gzip", progress="Recoding"))
    assert decompress(out[0]["content"], "gzip") == TEXT
    assert "Recoding" in capsys.readouterr().err
