"""gs:// against gcp-storage-emulator (started here, on 127.0.0.1), plus what only GCS promises.

The storage contract runs against the emulator with a fresh prefix per test. Where the emulator lacks
a feature, the test says so and runs that path against a small stand-in of our own (``tests/servers.py``'s
ScriptedServer) for that one call:

* list pagination: the emulator ignores ``maxResults`` and never sends ``nextPageToken``;
* ``Content-Encoding`` / ``x-goog-stored-content-encoding`` on downloads: never sent (we fall back to
  metadata; the header path is tested on a stand-in);
* batched GETs (exists): answered 404 for every object, so exists is per object on the emulator;
* suffix ranges (``bytes=-N``): ignored (whole object, 200); we cut the range out locally;
* ``x-goog-hash`` on ranged downloads: not sent (GCS sends the whole object's).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from contract import PAYLOAD, StorageContract, Store

from cloudfiles import CloudFiles
from cloudfiles.exceptions import AuthorizationError, CRC32CIntegrityError, HTTPError, MD5IntegrityError
from cloudfiles.lib import crc32c, crc32c_to_b64

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gcs_emulator import GCSEmulator
from servers import ScriptedServer, respond

BUCKET = "cloudfiles-test"
_counter = itertools.count()


@pytest.fixture(scope="session")
def gcs() -> Iterator[GCSEmulator]:
    """The emulator for the whole session; STORAGE_EMULATOR_HOST points at it meanwhile."""
    emulator = GCSEmulator(BUCKET).start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STORAGE_EMULATOR_HOST", emulator.url)
        mp.setenv("NO_GCE_CHECK", "True")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def gcs_headers() -> Iterator[GCSEmulator]:
    """A second emulator whose downloads carry GCS's encoding headers (the shipped one omits them)."""
    emulator = GCSEmulator(BUCKET, encoding_headers=True).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def cf(gcs: GCSEmulator) -> CloudFiles:
    return CloudFiles(f"gs://{BUCKET}/t{next(_counter)}")


class TestGCSContract(StorageContract):
    scheme = "gs"
    compress_labels: ClassVar[dict[str | None, str | None]] = {}  # GCS reports the stored Content-Encoding as written ("bz2")
    legacy_delete_batch = 1000
    legacy_head_keys = frozenset(
        {"Cache-Control", "Content-Length", "Content-Type", "ETag", "Last-Modified", "Content-Md5",
         "Content-Crc32c", "Content-Encoding", "Content-Disposition", "Content-Language", "Storage-Class",
         "Component-Count"}
    )
    negative_ranges = False
    why_not: ClassVar[dict[str, str]] = {
        "negative_ranges": "HTTP ranges only express suffixes (start<0 with an open end); "
        "see test_suffix_range_cut_locally",
    }

    @pytest.fixture
    def store(self, gcs: GCSEmulator) -> Iterator[Store]:
        cf = CloudFiles(f"gs://{BUCKET}/contract{next(_counter)}/dir")
        yield Store(reader=cf, writer=cf)


class TestGCSContractEncodingHeaders(TestGCSContract):
    """The contract again, on an emulator that says how downloads are encoded, as GCS does: gets are
    one request each (the shipped emulator needs a metadata request per get)."""

    @pytest.fixture
    def store(self, gcs: GCSEmulator, gcs_headers: GCSEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_headers.url)
        cf = CloudFiles(f"gs://{BUCKET}/contract{next(_counter)}/dir")
        yield Store(reader=cf, writer=cf)
        assert cf.interface._reports_encoding is not False  # never fell back to metadata requests


