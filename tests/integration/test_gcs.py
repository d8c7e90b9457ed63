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
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from contract import PAYLOAD, StorageContract, Store

from cloudfiles import CloudFiles
from cloudfiles.exceptions import AuthorizationError, CRC32CIntegrityError, HTTPError, MD5IntegrityError
from cloudfiles.lib import crc32c, crc32c_to_b64

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gcs_emulator import GCSEmulator  # noqa: E402
from servers import ScriptedServer, respond  # noqa: E402

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


@pytest.fixture
def cf(gcs: GCSEmulator) -> CloudFiles:
    return CloudFiles(f"gs://{BUCKET}/t{next(_counter)}")


class TestGCSContract(StorageContract):
    scheme = "gs"
    negative_ranges = False
    why_not = {
        "negative_ranges": "HTTP ranges only express suffixes (start<0 with an open end); "
        "see test_suffix_range_cut_locally",
    }

    @pytest.fixture
    def store(self, gcs: GCSEmulator) -> Iterator[Store]:
        cf = CloudFiles(f"gs://{BUCKET}/contract{next(_counter)}/dir")
        yield Store(reader=cf, writer=cf)


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
    assert cf.delete(names + ["many/never"]) == 251
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
    assert list(cf.list("d/", flat=True)) == [f"d/{i:03d}" for i in range(30)] + ["d/sub/"]
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
