"""Bad input gives a clear named error and writes nothing; secrets never leak into errors, reprs, logs
or progress output. Remote cases run against the real servers (through clean fault proxies)."""

from __future__ import annotations

import gzip
import logging
import zlib
from pathlib import Path
from typing import Any

import pytest
from faultenv import Servers

from cloudfiles import CloudFiles, compression
from cloudfiles.exceptions import (
    AuthorizationError,
    ClientError,
    CloudFilesError,
    DecompressedSizeError,
    DecompressionError,
    UnsafePathError,
    UnsupportedCompressionType,
    UnsupportedProtocolError,
)

FAKE_SECRET = "FAKE-SECRET-d3adb33f-cafe"


def local(kind: str, tmp_path: Path) -> CloudFiles:
    return CloudFiles(f"file://{tmp_path / 'root'}") if kind == "file" else CloudFiles(f"mem://{tmp_path.name}")


def listing(cf: CloudFiles) -> list[str]:
    return sorted(cf.list())


@pytest.mark.parametrize("path", [
    "", "nope://bucket/key", "s3://", "gs://", "ngauth+https://h/x", "s3://bad bucket name!/x",
])
def test_malformed_cloudpaths(path: str) -> None:
    with pytest.raises(UnsupportedProtocolError):
        CloudFiles(path)