# -- against the emulator ------------------------------------------------------------------------------
def test_objects_are_stored_under_the_prefix_with_metadata(cf: CloudFiles) -> None:
    cf.put("m.json", b'{"a": 1}', content_type="application/json", compress="gzip", cache_control="no-cache",
           storage_class="NEARLINE")
    head = cf.head("m.json")
    assert head["Content-Type"] == "application/json"
    assert head["Content-Encoding"] == "gzip"
    assert head["Cache-Control"] == "no-cache"
    assert head["Storage-Class"] == "NEARLINE"
    assert head["Content-Md5"] and head["Content-Crc32c"]
    root = CloudFiles(f"gs://{BUCKET}")
    base = cf.cloudpath.split(f"{BUCKET}/", 1)[1]
    assert list(root.list(f"{base}/")) == [f"{base}/m.json"]


def test_plain_put_is_a_simple_upload_and_keeps_bytes(cf: CloudFiles) -> None:
    data = bytes(range(256)) * 1000 + b"\r\n--tail"
    cf.put("plain", data)
    assert cf.get("plain") == data
    head = cf.head("plain")
    assert head["Content-Type"] == "application/octet-stream"
    assert head["Content-Md5"] == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert head["Content-Crc32c"] == crc32c_to_b64(crc32c(data))


def test_multipart_upload_of_a_large_buffer_and_a_file(cf: CloudFiles, tmp_path: Path) -> None:
    big = os.urandom(1 << 21) + b"\r\n--boundary-like\r\n"  # above the in-memory join limit
    cf.put("big", big, cache_control="max-age=1")
    assert cf.get("big") == big
    path = tmp_path / "f.bin"
    path.write_bytes(big[:300_000])
    with open(path, "rb") as fh:
        cf.puts([{"path": "fh", "content": fh, "cache_control": "no-store"}])
    assert cf.get("fh") == big[:300_000]
    assert cf.head("fh")["Cache-Control"] == "no-store"


def test_suffix_range_cut_locally(cf: CloudFiles) -> None:
    # The emulator ignores `Range: bytes=-N` (answers 200 with everything): the interface cuts it out.
    cf.put("r", b"0123456789")
    assert cf.get({"path": "r", "start": -3}) == b"789"
    assert cf.get({"path": "r", "start": 20}) == b""


def test_delete_batches_and_many_objects(cf: CloudFiles) -> None:
    names = [f"many/{i}" for i in range(250)]
    cf.puts((n, b"x") for n in names)
    assert sum(cf.exists(names).values()) == 250
    assert cf.interface.batch_deletes is True
    assert cf.delete(names[:1]) == 1  # cloud-files counted requests: one per batch of up to 1,000
    assert CloudFiles(cf.cloudpath, consistent_shapes=True).delete([*names[1:], "many/never"]) == 250
    assert cf.interface.batch_deletes is True  # the emulator takes batch DELETE
    assert list(cf.list("many/")) == []


def test_emulator_downloads_switch_to_metadata_pairs(cf: CloudFiles) -> None:
    cf.puts([("g", gzip.compress(PAYLOAD)), ("p", PAYLOAD)], raw=True, compress=None)
    cf.put("z", PAYLOAD, compress="zstd")
    fresh = CloudFiles(cf.cloudpath)
    assert fresh.interface._reports_encoding is None
    res = {r["path"]: r for r in fresh.get(["z", "p"], raw=True)}
    assert res["z"]["compress"] == "zstd" and res["p"]["compress"] is None
    assert fresh.interface._reports_encoding is False  # the emulator sends no Content-Encoding
    assert fresh.get("z") == PAYLOAD


def test_composite_upload(gcs: GCSEmulator) -> None:
    cf = CloudFiles(f"gs://{BUCKET}/comp{next(_counter)}", composite_upload_threshold=1000)
    data = os.urandom(40 * 1000 + 17)  # 41 parts: two levels of compose
    cf.put("whole", data, content_type="application/x-test", compress=None)
    assert cf.get("whole") == data
    head = cf.head("whole")
    assert head["Content-Length"] == len(data) and head["Content-Type"] == "application/x-test"
    assert list(cf.list()) == ["whole"]  # every part and intermediate deleted
    cf.put("gz", PAYLOAD * 3, compress="gzip")
    assert cf.get("gz") == PAYLOAD * 3 and cf.head("gz")["Content-Encoding"] == "gzip"
    assert sorted(cf.list()) == ["gz", "whole"]


