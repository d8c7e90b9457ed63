"""Bounded-memory transfers on the real local servers: large objects streamed in ranges between every
pair of stores, small ones pipelined, and resumable http downloads through a ``.part`` file.

The stream threshold and part sizes are lowered so a few MiB exercise the same code paths a 10 GB
object would take; which byte ranges were requested is observed on the source interface.
"""

# ruff: noqa: F811 - the seaweed/gcs fixtures are imported from test_s3/test_gcs and named as parameters
from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import os
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from cloudfiles import CloudFiles, download, streaming
from cloudfiles.exceptions import MD5IntegrityError, NotFoundError
from cloudfiles.interfaces.base import PutItem

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gcs_emulator import GCSEmulator
from seaweed import SeaweedFS
from servers import ScriptedServer
from test_gcs import BUCKET as GS_BUCKET
from test_gcs import gcs  # noqa: F401 - the session's emulator, shared
from test_s3 import (
    BUCKET,
    seaweed,  # noqa: F401 - the session's SeaweedFS, shared
)

MiB = 1 << 20
_counter = itertools.count()
BIG = os.urandom(3 * MiB + 4321)


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stream anything above 1 MiB, in 256 KiB ranges."""
    monkeypatch.setattr(streaming, "STREAM_THRESHOLD", 1 * MiB)
    monkeypatch.setattr(streaming, "READ_PART", 256 * 1024)


def s3(seaweed: SeaweedFS, **kwargs: Any) -> CloudFiles:
    return CloudFiles(f"s3://{seaweed.endpoint}/{BUCKET}/s{next(_counter)}", secrets=seaweed.secrets, **kwargs)


def gs() -> CloudFiles:
    return CloudFiles(f"gs://{GS_BUCKET}/g{next(_counter)}", composite_upload_threshold=1 * MiB)


def spy_ranges(cf: CloudFiles) -> list[tuple[int | None, int | None]]:
    """Record the byte ranges the source interface is asked for (the transport stays real)."""
    seen: list[tuple[int | None, int | None]] = []
    iface = cf.interface
    real = iface.get_files

    def get_files(items: Any) -> Any:
        def record() -> Iterator[Any]:
            for item in items:
                seen.append((item.start, item.end))
                yield item

        return real(record())

    iface.get_files = get_files  # type: ignore[method-assign]
    return seen


def assert_streamed(ranges: list[tuple[int | None, int | None]], size: int) -> None:
    """Every request was a bounded range of at most one part, and together they cover the object."""
    assert ranges and all(s is not None and e is not None and e - s <= 256 * 1024 for s, e in ranges)
    assert sorted(ranges)[0][0] == 0 and max(e for _s, e in ranges if e is not None) == size


def stores(seaweed: SeaweedFS, tmp_path: Path) -> dict[str, CloudFiles]:
    return {
        "file": CloudFiles(f"file://{tmp_path}/f{next(_counter)}"),
        "s3": s3(seaweed, composite_upload_threshold=1 * MiB),
        "gs": gs(),
        "mem": CloudFiles(f"mem://streams/m{next(_counter)}"),
    }


@pytest.mark.parametrize("pair", ["s3-file", "s3-gs", "gs-s3", "gs-file", "file-s3", "s3-mem", "file-gs"])
def test_large_object_streams_between_stores(seaweed: SeaweedFS, gcs: GCSEmulator, tmp_path: Path,
                                             pair: str) -> None:
    src_name, dest_name = pair.split("-")
    all_stores = stores(seaweed, tmp_path)
    src, dest = all_stores[src_name], all_stores[dest_name]
    if dest_name == "s3":
        dest.interface.part_size = 1 * MiB  # type: ignore[attr-defined]
    src.put("big.bin", BIG)
    src.put("small.txt", b"small")
    ranges = spy_ranges(src) if src_name != "file" else []
    src.transfer_to(dest, ["big.bin", "small.txt"])
    assert dest.get("big.bin") == BIG
    assert dest.get("small.txt") == b"small"
    if src_name != "file":
        big = [r for r in ranges if r != (None, None)]
        assert_streamed(big, len(BIG))
        assert (None, None) in ranges  # the small object: one whole GET


def test_streamed_object_keeps_its_encoding(seaweed: SeaweedFS, tmp_path: Path) -> None:
    src = s3(seaweed)
    packed = os.urandom(MiB) + b"text " * 300_000  # > 1 MiB even gzipped
    src.put("z", packed, compress="gzip")
    dest = CloudFiles(f"file://{tmp_path}/out")
    ranges = spy_ranges(src)
    src.transfer_to(dest, ["z"])
    assert (tmp_path / "out" / "z.gz").exists()
    assert gzip.decompress((tmp_path / "out" / "z.gz").read_bytes()) == packed
    assert dest.get("z") == packed
    assert_streamed(ranges, src.size("z"))


def test_streamed_object_reencoded(seaweed: SeaweedFS, tmp_path: Path) -> None:
    src = s3(seaweed)
    src.put("big", BIG, compress="zstd")
    dest = s3(seaweed)
    src.transfer_to(dest, ["big"], reencode="gzip")
    assert dest.get("big") == BIG
    assert dest.get(["big"], raw=True)[0]["compress"] == "gzip"


def test_listing_sizes_drive_the_stream_and_dest_path_renames(seaweed: SeaweedFS, tmp_path: Path) -> None:
    src = s3(seaweed)
    src.puts([("a/big", BIG), ("a/one", b"1"), ("two", b"22")])
    dest = CloudFiles(f"file://{tmp_path}/all")
    dest.transfer_from(src)  # paths=None: sizes come from the listing
    assert CloudFiles(f"file://{tmp_path}/all").get("a/big") == BIG
    assert dest.get("two") == b"22"
    src.transfer_to(dest, [{"path": "a/big", "dest_path": "renamed"}, ("a/one", "uno")])
    assert dest.get("renamed") == BIG and dest.get("uno") == b"1"


def test_many_small_objects_pipelined(seaweed: SeaweedFS, tmp_path: Path) -> None:
    src = s3(seaweed)
    files = {f"d/{i:04d}": os.urandom(100 + i) for i in range(300)}
    src.puts(list(files.items()))
    dest = CloudFiles(f"file://{tmp_path}/many")
    src.transfer_to(dest, list(files), block_size=1000)
    assert {k: dest.get(k) for k in files} == files
    back = s3(seaweed)
    dest.transfer_to(back, list(files), block_size=64)
    assert dict((r["path"], r["content"]) for r in back.get(list(files))) == files


def test_missing_sources(seaweed: SeaweedFS, tmp_path: Path) -> None:
    src = s3(seaweed)
    src.put("here", b"h")
    dest = CloudFiles(f"file://{tmp_path}/miss")
    with pytest.raises(FileNotFoundError, match="nothere"):
        src.transfer_to(dest, ["here", "nothere"])
    src.transfer_to(dest, ["here", "nothere"], allow_missing=True)
    assert dest.get("nothere") == b"" and dest.get("here") == b"h"


def test_corrupt_stream_leaves_no_file(seaweed: SeaweedFS, tmp_path: Path) -> None:
    """A stream whose bytes fail the stated MD5 fails the put; no file appears under the name."""
    src = s3(seaweed)
    src.put("big", BIG)
    wrong = hashlib.md5(b"something else").digest()
    reader = streaming.RangedReader(src.interface, "big", len(BIG), md5=base64.b64encode(wrong).decode())
    dest = CloudFiles(f"file://{tmp_path}/corrupt")
    results = list(dest.interface.put_files([PutItem("big", reader)]))
    assert isinstance(results[0].error, MD5IntegrityError)
    assert not (tmp_path / "corrupt").exists() or os.listdir(tmp_path / "corrupt") == []


def test_reader_checks_the_servers_md5(seaweed: SeaweedFS) -> None:
    src = s3(seaweed)
    src.put("big", BIG)
    reader = streaming.RangedReader.open(src.interface, "big")
    assert reader.read() == BIG  # the S3 ETag (an MD5) matched
    with pytest.raises(FileNotFoundError):
        streaming.RangedReader.open(src.interface, "absent")


# -- resumable http downloads ---------------------------------------------------------------------------
class RangeServer:
    """A ScriptedServer action serving one object with ETag, Range and If-Range like nginx; it can be
    told to fail (404) any range starting at or after ``fail_from``. Range headers are recorded."""

    def __init__(self, data: bytes, etag: str) -> None:
        self.data = data
        self.etag = etag
        self.fail_from: int | None = None
        self.ranges: list[str | None] = []

    def __call__(self, h: BaseHTTPRequestHandler) -> None:
        rng = h.headers.get("Range")
        if h.command == "GET":
            self.ranges.append(rng)
        data, status, extra = self.data, 200, {}
        if rng and h.headers.get("If-Range", self.etag) == self.etag:
            first, last = rng.split("=")[1].split("-")
            start, end = int(first), int(last) + 1
            if self.fail_from is not None and start >= self.fail_from:
                h.send_response(404)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            data, status = self.data[start:end], 206
            extra["Content-Range"] = f"bytes {start}-{end - 1}/{len(self.data)}"
        h.send_response(status)
        h.send_header("ETag", self.etag)
        h.send_header("Accept-Ranges", "bytes")
        for k, v in extra.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


def test_resumable_download_resumes_from_the_part_file(scripted: ScriptedServer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "CHUNK", 64 * 1024)
    monkeypatch.setattr(download, "WINDOW", 1)
    data = os.urandom(1000 * 1024 + 7)
    server = RangeServer(data, '"v1"')
    server.fail_from = 512 * 1024
    scripted.script("/obj.bin", server)
    src = CloudFiles(scripted.url)
    dest = CloudFiles(f"file://{tmp_path}")
    with pytest.raises(NotFoundError):
        src.transfer_to(dest, ["obj.bin"], resumable=True)
    part = tmp_path / "obj.bin.part"
    assert not (tmp_path / "obj.bin").exists()
    assert part.stat().st_size == 512 * 1024  # whole chunks only, in order
    assert part.read_bytes() == data[: 512 * 1024]
    assert json.loads((tmp_path / "obj.bin.part.json").read_text())["validator"] == '"v1"'

    server.fail_from = None
    server.ranges.clear()
    src.transfer_to(dest, ["obj.bin"], resumable=True)
    assert server.ranges[0] == f"bytes={512 * 1024}-{576 * 1024 - 1}"  # picked up where the .part ended
    assert (tmp_path / "obj.bin").read_bytes() == data
    assert not part.exists() and not (tmp_path / "obj.bin.part.json").exists()


def test_resumable_download_starts_over_when_the_object_changed(scripted: ScriptedServer, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "CHUNK", 64 * 1024)
    monkeypatch.setattr(download, "WINDOW", 1)
    old, new = os.urandom(300 * 1024), os.urandom(310 * 1024)
    server = RangeServer(old, '"old"')
    server.fail_from = 128 * 1024
    scripted.script("/f", server)
    src, dest = CloudFiles(scripted.url), CloudFiles(f"file://{tmp_path}")
    with pytest.raises(NotFoundError):
        src.transfer_to(dest, ["f"], resumable=True)
    assert (tmp_path / "f.part").stat().st_size == 128 * 1024
    server.data, server.etag, server.fail_from = new, '"new"', None
    server.ranges.clear()
    src.transfer_to(dest, ["f"], resumable=True)
    assert f"bytes=0-{64 * 1024 - 1}" in server.ranges  # started over
    assert (tmp_path / "f").read_bytes() == new


def test_resumable_download_if_range_mid_download(scripted: ScriptedServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The object changes between the HEAD and a ranged GET: If-Range makes the server send 200; the
    download starts over and ends with the new bytes, never a mix."""
    monkeypatch.setattr(download, "CHUNK", 64 * 1024)
    old, new = os.urandom(200 * 1024), os.urandom(200 * 1024)
    server = RangeServer(old, '"a"')
    calls = itertools.count()

    def changing(h: BaseHTTPRequestHandler) -> None:
        if h.command == "GET" and next(calls) == 1:
            server.data, server.etag = new, '"b"'
        server(h)

    scripted.script("/x", changing)
    CloudFiles(scripted.url).transfer_to(CloudFiles(f"file://{tmp_path}"), ["x"], resumable=True)
    assert (tmp_path / "x").read_bytes() == new