@pytest.mark.parametrize("args,kwargs", [
    ((None,), {}), ((b"file:///tmp",), {}), (("mem://b",), {"request_payer": 5}),
])
def test_wrong_constructor_types(args: Any, kwargs: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        CloudFiles(*args, **kwargs).interface  # noqa: B018 - building the interface is the point


@pytest.mark.parametrize("kind", ["file", "mem", "s3", "gs"])
def test_unknown_codec_and_wrong_types_write_nothing(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    cf = local(kind, tmp_path) if kind in ("file", "mem") else request.getfixturevalue("servers").cf(kind)
    with pytest.raises(UnsupportedCompressionType):
        cf.put("a", b"data", compress="lz4")
    with pytest.raises(UnsupportedCompressionType):
        cf.puts([("b", b"1"), {"path": "c", "content": b"2", "compress": "snappy"}])
    with pytest.raises(TypeError):
        cf.put(123, b"data")  # type: ignore[arg-type]
    if kind != "mem":  # mem:// stores Python objects as they are, by design
        with pytest.raises(TypeError):
            cf.put("d", 12345)
    with pytest.raises(TypeError):
        cf.get([{"path": 5}])
    with pytest.raises(TypeError):
        cf.exists([5])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        cf.get(123)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cf.puts([("e", b"1"), ("e", b"2")])  # duplicate paths in one batch
    assert listing(cf) == []


@pytest.mark.parametrize("kind", ["s3", "gs", "http"])
def test_remote_ranges(kind: str, servers: Servers) -> None:
    cf = servers.cf(kind)
    data = bytes(range(256)) * 4
    servers.seed(kind, cf, {"r": data})
    got = {r["byte_range"]: r for r in cf.get([
        {"path": "r", "start": -5, "end": 3},  # a negative start needs an open end in HTTP
        {"path": "r", "start": 10, "end": -1},
        {"path": "r", "start": -10},  # a suffix range
        {"path": "r", "start": 10**15, "end": 10**16},  # past the end
        {"path": "r", "start": 1000, "end": 10**18},  # runs past the end
        {"path": "r", "start": 7, "end": 7},  # empty
    ], raise_errors=False)}
    assert isinstance(got[(-5, 3)]["error"], ValueError) and got[(-5, 3)]["content"] is None
    assert isinstance(got[(10, -1)]["error"], ValueError)
    assert got[(-10, None)]["content"] == data[-10:]
    assert got[(10**15, 10**16)]["content"] == b""
    assert got[(1000, 10**18)]["content"] == data[1000:]
    assert got[(7, 7)]["content"] == b""


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "/etc/escape", "a\\..\\..\\escape", "a\x00b"])
def test_file_keys_never_escape_the_root(tmp_path: Path, key: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    cf = CloudFiles(f"file://{root}")
    with pytest.raises(UnsafePathError):
        cf.put(key, b"x")
    with pytest.raises(UnsafePathError):
        cf.get(key)
    with pytest.raises(UnsafePathError):
        cf.delete(key)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["root"]


@pytest.mark.parametrize("kind", ["file", "mem", "s3", "gs"])
def test_odd_but_legal_keys_round_trip(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    cf = local(kind, tmp_path) if kind in ("file", "mem") else request.getfixturevalue("servers").cf(kind)
    keys = ["with space", "ünïcødé/字.bin", "semi;colon+plus=eq", "percent%2Fslash", "q?mark#hash", "dots..x"]
    cf.puts([(k, k.encode()) for k in keys])
    assert cf.get(keys, return_dict=True) == {k: k.encode() for k in keys}
    assert listing(cf) == sorted(keys)
    cf.delete(keys)
    assert listing(cf) == []


def test_s3_dot_segments_are_sent_as_given(servers: Servers) -> None:
    """curl would squash '/../' in the URL and so ask for another key than the one signed: the path
    is sent as built, and the server's own answer (SeaweedFS: 400) is the named error."""
    cf = servers.cf("s3")
    for key in ("../escape", "a/../escape", "./escape"):
        with pytest.raises(ClientError) as info:
            cf.put(key, b"x")
        assert info.value.status == 400 and key in info.value.url
    assert listing(cf) == []


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd", "bz2", "xz"])
def test_corrupt_compressed_data(encoding: str, tmp_path: Path) -> None:
    cf = CloudFiles(f"file://{tmp_path}")
    good = compression.compress(b"hello world " * 1000, encoding)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    cf.put("c", bytes(bad), raw=True, compress=encoding)
    cf.put("t", good[: len(good) // 2], raw=True, compress=encoding)
    for key in ("c", "t"):
        with pytest.raises(DecompressionError):
            cf.get(key)
    assert cf.get("c", raw=True) == bytes(bad)  # the stored bytes stay reachable, raw


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd", "bz2", "xz"])
def test_decompression_bomb_is_bounded(encoding: str) -> None:
    bomb = compression.compress(bytes(64 << 20), encoding)  # 64 MiB of zeros, a few KiB compressed
    assert len(bomb) < (1 << 20)
    with pytest.raises(DecompressedSizeError):
        compression.decompress(bomb, encoding, max_size=1 << 20)
    with pytest.raises(DecompressedSizeError):
        compression.decompressor(encoding, max_size=1 << 20).decompress(bomb)


def test_gzip_bomb_beyond_the_default_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Through get(): a body that inflates past the default guard is a DecompressedSizeError."""
    monkeypatch.setattr(compression, "DEFAULT_MAX_SIZE", 8 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = compressor.compress(bytes(32 << 20)) + compressor.flush()
    cf = CloudFiles(f"file://{tmp_path}")
    cf.put("bomb", bomb, raw=True, compress="gzip")
    assert gzip.decompress(bomb) == bytes(32 << 20)
    with pytest.raises(DecompressedSizeError):
        compression.decompress(bomb, "gzip", max_size=compression.DEFAULT_MAX_SIZE)


# -- credentials and secrets ------------------------------------------------------------------------
def all_text(err: BaseException) -> str:
    """Everything an error shows or carries: str, repr, args, attributes, the chain."""
    parts = [str(err), repr(err), repr(err.args)]
    parts += [repr(v) for v in vars(err).values()]
    cause = err.__cause__ or err.__context__
    if cause is not None:
        parts.append(all_text(cause))
    return "\n".join(parts)


def assert_no_secret(text: str) -> None:
    import base64

    assert FAKE_SECRET not in text
    assert base64.b64encode(f"test:{FAKE_SECRET}".encode()).decode() not in text


def test_wrong_s3_credentials(servers: Servers, caplog: pytest.LogCaptureFixture,
                              capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = {"AWS_ACCESS_KEY_ID": servers.seaweed.access_key, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET}
    cf = servers.cf("s3", secrets=secrets, progress=True)
    with pytest.raises(AuthorizationError) as info:
        cf.puts([("a", b"1"), ("b", b"2")])
    for fn in (lambda: cf.get(["a", "b"]), lambda: cf.exists(["a"]), lambda: list(cf.list())):
        with pytest.raises(AuthorizationError) as more:
            fn()
        assert_no_secret(all_text(more.value))
    assert_no_secret(all_text(info.value))
    assert_no_secret(repr(cf) + repr(cf.interface) + repr(vars(cf.interface).get("_signer")))
    out = capsys.readouterr()
    assert_no_secret(out.out + out.err + caplog.text)
    assert listing(servers.direct("s3", cf)) == []  # nothing written


def test_missing_s3_credentials(servers: Servers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    from cloudfiles.interfaces import s3

    monkeypatch.setattr(s3.credentials, "_CHAIN", {})
    cf = servers.cf("s3", secrets={})
    with pytest.raises(AuthorizationError) as info:
        cf.put("a", b"1")
    assert "no AWS credentials were found" in str(info.value)
    assert listing(servers.direct("s3", cf)) == []


def test_wrong_http_password(servers: Servers, caplog: pytest.LogCaptureFixture,
                             capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    private = servers.nginx.root / "private"
    private.mkdir(exist_ok=True)
    (private / "p").write_bytes(b"secret content")
    cf = CloudFiles(f"{servers.proxies['http'].url}/private", secrets={"user": "test", "password": FAKE_SECRET},
                    progress=True)
    with pytest.raises(AuthorizationError) as info:
        cf.get("p")
    assert getattr(info.value, "status", None) == 401
    results = cf.get(["p"], raise_errors=False)
    assert isinstance(results[0]["error"], AuthorizationError) and results[0]["content"] is None
    assert_no_secret(all_text(info.value) + all_text(results[0]["error"]) + repr(cf) + repr(cf.interface))
    out = capsys.readouterr()
    assert_no_secret(out.out + out.err + caplog.text)
    good = CloudFiles(f"{servers.proxies['http'].url}/private", secrets={"user": "test", "password": "secret-pass"})
    assert good.get("p") == b"secret content"


def test_every_error_is_named(servers: Servers) -> None:
    """No pycurl/botocore/urllib exception escapes from a failing remote call."""
    cf = CloudFiles("s3://http://127.0.0.1:1/bucket", secrets={"AWS_ACCESS_KEY_ID": "a",
                                                              "AWS_SECRET_ACCESS_KEY": FAKE_SECRET},
                    connect_timeout=2)
    cf.interface.retry = cf.interface.retry.__class__(attempts=2, base=0.01)  # type: ignore[attr-defined]
    for fn in (lambda: cf.get("k"), lambda: cf.put("k", b"1"), lambda: cf.exists("k"), lambda: list(cf.list())):
        with pytest.raises(CloudFilesError) as info:
            fn()
        assert type(info.value).__module__ == "cloudfiles.exceptions"
        assert_no_secret(all_text(info.value))