def test_list_pages_keep_prefix_against_the_emulator(cf: CloudFiles) -> None:
    cf.puts([(f"d/{i:03d}", b"1") for i in range(30)] + [("d/sub/x", b"2"), ("e", b"3")])
    assert list(cf.list("d/", flat=True)) == ["d/sub/"] + [f"d/{i:03d}" for i in range(30)]  # prefixes first
    assert len(list(cf.list("d"))) == 31


def test_request_payer_rejected_elsewhere_and_kept_for_gs(gcs: GCSEmulator) -> None:
    cf = CloudFiles(f"gs://{BUCKET}/payer{next(_counter)}", request_payer="my-project")
    cf.put("a", b"1")  # the emulator ignores userProject
    assert cf.get("a") == b"1"
    assert "userProject=my-project" in cf.interface.user_project_qs


def test_threads_share_one_cloudfiles(cf: CloudFiles) -> None:
    files = {f"t/{i}": os.urandom(i % 200 + 1) for i in range(200)}
    cf.puts(files.items(), compress="gzip")
    failures: list[BaseException] = []
    seen: dict[str, bytes] = {}
    lock = threading.Lock()

    def work(part: int) -> None:
        try:
            got = cf.get(list(files)[part::4])
            with lock:
                seen.update({r["path"]: r["content"] for r in got})
        except BaseException as err:
            failures.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and seen == files


