"""cloudfiles.lib: hashing vectors, iteration helpers, JSON, filesystem chores."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import time

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudfiles import lib


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_GCE_CHECK", "True")


def _crc32c_reference(data: bytes, crc: int = 0) -> int:
    """Bit-at-a-time CRC32C straight from the definition (reflected poly 0x82F63B78)."""
    reg = crc ^ 0xFFFFFFFF
    for byte in data:
        reg ^= byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0x82F63B78 if reg & 1 else reg >> 1
    return reg ^ 0xFFFFFFFF


# --------------------------------------------------------------------------------------------------------
# md5 / ETags
# --------------------------------------------------------------------------------------------------------


def test_md5_vectors() -> None:
    assert lib.md5(b"") == "1B2M2Y8AsgTpgAmY7PhCfg=="
    assert lib.md5(b"", base=16) == "d41d8cd98f00b204e9800998ecf8427e"
    assert lib.md5(b"abc", base=16) == "900150983cd24fb0d6963f7d28e17f72"
    assert lib.md5(b"abc", base64=False) == lib.md5(b"abc", base=16)
    assert lib.md5(b"abc", base64=True) == lib.md5(b"abc", base=64) == lib.md5(b"abc")
    with pytest.raises(ValueError):
        lib.md5(b"abc", base=32)
    assert lib.md5("abc") == lib.md5(b"abc")  # str is UTF-8 encoded
    assert lib.md5(bytearray(b"abc")) == lib.md5(memoryview(b"abc")) == lib.md5(b"abc")
    assert lib.md5(b"abc") == base64.b64encode(bytes.fromhex("900150983cd24fb0d6963f7d28e17f72")).decode()


def test_md5_equal() -> None:
    hexd = "900150983cd24fb0d6963f7d28e17f72"
    b64 = lib.md5(b"abc")
    assert lib.md5_equal(hexd, b64)
    assert lib.md5_equal(f'"{hexd}"', b64)  # S3 ETag with quotes
    assert lib.md5_equal(b64.rstrip("="), hexd)  # unpadded base64
    assert lib.md5_equal(hexd.upper(), hexd)
    assert lib.md5_equal(hashlib.md5(b"abc").digest(), hexd)
    assert not lib.md5_equal(hexd, lib.md5(b"abd"))
    assert not lib.md5_equal(None, hexd)
    assert not lib.md5_equal(hexd, None)
    assert not lib.md5_equal("garbage", "garbage")
    assert not lib.md5_equal(f"{hexd}-2", hexd)  # multipart ETags are not plain MD5s


def test_calc_s3_multipart_etag_hand_computed() -> None:
    # b"a"*10 in 4-byte parts: md5(md5("aaaa") + md5("aaaa") + md5("aa")) + "-3"
    assert lib.calc_s3_multipart_etag(b"a" * 10, 4) == "1c06f341515fe359bacc890ca66aa673-3"
    content = bytes(range(256)) * 40
    assert lib.calc_s3_multipart_etag(content, 4096) == "b9a4d6e74e6be4117e4726aa450242ec-3"


def test_calc_s3_multipart_etag_matches_definition() -> None:
    content = os.urandom(10_000)
    parts = [content[i : i + 3000] for i in range(0, len(content), 3000)]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-4"
    assert lib.calc_s3_multipart_etag(content, 3000) == expected
    assert lib.calc_s3_multipart_etag(memoryview(content), 3000) == expected
    # A single part still uses the multipart formula.
    single = hashlib.md5(hashlib.md5(b"xyz").digest()).hexdigest() + "-1"
    assert lib.calc_s3_multipart_etag(b"xyz", 100) == single
    with pytest.raises(ValueError):
        lib.calc_s3_multipart_etag(b"x", 0)


def test_validate_s3_multipart_etag() -> None:
    mib = 1 << 20
    content = np.random.default_rng(1).integers(0, 256, 20 * mib + 123, dtype=np.uint8).tobytes()
    boto = lib.calc_s3_multipart_etag(content, 8 * mib)  # 3 parts
    assert lib.validate_s3_multipart_etag(content, boto)
    assert lib.validate_s3_multipart_etag(content, f'"{boto}"')
    s3cmd = lib.calc_s3_multipart_etag(content, 15 * mib)  # 2 parts
    assert lib.validate_s3_multipart_etag(content, s3cmd)
    odd = lib.calc_s3_multipart_etag(content, 5 * mib + 7)  # unusual client part size
    assert not lib.validate_s3_multipart_etag(content, odd)
    assert lib.validate_s3_multipart_etag(content, odd, part_size=5 * mib + 7)
    rounded = lib.calc_s3_multipart_etag(content, 7 * mib)  # ceil(size / 3) rounded up to a MiB
    assert lib.validate_s3_multipart_etag(content, rounded)
    assert not lib.validate_s3_multipart_etag(content[:-1], boto)
    assert not lib.validate_s3_multipart_etag(content, "d41d8cd98f00b204e9800998ecf8427e")
    assert not lib.validate_s3_multipart_etag(content, "abc-x")


# --------------------------------------------------------------------------------------------------------
# crc32c
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0x00000000),
        (b"123456789", 0xE3069283),
        (b"\x00" * 32, 0x8A9136AA),  # RFC 3720 B.4
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
        (b"a", 0xC1D04330),
    ],
)
def test_crc32c_vectors(data: bytes, expected: int) -> None:
    assert lib.crc32c(data) == expected
    assert _crc32c_reference(data) == expected


def test_crc32c_backend_named() -> None:
    assert lib.CRC32C_BACKEND in ("google_crc32c", "crc32c", "numpy")


def _crc32c_oracle(data: bytes) -> int:
    """An independent implementation for inputs too long for the bit loop: the crc32c package."""
    import crc32c as crc32c_pkg

    return int(crc32c_pkg.crc32c(data))


@pytest.mark.parametrize("size", [1, 3, 4, 5, 4095, 4096, 4097, 65_537, 300_001])
def test_crc32c_matches_reference_across_paths(size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    ref = _crc32c_oracle(data)
    if size <= 5000:
        assert ref == _crc32c_reference(data)
    assert lib.crc32c(data) == ref
    assert lib.crc32c(bytearray(data)) == ref
    assert lib.crc32c(np.frombuffer(data, dtype=np.uint8)) == ref


def test_crc32c_large_segmented() -> None:
    size = (16 << 20) + 12_345
    data = np.random.default_rng(7).integers(0, 256, size, dtype=np.uint8).tobytes()
    whole = lib.crc32c(data)
    cut = 1_000_003
    assert lib.crc32c(data[cut:], lib.crc32c(data[:cut])) == whole
    assert lib.crc32c_combine(lib.crc32c(data[:cut]), lib.crc32c(data[cut:]), size - cut) == whole


@settings(max_examples=60, deadline=None)
@given(a=st.binary(max_size=300), b=st.binary(max_size=300))
def test_crc32c_extend_and_combine(a: bytes, b: bytes) -> None:
    whole = _crc32c_reference(a + b)
    assert lib.crc32c(a + b) == whole
    assert lib.crc32c(b, lib.crc32c(a)) == whole
    assert lib.crc32c_combine(lib.crc32c(a), lib.crc32c(b), len(b)) == whole


def test_crc32c_str_is_utf8() -> None:
    assert lib.crc32c("123456789") == 0xE3069283


def test_crc32c_is_fast_enough() -> None:
    data = os.urandom(8 << 20)
    lib.crc32c(data[:100_000])  # warm the tables
    start = time.perf_counter()
    lib.crc32c(data)
    # A byte-at-a-time Python loop would need ~1 s; the vectorised path takes ~20-50 ms.
    assert time.perf_counter() - start < 1.0


def test_crc32c_b64_roundtrip() -> None:
    # encode_crc32c_b64 takes the content (as in cloud-files) and returns bytes.
    assert lib.encode_crc32c_b64(b"123456789") == base64.b64encode(bytes.fromhex("e3069283"))
    assert lib.crc32c_to_b64(0xE3069283) == base64.b64encode(bytes.fromhex("e3069283")).decode()
    assert lib.decode_crc32c_b64(lib.crc32c_to_b64(0xE3069283)) == 0xE3069283
    assert lib.decode_crc32c_b64(lib.crc32c_to_b64(0x1).rstrip("=")) == 1  # padding stripped by GCS bug


# --------------------------------------------------------------------------------------------------------
# Iteration helpers
# --------------------------------------------------------------------------------------------------------


def test_toiter() -> None:
    assert lib.toiter("a") == ["a"]
    assert lib.toiter({"path": "a"}) == [{"path": "a"}]
    lst = ["a", "b"]
    assert lib.toiter(lst) is lst
    assert lib.toiter(5) == [5]
    assert lib.toiter("a", is_iter=True) == (["a"], False)
    assert lib.toiter({"path": "a"}, is_iter=True) == ([{"path": "a"}], False)
    assert lib.toiter(lst, is_iter=True) == (lst, True)
    assert lib.toiter(5, is_iter=True) == ([5], False)
    gen = (x for x in "ab")
    assert lib.toiter(gen, is_iter=True) == (gen, True)
    assert lib.toiter(("a",), is_iter=True)[1] is True
    assert lib.toiter({"a"}, is_iter=True)[1] is True


def test_sip_is_lazy_and_chunks() -> None:
    assert list(lib.sip(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(lib.sip([], 3)) == []
    assert list(lib.sip(range(6), 3)) == [[0, 1, 2], [3, 4, 5]]
    infinite = lib.sip(itertools.count(), 2)
    assert next(infinite) == [0, 1]
    assert next(infinite) == [2, 3]
    # cloud-files 6.4.3: a block size that is never reached (None, 0, negative) yields one block of everything
    for never in (None, 0, -1):
        assert list(lib.sip(range(3), never)) == [[0, 1, 2]]
        assert list(lib.sip(iter([]), never)) == []


def test_first() -> None:
    assert lib.first([3, 4]) == 3
    assert lib.first(x for x in [5, 6]) == 5
    assert lib.first({7}) == 7
    assert lib.first({"k": 1}) == "k"
    assert lib.first(x for x in []) is None
    assert lib.first([]) is None
    assert lib.first(set()) is None


def test_nvl() -> None:
    assert lib.nvl(None, 2, 3) == 2
    assert lib.nvl(0, 1) == 0
    assert lib.nvl(None, None) is None
    with pytest.raises(IndexError):
        lib.nvl(1)


def test_duplicates_and_scatter() -> None:
    assert lib.duplicates(["a", "b", "a", "c", "b", "a"]) == {"a", "b"}
    assert lib.duplicates([]) == set()
    assert list(lib.scatter(range(7), 3)) == [[0, 3, 6], [1, 4], [2, 5]]
    with pytest.raises(ValueError):
        list(lib.scatter([1], 0))


def test_totalfn_floating() -> None:
    assert lib.totalfn([1, 2], None) == 2
    assert lib.totalfn((x for x in []), None) is None
    assert lib.totalfn([1, 2], 10) == 10
    assert lib.floating([1, 2.0])
    assert not lib.floating([1, 2])


def test_human_size() -> None:
    assert lib.human_size(0) == "0 B"
    assert lib.human_size(1023) == "1023 B"
    assert lib.human_size(1536) == "1.50 KiB"
    assert lib.human_size(3 * 1024**3) == "3.00 GiB"
    assert lib.human_size(1500, binary=False) == "1.50 kB"
    assert lib.human_size(2**70).endswith("EiB")


# --------------------------------------------------------------------------------------------------------
# JSON, colours, filesystem
# --------------------------------------------------------------------------------------------------------


def test_jsonify() -> None:
    out = lib.jsonify({"a": np.arange(3, dtype=np.uint16), 1: np.float32(0.5), "s": "é"})
    assert isinstance(out, bytes)
    assert orjson.loads(out) == {"a": [0, 1, 2], "1": 0.5, "s": "é"}
    assert lib.jsonify([1], option=orjson.OPT_APPEND_NEWLINE) == b"[1]\n"


def test_colors() -> None:
    assert lib.red("x") == "\033[1;91mx\033[m"
    assert lib.green("x") == "\033[1;92mx\033[m"
    assert lib.yellow("x") == "\033[1;93mx\033[m"
    assert lib.colorize("YELLOW", "x") == lib.yellow("x")


def test_toabs(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert lib.toabs("~/a/") == os.path.join(str(tmp_path), "a")
    monkeypatch.chdir(tmp_path)
    assert lib.toabs("b") == os.path.join(os.getcwd(), "b")


def test_mkdir_and_touch(tmp_path: os.PathLike[str]) -> None:
    target = os.path.join(tmp_path, "x", "y", "z")
    assert lib.mkdir(target) == target
    assert os.path.isdir(target)
    assert lib.mkdir(target) == target  # idempotent
    f = os.path.join(tmp_path, "new", "dir", "file.txt")
    lib.touch(f)
    assert os.path.exists(f) and os.path.getsize(f) == 0
    os.utime(f, (1, 1))
    lib.touch(f)
    assert os.path.getmtime(f) > 1  # touch refreshes mtime
