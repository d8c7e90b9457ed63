"""Property tests that tests/unit does not already have: HTTP range maths (the header and, end to end,
real stores), key quoting round trips, and codec round trips through the public compress/decompress
with the size guard. (Path parsing round trips and per-module codec round trips live in tests/unit.)"""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from faultenv import Servers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudfiles import CloudFiles, compression
from cloudfiles.exceptions import DecompressedSizeError
from cloudfiles.interfaces.gs import quote_name
from cloudfiles.interfaces.remote import quote_key, range_header
from cloudfiles.sigv4 import uri_encode

_offsets = st.one_of(st.none(), st.integers(0, 3000))


def apply_http_range(data: bytes, header: str | None) -> bytes:
    """What a server sends for ``header`` (RFC 9110 byte ranges, one range): the reference."""
    if header is None:
        return data
    m = re.fullmatch(r"Range: bytes=(\d*)-(\d*)", header)
    assert m, header
    first, last = m.groups()
    if first == "":
        return data[-int(last):] if int(last) else b""
    start = int(first)
    end = len(data) if last == "" else min(len(data), int(last) + 1)
    return data[start:end]


@settings(max_examples=500, deadline=None)
@given(size=st.integers(0, 2500), start=_offsets, end=_offsets)
def test_range_header_selects_the_slice(size: int, start: int | None, end: int | None) -> None:
    data = bytes(i % 251 for i in range(size))
    header = range_header(start, end)
    if header == "":  # an empty range: no request at all
        assert data[slice(start, end)] == b""
        return
    assert apply_http_range(data, header) == data[slice(start, end)]


@settings(max_examples=200, deadline=None)
@given(size=st.integers(0, 2500), suffix=st.integers(1, 3000))
def test_suffix_ranges(size: int, suffix: int) -> None:
    data = bytes(i % 251 for i in range(size))
    assert apply_http_range(data, range_header(-suffix, None)) == data[-suffix:]


@given(start=st.integers(-100, 100), end=st.integers(-100, -1))
def test_negative_ends_are_refused(start: int, end: int) -> None:
    with pytest.raises(ValueError):
        range_header(start, end)


@settings(max_examples=500, deadline=None)
@given(key=st.text(min_size=1, max_size=60))
def test_key_quoting_round_trips(key: str) -> None:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates are not keys any store accepts
    assert unquote(quote_key(key)) == key
    assert unquote(quote_name(key)) == key and "/" not in quote_name(key)
    encoded = uri_encode(key, keep_slash=True)
    assert unquote(encoded) == key
    assert re.fullmatch(r"[A-Za-z0-9\-._~/%]*", encoded)


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=4000) | st.text(max_size=2000).map(str.encode),
    encoding=st.sampled_from(["gzip", "br", "zstd", "bz2", "xz"]),
    level=st.one_of(st.none(), st.integers(1, 9)),
)
def test_codec_round_trip_with_size_guard(data: bytes, encoding: str, level: int | None) -> None:
    packed = compression.compress(data, encoding, level)
    assert compression.decompress(packed, encoding, max_size=len(data)) == data
    if data:
        with pytest.raises(DecompressedSizeError):
            compression.decompress(packed, encoding, max_size=len(data) - 1)


_DATA = bytes((i * 7 + 3) % 256 for i in range(3000))


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 3500), end=_offsets)
def test_mem_ranges_match_slices(start: int, end: int | None) -> None:
    cf = CloudFiles("mem://property-ranges")
    cf.put("d", _DATA)
    assert cf.get([{"path": "d", "start": start, "end": end}])[0]["content"] == _DATA[start:end]


@pytest.mark.parametrize("scheme", ["s3", "gs"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 3500), end=_offsets)
def test_remote_ranges_match_slices(servers: Servers, scheme: str, start: int, end: int | None) -> None:
    cf = servers.cf(scheme, prefix=f"property-ranges-{scheme}")
    if cf.get("d") != _DATA:
        cf.put("d", _DATA)
    assert cf.get([{"path": "d", "start": start, "end": end}])[0]["content"] == _DATA[start:end]