# -- a stand-in for what the emulator lacks ---------------------------------------------------------------
class MiniGCS:
    """Just enough of the JSON API for the paths the emulator cannot exercise, on a ScriptedServer.

    Honours maxResults/pageToken (capped at ``page_cap`` per page), sends ``x-goog-stored-content-encoding``
    and ``Content-Encoding`` on downloads, answers batch GET/DELETE with Content-IDs in *reverse* order,
    checks a bearer token when ``token`` is set, and logs every request.
    """

    def __init__(self, page_cap: int = 7) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.log: list[dict[str, Any]] = []
        self.page_cap = page_cap
        self.token: str | None = None
        self.fail_batch_part: set[str] = set()  # names answered 503 inside a batch (once)
        self.server = ScriptedServer()
        self.server.default = self._handle
        self.server.start()
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()

    def add(self, name: str, data: bytes, *, encoding: str | None = None, md5: str | None = None,
            crc: str | None = None, composite: bool = False) -> None:
        self.objects[name] = {
            "name": name, "data": data, "size": str(len(data)), "contentEncoding": encoding,
            "md5Hash": None if composite else (md5 or base64.b64encode(hashlib.md5(data).digest()).decode()),
            "crc32c": crc or crc32c_to_b64(crc32c(data)), "componentCount": 3 if composite else None,
        }

    def _send(self, h: Any, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        respond(status, body, headers)(h)

    def _json(self, h: Any, status: int, doc: Any) -> None:
        self._send(h, status, json.dumps(doc).encode(), {"Content-Type": "application/json"})

    def reset(self) -> None:
        self.objects.clear()
        self.log.clear()
        self.token = None
        self.fail_batch_part = set()
        self.server.scripts.clear()
        self.server.hits.clear()

    def record(self, h: Any) -> tuple[Any, dict[str, str]]:
        """Log one request; returns its split URL and query."""
        url = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.log.append({"method": h.command, "path": url.path, "query": query, "headers": dict(h.headers),
                         "body": h.request_body})
        return url, query

    def logged(self, status: int, body: bytes) -> Any:
        """A scripted answer that is logged like the others."""
        def action(h: Any) -> None:
            self.record(h)
            respond(status, body, {"Content-Type": "application/json"})(h)
        return action

    def _handle(self, h: Any) -> None:
        # Headers and body leave in two writes: without TCP_NODELAY, delayed ACKs stall each answer.
        h.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        url, query = self.record(h)
        if self.token is not None and h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json(h, 401, {"error": {"code": 401, "message": "Invalid Credentials"}})
        if url.path == "/batch/storage/v1":
            return self._batch(h)
        prefix = f"/storage/v1/b/{BUCKET}/o"
        if url.path == prefix and h.command == "GET":
            return self._list(h, query)
        if not url.path.startswith(prefix + "/"):
            return self._json(h, 404, {"error": {"code": 404, "message": "Not Found"}})
        name = unquote(url.path[len(prefix) + 1:])
        obj = self.objects.get(name)
        if h.command == "DELETE":
            return self._send(h, 404 if self.objects.pop(name, None) is None else 204)
        if obj is None:
            return self._json(h, 404, {"error": {"code": 404, "message": f"No such object: {name}"}})
        if query.get("alt") == "media":
            hashes = [f"crc32c={obj['crc32c']}"] + ([f"md5={obj['md5Hash']}"] if obj["md5Hash"] else [])
            headers = {"x-goog-hash": ",".join(hashes),
                       "x-goog-stored-content-encoding": obj["contentEncoding"] or "identity"}
            if obj["contentEncoding"]:
                headers["Content-Encoding"] = obj["contentEncoding"]
            return self._send(h, 200, obj["data"], headers)
        return self._json(h, 200, {k: v for k, v in obj.items() if k != "data" and v is not None})

    def _list(self, h: Any, query: dict[str, str]) -> None:
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter")
        names: list[str] = []
        for name in sorted(self.objects):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):]
            if delimiter and delimiter in rest:
                name = prefix + rest.split(delimiter)[0] + delimiter
            if name not in names:
                names.append(name)
        start = int(query.get("pageToken", "0"))
        count = min(int(query.get("maxResults", "1000")), self.page_cap)
        page = names[start:start + count]
        doc: dict[str, Any] = {
            "items": [{"name": n, "size": self.objects[n]["size"]} for n in page if n in self.objects],
            "prefixes": [n for n in page if n not in self.objects],
        }
        if start + count < len(names):
            doc["nextPageToken"] = str(start + count)
        self._json(h, 200, doc)

    def _batch(self, h: Any) -> None:
        boundary = h.headers["Content-Type"].split("boundary=")[1]
        answers = []
        for part in h.request_body.split(f"--{boundary}".encode())[1:]:
            if part.startswith(b"--"):
                break
            cid = part.split(b"Content-ID: <")[1].split(b">")[0].decode()
            method, target = part.split(b"\r\n\r\n")[1].split(b" ")[:2]
            name = unquote(target.decode().split("?")[0].split("/o/", 1)[1])
            if name in self.fail_batch_part:
                self.fail_batch_part.discard(name)
                status = "503 Service Unavailable"
            elif method == b"DELETE":
                status = "404 Not Found" if self.objects.pop(name, None) is None else "204 No Content"
            else:
                status = "200 OK" if name in self.objects else "404 Not Found"
            answers.append(f"Content-Type: application/http\r\nContent-ID: <response-{cid}>\r\n\r\n"
                           f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n")
        out = "".join(f"--b0undary\r\n{a}" for a in reversed(answers)) + "--b0undary--\r\n"
        self._send(h, 200, out.encode(), {"Content-Type": "multipart/mixed; boundary=b0undary"})


@pytest.fixture(scope="module")
def mini_server() -> Iterator[MiniGCS]:
    server = MiniGCS()
    yield server
    server.stop()


@pytest.fixture
def mini(mini_server: MiniGCS, monkeypatch: pytest.MonkeyPatch) -> MiniGCS:
    """The MiniGCS, emptied, reached as the emulator (anonymous)."""
    mini_server.reset()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", mini_server.url)
    return mini_server


@pytest.fixture
def mini_direct(mini_server: MiniGCS, monkeypatch: pytest.MonkeyPatch) -> MiniGCS:
    """The MiniGCS, emptied, reached through ``endpoint=`` with credentials (no emulator variable)."""
    mini_server.reset()
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    return mini_server


def test_list_pagination_keeps_prefix_on_every_page(mini: MiniGCS) -> None:
    # The emulator ignores maxResults: pagination is tested here, 7 entries per page.
    for i in range(40):
        mini.add(f"base/d/{i:02d}", b"12")
    mini.add("base/d/sub/x", b"1")
    mini.add("base/e", b"1")
    cf = CloudFiles(f"gs://{BUCKET}/base")
    assert list(cf.list("d/")) == [f"d/{i:02d}" for i in range(40)] + ["d/sub/x"]
    pages = [r for r in mini.log if r["path"].endswith("/o")]
    assert len(pages) == 6 and all(r["query"]["prefix"] == "base/d/" for r in pages)
    assert [r["query"].get("pageToken") for r in pages] == [None, "7", "14", "21", "28", "35"]
    mini.log.clear()
    flat = list(cf.list("d/", flat=True, size=True))
    assert ("d/sub/", None) in flat and len(flat) == 41 and [n for n, _ in flat if n != "d/sub/"] == [f"d/{i:02d}" for i in range(40)]
    assert all(r["query"]["delimiter"] == "/" and r["query"]["prefix"] == "base/d/" for r in mini.log)


def test_list_resume_tokens(mini: MiniGCS) -> None:
    for i in range(20):
        mini.add(f"{i:02d}", b"x")
    cf = CloudFiles(f"gs://{BUCKET}")
    listed = list(cf.list(return_resume_token=True))
    assert [t for _n, t in listed[:7]] == ["7"] * 7 and listed[-1][1] is None
    # A token resumes after the page its entries came from.
    assert list(cf.list(resume_token="14")) == [f"{i:02d}" for i in range(14, 20)]
    mini.log.clear()
    it = cf.list()
    assert next(it) == "00" and len(mini.log) == 1  # the first names after one page


def test_md5_mismatch_raises(mini: MiniGCS) -> None:
    mini.add("bad", b"actual bytes", md5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
    mini.add("good", b"fine")
    cf = CloudFiles(f"gs://{BUCKET}")
    with pytest.raises(MD5IntegrityError):
        cf.get("bad")
    res = {r["path"]: r for r in cf.get(["bad", "good"], raise_errors=False)}
    assert isinstance(res["bad"]["error"], MD5IntegrityError) and res["good"]["content"] == b"fine"
    # Ranges are not checked (the hash is the whole object's).
    assert cf.get({"path": "bad", "start": 0, "end": 6}) == b"actual"


def test_composite_objects_are_checked_with_crc32c(mini: MiniGCS) -> None:
    mini.add("comp", b"composed bytes", composite=True)
    mini.add("badcomp", b"composed bytes", composite=True, crc=crc32c_to_b64(crc32c(b"nope")))
    cf = CloudFiles(f"gs://{BUCKET}")
    assert cf.get("comp") == b"composed bytes"
    with pytest.raises(CRC32CIntegrityError):
        cf.get("badcomp")


def test_encoding_from_response_headers_without_metadata_requests(mini: MiniGCS) -> None:
    mini.add("g", gzip.compress(PAYLOAD), encoding="gzip")
    mini.add("p", PAYLOAD)
    cf = CloudFiles(f"gs://{BUCKET}")
    res = {r["path"]: r for r in cf.get(["g", "p"], raw=True)}
    assert res["g"]["compress"] == "gzip" and gzip.decompress(res["g"]["content"]) == PAYLOAD
    assert res["p"]["compress"] is None
    assert cf.get("g") == PAYLOAD
    assert all(r["query"].get("alt") == "media" for r in mini.log)  # no metadata GETs
    assert all(r["headers"].get("Accept-Encoding") == "gzip" for r in mini.log)
    assert cf.interface._reports_encoding is True


def test_batched_exists_and_delete(mini: MiniGCS) -> None:
    for i in range(0, 250, 2):
        mini.add(f"k/{i}", b"1")
    cf = CloudFiles(f"gs://{BUCKET}/k")
    cf.interface.batch_reads = True  # on Google's endpoint; off for emulators (their batch GET 404s)
    mini.fail_batch_part = {"k/10"}
    found = cf.exists([str(i) for i in range(250)])
    assert found == {str(i): i % 2 == 0 for i in range(250)}
    batches = [r for r in mini.log if r["path"] == "/batch/storage/v1"]
    assert len(batches) == 3
    assert [r["path"] for r in mini.log if r["path"] != "/batch/storage/v1"] == [
        f"/storage/v1/b/{BUCKET}/o/k%2F10"  # the 503 part, sent again on its own
    ]
    mini.log.clear()
    assert CloudFiles(cf.cloudpath, consistent_shapes=True).delete([str(i) for i in range(250)]) == 250
    assert not mini.objects and len(mini.log) == 3


def test_request_payer_on_every_request(mini: MiniGCS) -> None:
    mini.add("p/a", b"1")
    cf = CloudFiles(f"gs://{BUCKET}/p", request_payer="bill-me")
    cf.get("a")
    cf.head("a")
    cf.exists(["a", "b"])
    list(cf.list())
    cf.delete("a")
    calls = [r for r in mini.log if r["path"] != "/batch/storage/v1"]
    assert len(calls) == 5 and all(r["query"].get("userProject") == "bill-me" for r in calls)
    batch = next(r for r in mini.log if r["path"] == "/batch/storage/v1")
    assert b"?userProject=bill-me HTTP/1.1" in batch["body"]


def test_json_error_message_and_authorization_error(mini: MiniGCS) -> None:
    mini.token = "right"  # anonymous requests get 401 with a JSON error body
    cf = CloudFiles(f"gs://{BUCKET}")
    with pytest.raises(AuthorizationError) as info:
        cf.get("x")
    assert "Invalid Credentials" in str(info.value) and info.value.status == 401
    with pytest.raises(AuthorizationError):
        list(cf.list())


class FakeCredentials:
    """A google-auth-shaped Credentials double: each refresh issues a new token."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.expiry: Any = None
        self.refreshes = 0
        self.quota_project_id = None

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"

    def apply(self, headers: dict[str, str], token: str | None = None) -> None:
        headers["authorization"] = f"Bearer {token or self.token}"


def test_bearer_token_and_refresh_after_401(mini_direct: MiniGCS) -> None:
    server = mini_direct
    server.add("a", b"data")
    creds = FakeCredentials()
    cf = CloudFiles(f"gs://{BUCKET}", secrets=creds, endpoint=server.url)
    server.token = "token-1"
    assert cf.get("a") == b"data" and creds.refreshes == 1
    server.token = "token-2"  # the server revoked token-1: one 401, one refresh, one retry
    assert cf.get(["a"] * 20)[0]["content"] == b"data" and creds.refreshes == 2
    assert cf.exists("a") and creds.refreshes == 2


def test_service_account_token_through_our_transport(mini_direct: MiniGCS) -> None:
    """secrets= service-account info: google-auth signs the JWT; the token request goes through the
    engine to token_uri (a local stand-in), and the bearer token reaches the storage requests."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from cloudfiles import gcs_auth

    server = mini_direct
    gcs_auth.reset_sources()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    try:
        server.server.script("/token", respond(200, json.dumps(
            {"access_token": "sa-token", "expires_in": 3600, "token_type": "Bearer"}).encode(),
            {"Content-Type": "application/json"}))
        info = {
            "type": "service_account", "project_id": "proj", "private_key_id": "k1", "private_key": pem,
            "client_email": "sa@proj.iam.gserviceaccount.com", "client_id": "1",
            "token_uri": f"{server.url}/token",
        }
        server.add("a", b"data")
        server.token = "sa-token"
        cf = CloudFiles(f"gs://{BUCKET}", secrets=info, endpoint=server.url)
        assert cf.get("a") == b"data"
        other = CloudFiles(f"gs://{BUCKET}", secrets=json.dumps(info), endpoint=server.url)
        assert other.get("a") == b"data"
        assert server.server.hits["/token"] == 1  # one token for both CloudFiles objects
        assert cf.interface.project == "proj"
        with pytest.raises(AuthorizationError, match="external_account"):
            CloudFiles(f"gs://{BUCKET}", secrets={"type": "external_account"}, endpoint=server.url).get("a")
    finally:
        gcs_auth.reset_sources()


def test_server_side_copy(cf: CloudFiles) -> None:
    cf.put("src/a", PAYLOAD, compress="gzip", cache_control="no-cache")
    dest = CloudFiles(f"gs://{BUCKET}/copies{next(_counter)}")
    done = sorted(cf.interface.copy_files([("src/a", "x/a"), ("src/missing", "x/m")], dest.interface))
    assert done == [("src/a", True, None), ("src/missing", False, None)]
    assert dest.get("x/a") == PAYLOAD
    head = dest.head("x/a")
    assert head["Content-Encoding"] == "gzip" and head["Cache-Control"] == "no-cache"
    assert list(cf.interface.copy_files([("src/a", "src/b")])) == [("src/a", True, None)]
    assert cf.get("src/b") == PAYLOAD


def test_rewrite_continues_with_its_token(mini: MiniGCS) -> None:
    # The emulator finishes every rewrite in one call; the service may need several.
    path = f"/storage/v1/b/{BUCKET}/o/a/rewriteTo/b/{BUCKET}/o/b"
    mini.server.script(
        path,
        mini.logged(200, b'{"done": false, "rewriteToken": "tok/1"}'),
        mini.logged(200, b'{"done": false, "rewriteToken": "tok2"}'),
        mini.logged(200, b'{"done": true, "resource": {"name": "b"}}'),
    )
    cf = CloudFiles(f"gs://{BUCKET}", request_payer="p")
    assert list(cf.interface.copy_files([("a", "b")])) == [("a", True, None)]
    tokens = [r["query"].get("rewriteToken") for r in mini.log]
    assert tokens == [None, "tok/1", "tok2"] and all(r["query"]["userProject"] == "p" for r in mini.log)


def test_google_endpoint_defaults_without_contacting_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudfiles import gcs_auth

    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    iface = CloudFiles(f"gs://{BUCKET}/x").interface  # no request is sent: credentials resolve lazily
    assert iface.endpoint == gcs_auth.DEFAULT_ENDPOINT and not iface.emulated
    assert iface.batch_reads and iface.batch_deletes
    assert iface.object_url("a b/c") == f"{gcs_auth.DEFAULT_ENDPOINT}/storage/v1/b/{BUCKET}/o/a%20b%2Fc"


def test_composite_parts_deleted_when_compose_fails(gcs: GCSEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudfiles.exceptions import http_error
    from cloudfiles.interfaces.gs import GCSInterface

    def failing_compose(self: GCSInterface, jobs: Any, destination: Any) -> Any:
        raise http_error(503, "compose", None, "backend unavailable")

    monkeypatch.setattr(GCSInterface, "_compose", failing_compose)
    cf = CloudFiles(f"gs://{BUCKET}/compfail{next(_counter)}", composite_upload_threshold=1000)
    with pytest.raises(HTTPError, match="backend unavailable"):
        cf.put("whole", os.urandom(5500))
    assert list(cf.list()) == []  # all six parts removed


def test_transfer_between_gs_paths_is_a_server_side_rewrite(gcs: GCSEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    src = CloudFiles(f"gs://{BUCKET}/t{next(_counter)}")
    dst = CloudFiles(f"gs://{BUCKET}/t{next(_counter)}")
    files = {f"d/{i}": f"payload {i}".encode() * 20 for i in range(10)}
    src.puts(files.items())

    def no_downloads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("bytes went through the client")

    monkeypatch.setattr(src.interface, "get_files", no_downloads)
    src.transfer_to(dst, list(files))
    assert {r["path"]: r["content"] for r in dst.get(list(files))} == files
    with pytest.raises(FileNotFoundError):
        src.transfer_to(dst, ["missing"])