def test_resumable_download_from_nginx(nginx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "CHUNK", 100 * 1024)
    d = f"res{next(_counter)}"
    data = os.urandom(700 * 1024 + 11)
    CloudFiles(f"file://{nginx.root}/{d}").put("blob", data)
    src = CloudFiles(f"{nginx.url}/{d}")
    etag = src.head("blob")["ETag"]
    out = tmp_path / "out"
    out.mkdir()
    (out / "blob.part").write_bytes(data[:300 * 1024])
    (out / "blob.part.json").write_text(json.dumps({"url": src.interface.url("blob"),  # type: ignore[attr-defined]
                                                    "validator": etag, "size": len(data)}))
    src.transfer_to(CloudFiles(f"file://{out}"), ["blob"], resumable=True)
    assert (out / "blob").read_bytes() == data
    # A .part from another version of the object (stale validator) is discarded, not appended to.
    (out / "blob").unlink()
    (out / "blob.part").write_bytes(b"x" * 1000)
    (out / "blob.part.json").write_text(json.dumps({"url": src.interface.url("blob"),  # type: ignore[attr-defined]
                                                    "validator": '"stale"', "size": len(data)}))
    src.transfer_to(CloudFiles(f"file://{out}"), ["blob"], resumable=True)
    assert (out / "blob").read_bytes() == data
    assert sorted(os.listdir(out)) == ["blob"]


