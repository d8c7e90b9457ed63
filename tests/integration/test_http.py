"""The storage contract over http:// against a real nginx, plus what only HTTP promises."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import ClassVar

import pytest
from contract import PAYLOAD, StorageContract, Store

from cloudfiles import CloudFiles
from cloudfiles.exceptions import AuthorizationError, HTTPError

_counter = itertools.count()


class TestHttpContract(StorageContract):
    """nginx serves a directory that a file:// CloudFiles writes (gzip_static serves `x.gz` as `x`)."""

    scheme = "http"
    compress_labels: ClassVar[dict[str | None, str | None]] = {}  # the server sends Content-Encoding names as stored
    legacy_head_keys = None  # cloud-files gave the raw headers; ours adds HEAD_KEYS to them
    can_write = False
    encodings = (None, "gzip")
    negative_ranges = False
    why_not: ClassVar[dict[str, str]] = {
        "can_write": "http(s):// is read-only (cloud-files raises NotImplementedError for put/delete)",
        "encodings": "nginx's gzip_static serves only .gz variants under the plain name",
        "negative_ranges": "HTTP ranges only express suffixes (start<0 with an open end)",
    }

    @pytest.fixture
    def store(self, nginx) -> Iterator[Store]:
        d = f"contract{next(_counter)}"
        (nginx.root / d).mkdir()
        yield Store(reader=CloudFiles(f"{nginx.url}/{d}"), writer=CloudFiles(f"file://{nginx.root}/{d}"))

    def test_list_strips_encoding_suffixes(self, store: Store) -> None:
        # A web server's index shows stored file names; http lists them as the server does.
        store.writer.put("comp", PAYLOAD, compress="gzip")
        assert list(store.reader.list("comp")) == ["comp.gz"]
        assert store.reader.get("comp") == PAYLOAD  # and gzip_static serves it under the plain name


@pytest.fixture
def web(nginx) -> Iterator[tuple[CloudFiles, CloudFiles]]:
    d = f"web{next(_counter)}"
    (nginx.root / d).mkdir()
    yield CloudFiles(f"{nginx.url}/{d}"), CloudFiles(f"file://{nginx.root}/{d}")


def test_put_and_delete_are_not_supported(web) -> None:
    reader, _ = web
    with pytest.raises(NotImplementedError):
        reader.put("x", b"1")
    with pytest.raises(NotImplementedError):
        reader.delete("x")


def test_gzip_stored_bytes_come_back_raw_when_asked(web) -> None:
    reader, writer = web
    writer.put("g", PAYLOAD, compress="gzip")
    res = reader.get(["g"], raw=True)[0]
    assert res["compress"] == "gzip" and res["content"][:2] == b"\x1f\x8b"
    assert reader.get("g") == PAYLOAD


def test_suffix_range(web) -> None:
    reader, writer = web
    writer.put("r", PAYLOAD)
    assert reader.get({"path": "r", "start": -7}) == PAYLOAD[-7:]
    assert reader.get({"path": "r", "start": 10, "end": 10}) == b""


def test_exists_and_size_use_head(web, nginx) -> None:
    reader, writer = web
    writer.put("h", b"12345")
    assert reader.size("h") == 5
    assert reader.exists(["h", "missing"]) == {"h": True, "missing": False}
    assert reader.head("missing") is None


def test_basic_auth_from_secrets(nginx) -> None:
    (nginx.root / "private").mkdir(exist_ok=True)
    (nginx.root / "private" / "p").write_bytes(b"secret data")
    anon = CloudFiles(f"{nginx.url}/private")
    with pytest.raises(AuthorizationError) as info:  # 401: credentials needed, a clear named error
        anon.get("p")
    assert info.value.status == 401 and "<html>" not in str(info.value)
    authed = CloudFiles(f"{nginx.url}/private", secrets={"user": "test", "password": "secret-pass"})
    assert authed.get("p") == b"secret data"
    wrong = CloudFiles(f"{nginx.url}/private", secrets={"user": "test", "password": "nope"})
    with pytest.raises(HTTPError) as info:
        wrong.get("p")
    assert "nope" not in str(info.value)


def test_server_error_is_a_named_error_with_url_and_status() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from servers import ScriptedServer, respond

    server = ScriptedServer().start()
    try:
        server.script("/d/x", respond(500, b"boom"))
        cf = CloudFiles(f"{server.url}/d")
        cf.interface.retry = cf.interface.retry.__class__(attempts=2, base=0.01, cap=0.01)  # keep it quick
        res = cf.get(["x"], raise_errors=False)[0]
        assert isinstance(res["error"], HTTPError)
        assert res["error"].status == 500 and res["error"].url.endswith("/d/x")
        assert res["content"] is None
    finally:
        server.stop()


def test_one_cloudfiles_object_from_many_threads(web) -> None:
    import threading

    reader, writer = web
    files = {f"t/{i}": (f"{i}" * (i % 50 + 1)).encode() for i in range(400)}
    writer.puts(files.items(), compress="gzip")
    failures: list[BaseException] = []
    seen: dict[str, bytes] = {}
    lock = threading.Lock()

    def work(part: int) -> None:
        try:
            keys = list(files)[part::4]
            got = reader.get(keys)
            sizes = reader.size(keys)
            assert all(sizes[k] is not None for k in keys)
            with lock:
                seen.update({r["path"]: r["content"] for r in got})
        except BaseException as err:  # reported below
            failures.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert seen == files


@pytest.mark.parametrize("key", ["../outside/secret", "a/../../outside/secret", "a/..", "/../outside/secret"])
def test_keys_with_dot_dot_segments_are_refused_as_on_file(nginx, key: str) -> None:
    from cloudfiles.exceptions import UnsafePathError

    (nginx.root / "outside").mkdir(exist_ok=True)
    (nginx.root / "outside" / "secret").write_bytes(b"not under the CloudFiles' directory")
    (nginx.root / "inside" / "a").mkdir(parents=True, exist_ok=True)
    (nginx.root / "inside" / "ok").write_bytes(b"fine")
    cf = CloudFiles(f"{nginx.url}/inside")
    # The engine sends paths as written; nginx would resolve the '..' and serve the other file.
    with pytest.raises(UnsafePathError):
        cf.get(key)
    with pytest.raises(UnsafePathError):
        cf.exists(key)
    with pytest.raises(UnsafePathError):
        cf.head(key)
    with pytest.raises(UnsafePathError):
        list(cf.list(key))
    # One bad key does not end a batch: the others are fetched, it gets the error.
    results = {r["path"]: r for r in cf.get(["ok", key, "./ok"], raise_errors=False)}
    assert results["ok"]["content"] == b"fine" and results["./ok"]["content"] == b"fine"
    assert isinstance(results[key]["error"], UnsafePathError)
