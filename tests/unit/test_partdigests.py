"""Hashing a buffer's units as pieces of it arrive (cloudfiles.partdigests) and the S3 GET check built on
it (InFlightCheck): real buffers, pieces in any order, the same verdicts as hashing the whole body after."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import random

import pytest

from cloudfiles import checksums
from cloudfiles.interfaces.s3.integrity import CRC32C_UNIT, InFlightCheck, expected_hash
from cloudfiles.partdigests import PartDigests

KiB = 1024
MiB = 1 << 20


def _md5(view: memoryview) -> bytes:
    return hashlib.md5(view).digest()


def _pieces(size: int, piece: int, seed: int) -> list[tuple[int, int]]:
    spans = [(lo, min(lo + piece, size)) for lo in range(0, size, piece)]
    random.Random(seed).shuffle(spans)
    return spans


@pytest.mark.parametrize("inline", [True, False])
@pytest.mark.parametrize(("size", "unit", "piece"), [
    (1000 * KiB + 7, 100 * KiB, 100 * KiB),  # aligned pieces, a short last unit
    (1000 * KiB + 7, 96 * KiB, 40 * KiB),  # units span several pieces
    (1000 * KiB + 7, 30 * KiB, 70 * KiB),  # pieces span several units
    (5 * KiB, 64 * KiB, 1 * KiB),  # one unit
])
def test_units_are_digested_whatever_the_arrival_order(size: int, unit: int, piece: int, inline: bool) -> None:
    data = os.urandom(size)
    digests = PartDigests(size, unit, _md5, inline=inline)
    for lo, hi in _pieces(size, piece, size):
        digests.arrived(data, lo, hi)
    want = [hashlib.md5(data[lo : lo + unit]).digest() for lo in range(0, size, unit)]
    assert digests.results(data) == want


def test_anything_but_one_whole_buffer_gives_no_digests() -> None:
    data = os.urandom(100 * KiB)
    other = os.urandom(100 * KiB)

    missing = PartDigests(len(data), 16 * KiB, _md5, inline=True)
    missing.arrived(data, 0, 50 * KiB)
    assert missing.results(data) is None

    twice = PartDigests(len(data), 16 * KiB, _md5, inline=True)
    twice.arrived(data, 0, 60 * KiB)
    twice.arrived(data, 50 * KiB, 100 * KiB)  # 10 KiB counted twice
    assert twice.results(data) is None

    mixed = PartDigests(len(data), 16 * KiB, _md5, inline=True)
    mixed.arrived(data, 0, 50 * KiB)
    mixed.arrived(other, 50 * KiB, 100 * KiB)
    assert mixed.results(data) is None

    whole = PartDigests(len(data), 16 * KiB, _md5, inline=True)
    whole.arrived(data, 0, 100 * KiB)
    assert whole.results(bytes(bytearray(data))) is None  # an equal copy is another buffer (a re-fetched body)
    assert whole.results(data) is not None


def test_crc32c_concat_and_the_part_size_candidates() -> None:
    data = os.urandom(300 * KiB + 5)
    cuts = [0, 1, 100 * KiB, 100 * KiB, 200 * KiB, len(data)]  # an empty piece too
    crcs = [checksums.crc32c(data[a:b]) for a, b in itertools.pairwise(cuts)]
    lengths = [b - a for a, b in itertools.pairwise(cuts)]
    assert checksums.crc32c_concat(crcs, lengths) == checksums.crc32c(data)
    assert checksums.crc32c_view(memoryview(data)[7:]) == checksums.crc32c(data[7:])
    # the order validate_s3_multipart_etag always tried, sizes that cannot give N parts left out
    assert checksums.s3_part_size_candidates(40 * MiB, 5, None) == [8 * MiB, 9 * MiB]
    assert checksums.s3_part_size_candidates(40 * MiB, 3, 15 * MiB) == [15 * MiB, 14 * MiB]
    assert checksums.s3_part_size_candidates(40 * MiB, 0, None) == []


def _headers(**values: str) -> list[bytes]:
    return [f"{name.replace('_', '-')}: {value}".encode() for name, value in values.items()]


def _feed(check: InFlightCheck, lines: list[bytes], data: bytes, piece: int) -> None:
    for lo, hi in _pieces(len(data), piece, 7):
        check(lines, data, lo, hi)


@pytest.mark.parametrize("upload_part", [5 * MiB, 8 * MiB])
def test_multipart_etag_in_flight_matches_the_whole_body_check(upload_part: int) -> None:
    data = os.urandom(21 * MiB + 3)
    etag = checksums.calc_s3_multipart_etag(data, upload_part)
    lines = _headers(etag=f'"{etag}"', content_length=str(len(data)))
    check = InFlightCheck(upload_part)
    _feed(check, lines, data, 3 * MiB)  # download parts unlike the upload's
    assert check.multipart_etag(data) == etag
    assert checksums.validate_s3_multipart_etag(data, etag, upload_part)

    # a guess that gives N parts but is not the uploader's size: the in-flight ETag differs, so the
    # caller falls back to every candidate and the server's answer (never a false pass)
    odd = data[: 13 * MiB]
    odd_etag = checksums.calc_s3_multipart_etag(odd, 6 * MiB + 4096)
    guessed_wrong = InFlightCheck(upload_part)
    _feed(guessed_wrong, _headers(etag=f'"{odd_etag}"'), odd, 3 * MiB)
    assert guessed_wrong.multipart_etag(odd) not in (None, odd_etag)

    # corrupt bytes: both checks say no
    bad = bytearray(data)
    bad[10 * MiB] ^= 1
    corrupt = bytes(bad)
    check = InFlightCheck(upload_part)
    _feed(check, lines, corrupt, 3 * MiB)
    assert check.multipart_etag(corrupt) != etag
    assert not checksums.validate_s3_multipart_etag(corrupt, etag, upload_part)


def test_full_object_crc32c_in_flight() -> None:
    data = os.urandom(2 * CRC32C_UNIT + 12345)
    crc = base64.b64encode(checksums.crc32c(data).to_bytes(4, "big")).decode()
    lines = _headers(etag='"abc-3"', x_amz_checksum_crc32c=crc, x_amz_checksum_type="FULL_OBJECT")
    check = InFlightCheck(8 * MiB)
    _feed(check, lines, data, 3 * MiB)
    assert check.crc32c(data) == checksums.crc32c(data)
    assert check.multipart_etag(data) is None  # the CRC32C was chosen, not the ETag
    # a composite CRC32C covers parts, not the object: the multipart ETag is used instead
    assert expected_hash({"x-amz-checksum-crc32c": crc, "x-amz-checksum-type": "COMPOSITE", "etag": "x-1"}) == (
        "multipart", "x-1")
    # nothing usable: nothing hashed
    check = InFlightCheck(8 * MiB)
    _feed(check, _headers(etag='"1234-"'), data, 3 * MiB)
    assert check.crc32c(data) is None and check.multipart_etag(data) is None