def test_large_http_object_streams_to_s3(seaweed: SeaweedFS, nginx: Any) -> None:
    """nginx lists no sizes: they are looked up, and the large object still moves in ranges."""
    d = f"web{next(_counter)}"
    CloudFiles(f"file://{nginx.root}/{d}").puts([("big.bin", BIG), ("small", b"s")])
    src = CloudFiles(f"{nginx.url}/{d}")
    ranges = spy_ranges(src)
    dest = s3(seaweed)
    dest.transfer_from(src)  # paths=None: the listing
    assert dest.get("big.bin") == BIG and dest.get("small") == b"s"
    assert_streamed([r for r in ranges if r != (None, None)], len(BIG))


def test_reader_seeks_and_reads_any_range(seaweed: SeaweedFS) -> None:
    src = s3(seaweed)
    src.put("big", BIG)
    with streaming.RangedReader.open(src.interface, "big") as reader:
        assert reader.seek(0, os.SEEK_END) == len(BIG)
        reader.seek(len(BIG) - 1000)
        assert reader.read(5000) == BIG[-1000:]  # clipped at the end
        reader.seek(300_000)
        assert reader.read(700_000) == BIG[300_000:1_000_000]  # across parts, prefetch restarted
        reader.seek(10)
        assert reader.read(10) == BIG[10:20]  # backwards
        assert reader.read(0) == b""
        buf = bytearray(100)
        reader.seek(2 * MiB)
        assert reader.readinto(buf) == 100 and bytes(buf) == BIG[2 * MiB : 2 * MiB + 100]
