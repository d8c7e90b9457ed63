"""Integrity of large S3 GETs against a real SeaweedFS: full-object CRC32Cs stored by our multipart
uploads and checked while a split GET's parts arrive, multipart ETags hashed part by part, and every
mismatch still raising after the facade's one re-download.

The engine's split threshold and part size are lowered so that a few MiB are fetched as ranged parts.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

from cloudfiles import CloudFiles, engine, lib
from cloudfiles.exceptions import CRC32CIntegrityError, MD5IntegrityError
from cloudfiles.interfaces import s3
from cloudfiles.interfaces.base import GetItem

BUCKET = "integrity"
MiB = 1 << 20
_counter = itertools.count()


@pytest.fixture(autouse=True)
def _small_splits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(engine, "DEFAULT_SPLIT_THRESHOLD", 2 * MiB)
    monkeypatch.setattr(engine, "DEFAULT_PART_SIZE", 768 * 1024)  # unlike any upload part size
    engine.reset_engines()
    yield
    engine.reset_engines()


@pytest.fixture
def cf(seaweed_server: Any) -> CloudFiles:
    seaweed_server.create_bucket(BUCKET)
    cf = CloudFiles(f"s3://{seaweed_server.endpoint}/{BUCKET}/t{next(_counter)}",
                    secrets=seaweed_server.secrets, composite_upload_threshold=6 * MiB)
    cf.interface.part_size = 5 * MiB  # type: ignore[attr-defined]
    return cf


def _raw_get(cf: CloudFiles, path: str) -> Any:
    return next(cf.interface.get_files([GetItem(path)]))


def _count_fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each whole-body multipart ETag check (the fallback when nothing was hashed in flight)."""
    calls: list[str] = []
    real = lib.validate_s3_multipart_etag

    def counted(content: Any, etag: str, part_size: int | None = None) -> bool:
        calls.append(etag)
        return real(content, etag, part_size)

    monkeypatch.setattr(lib, "validate_s3_multipart_etag", counted)
    return calls


def test_multipart_upload_stores_a_full_object_crc32c_checked_in_flight(cf: CloudFiles) -> None:
    data = os.urandom(13 * MiB + 12345)
    cf.put("big", data)
    res = _raw_get(cf, "big")
    assert bytes(res.content) == data
    assert res.hash_type == "crc32c"
    assert res.server_hash == base64.b64encode(lib.crc32c(data).to_bytes(4, "big")).decode()
    assert res.verified  # checked part by part: the facade hashes nothing more
    head = cf.head("big")
    assert head["ETag"].strip('"').endswith("-3")  # the ETag cloud-files 6.4.3 would give (5 MiB parts)
    assert head["ETag"].strip('"') == lib.calc_s3_multipart_etag(data, 5 * MiB)
    assert cf.get("big") == data
    # a small object is not split: the facade checks its CRC32C after the download, as before
    cf.put("small", b"x" * 1000)
    small = _raw_get(cf, "small")
    assert small.hash_type == "crc32c" and not small.verified


def test_a_wrong_full_object_crc32c_raises_after_one_refetch(
    cf: CloudFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(9 * MiB)
    cf.put("big", data)
    real = s3.reads._scan_headers
    lies = {"told": 0}

    def lying_crc(lines: Any) -> Any:
        lies["told"] += 1
        return {**real(lines), "x-amz-checksum-crc32c": "AAAAAA=="}

    monkeypatch.setattr(s3.reads, "_scan_headers", lying_crc)
    with pytest.raises(CRC32CIntegrityError):
        cf.get("big")
    assert lies["told"] == 2  # the first download and the facade's one re-download


def test_multipart_etag_is_hashed_in_flight_when_no_checksum_is_stored(
    cf: CloudFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    iface: Any = cf.interface
    iface.checksums_refused = True  # as a store that keeps no checksums: only the multipart ETag
    data = os.urandom(13 * MiB + 5)
    cf.put("big", data)
    res = _raw_get(cf, "big")
    assert res.hash_type is None and res.error is None
    fallbacks = _count_fallbacks(monkeypatch)
    assert cf.get("big") == data
    assert fallbacks == []  # the guessed part size (the interface's) fitted: no second pass

    # a mismatched ETag (same part count) still fails, after the one re-download
    real = s3.reads._scan_headers
    fake = f'"{hashlib.md5(b"other").hexdigest()}-3"'
    monkeypatch.setattr(s3.reads, "_scan_headers", lambda lines: {**real(lines), "etag": fake})
    with pytest.raises(MD5IntegrityError):
        cf.get("big")
    assert len(fallbacks) == 2  # each download fell back to every candidate before it failed


def test_a_wrong_part_size_guess_falls_back_and_learns_it(
    cf: CloudFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    iface: Any = cf.interface
    iface.checksums_refused = True
    iface.part_size = 6 * MiB + 4096  # not a whole MiB: no guess fits
    data = os.urandom(13 * MiB)
    cf.put("odd-parts", data)
    iface.part_size = 8 * MiB
    fallbacks = _count_fallbacks(monkeypatch)
    assert cf.get("odd-parts") == data  # in flight: a wrong guess; then HEAD ?partNumber=1 tells
    assert len(fallbacks) == 2
