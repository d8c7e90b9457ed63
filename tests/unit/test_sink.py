"""The engine's response sink: prefaulting a split GET's buffer never changes bytes already written."""

from __future__ import annotations

import os
import threading

import pytest

from cloudfiles._sink import BodySink, prefault


def test_prefault_keeps_the_bytes_and_reports_support() -> None:
    data = os.urandom(16 * 1024 * 1024 + 123)  # not page-aligned at either end
    before = bytes(memoryview(data))  # an independent copy
    assert prefault(data) is True  # Linux >= 5.14, as on every machine this project builds for
    assert prefault(data, 5, 4 * 1024 * 1024) is True
    assert prefault(data, len(data)) is True  # an empty range
    assert data == before
    with pytest.raises(ValueError):
        prefault(data, len(data) + 1)


def test_parts_written_while_the_buffer_is_prefaulted_arrive_intact() -> None:
    """The engine's case: a worker prefaults the whole-object buffer while the loop thread writes
    ranged parts into it. Every byte written must survive, whichever of the two touches a page first."""
    size, part = 48 * 1024 * 1024, 3 * 1024 * 1024 + 17
    expected = os.urandom(size)
    parent = BodySink()
    parent.allocate(size)
    assert isinstance(parent.buffer, bytes) and len(parent.buffer) == size
    worker = threading.Thread(target=prefault, args=(parent.buffer, 256 * 1024))  # from an odd offset
    worker.start()
    for offset in range(0, size, part):
        length = min(part, size - offset)
        sink = BodySink()
        sink.attach(parent, offset, length)
        sink.header(b"HTTP/1.1 206 Partial Content\r\n")
        for start in range(offset, offset + length, 64 * 1024):
            assert sink.write(expected[start : min(start + 64 * 1024, offset + length)]) is None
        assert sink.complete()
    worker.join()
    assert parent.body() == expected


def test_buffer_is_none_until_something_is_received() -> None:
    sink = BodySink()
    assert sink.buffer is None
    sink.header(b"HTTP/1.1 200 OK\r\n")
    sink.header(b"Content-Length: 5\r\n")
    sink.write(b"hello")
    assert sink.buffer == b"hello" and sink.body() == b"hello"


def _fed(lines: list[bytes], chunks: list[bytes] = ()) -> BodySink:  # type: ignore[assignment]
    sink = BodySink()
    for line in lines:
        sink.header(line)
    for chunk in chunks:
        assert sink.write(chunk) is None
    return sink


def test_header_fields_are_parsed_as_the_lines_pass() -> None:
    sink = _fed([
        b"HTTP/1.1 200 OK\r\n",
        b"content-LENGTH:  12\r\n",
        b"Accept-Ranges: BYTES\r\n",
        b'ETag:  "abc" \r\n',
        b"\r\n",
    ])
    assert sink.status == 200
    assert sink.content_length == 12
    assert sink.accept_ranges is True
    assert sink.strong_etag is True
    assert sink.header_lines == [b"content-LENGTH:  12\r\n", b"Accept-Ranges: BYTES\r\n", b'ETag:  "abc" \r\n', b"\r\n"]


@pytest.mark.parametrize(("line", "strong"), [(b'ETag: W/"x"\r\n', False), (b"ETag:   \r\n", False), (b"ETag: x\r\n", True)])
def test_weak_or_empty_etags_are_not_strong(line: bytes, strong: bool) -> None:
    assert _fed([b"HTTP/1.1 200 OK\r\n", line]).strong_etag is strong


def test_a_new_status_line_starts_the_header_block_over() -> None:
    """A 100 Continue (or a redirect) comes first: only the final block's lines and fields remain."""
    sink = _fed([
        b"HTTP/1.1 301 Moved\r\n", b"Content-Length: 5\r\n", b"Location: /x\r\n", b"\r\n",
        b"HTTP/2 404 \r\n", b"X-A: 1\r\n", b"\r\n",
    ])
    assert sink.status == 404
    assert sink.content_length == -1
    assert sink.header_lines == [b"X-A: 1\r\n", b"\r\n"]


def test_header_lines_follow_later_lines_and_reset() -> None:
    sink = _fed([b"HTTP/1.1 200 OK\r\n", b"A: 1\r\n"])
    first = sink.header_lines
    assert first == [b"A: 1\r\n"] and sink.header_lines is first  # built once while unchanged
    sink.header(b"B: 2\r\n")
    assert sink.header_lines == [b"A: 1\r\n", b"B: 2\r\n"]
    sink.reset()
    assert sink.header_lines == [] and sink.status == 0 and sink.content_length == -1


@pytest.mark.parametrize("size", [0, 1, 4096, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024 + 7])
def test_bodies_of_known_length_arrive_whole(size: int) -> None:
    """Small bodies go to C memory, large ones into one bytes object: both come out byte-identical."""
    data = os.urandom(size)
    chunks = [data[i : i + 16384] for i in range(0, size, 16384)]
    sink = _fed([b"HTTP/1.1 200 OK\r\n", f"Content-Length: {size}\r\n".encode()], chunks)
    assert sink.received == size and sink.complete()
    assert sink.body() == data
    if size:
        assert sink.buffer == data


def test_a_body_of_unknown_length_grows_and_is_trimmed() -> None:
    data = os.urandom(1_000_003)
    sink = _fed([b"HTTP/1.1 200 OK\r\n"], [data[i : i + 70_000] for i in range(0, len(data), 70_000)])
    assert sink.content_length == -1 and sink.complete()
    assert sink.body() == data


def test_a_body_longer_than_announced_is_kept_whole() -> None:
    """More bytes than Content-Length (a lying server): kept, and the sink reports it incomplete."""
    sink = _fed([b"HTTP/1.1 200 OK\r\n", b"Content-Length: 3\r\n"], [b"abcdef"])
    assert sink.body() == b"abcdef"
    assert not sink.complete()


def test_max_size_refuses_by_announced_length_and_by_bytes_received() -> None:
    sink = BodySink()
    sink.max_size = 10
    sink.header(b"HTTP/1.1 200 OK\r\n")
    sink.header(b"Content-Length: 11\r\n")
    assert sink.write(b"x") == 0 and sink.too_large
    unknown = BodySink()
    unknown.max_size = 10
    unknown.header(b"HTTP/1.1 200 OK\r\n")
    assert unknown.write(b"0123456789") is None
    assert unknown.write(b"!") == 0 and unknown.too_large
    assert unknown.body() == b"0123456789"


def test_split_is_requested_only_for_a_large_rangeable_strongly_tagged_200() -> None:
    lines = [b"HTTP/1.1 200 OK\r\n", b"Content-Length: 100\r\n", b"Accept-Ranges: bytes\r\n", b'ETag: "e"\r\n']
    sink = _fed(lines)
    sink.split_threshold = 99
    assert sink.write(b"x") == 0 and sink.split_requested
    weak = _fed([*lines[:3], b'ETag: W/"e"\r\n'])
    weak.split_threshold = 99
    assert weak.write(b"x") is None and not weak.split_requested


def test_a_part_refuses_anything_but_its_own_206_range() -> None:
    parent = BodySink()
    parent.allocate(10)
    whole = BodySink()
    whole.attach(parent, 2, 4)
    whole.header(b"HTTP/1.1 200 OK\r\n")
    assert whole.write(b"ab") == 0 and whole.part_mismatch
    part = BodySink()
    part.attach(parent, 2, 4)
    part.header(b"HTTP/1.1 206 Partial Content\r\n")
    assert part.write(b"abcd") is None and part.complete()
    assert part.write(b"e") == 0 and part.part_mismatch
    assert parent.body()[2:6] == b"abcd"
    with pytest.raises(ValueError):
        BodySink().attach(parent, 8, 4)  # outside the parent's buffer


def test_attach_to_takes_only_open_pycurl_handles() -> None:
    import pycurl

    sink = BodySink()
    with pytest.raises(TypeError):
        sink.attach_to(object())
    c = pycurl.Curl()
    sink.attach_to(c)
    c.close()
    with pytest.raises(ValueError):
        sink.attach_to(c)


def test_header_value_finds_the_first_line_of_a_name_whatever_its_case() -> None:
    from cloudfiles._sink import header_value

    lines = [b"Content-Type: text/plain\r\n", b'ETag:  "abc" \r\n', b"etag: second\r\n", b"ETagged: no\r\n", b"\r\n"]
    assert header_value(lines, b"etag") == '"abc"'
    assert header_value(lines, b"content-type") == "text/plain"
    assert header_value(lines, b"etagged") == "no"
    assert header_value(lines, b"missing") is None
    assert header_value([b"X-Latin: caf\xe9\r\n"], b"x-latin") == "caf\u00e9"


def test_pick_headers_keeps_the_wanted_names_and_the_last_of_each() -> None:
    from cloudfiles._sink import pick_headers

    lines = [b"ETag: first\r\n", b"X-Amz-Checksum-CRC32C: AAAA\r\n", b"etag: second\r\n", b"no colon\r\n", b": x\r\n"]
    wanted = {b"etag": "etag", b"x-amz-checksum-crc32c": "crc", b"absent": "absent"}
    assert pick_headers(lines, wanted) == {"etag": "second", "crc": "AAAA"}
    assert pick_headers([b"A" * 200 + b": long\r\n"], {b"a" * 200: "long"}) == {}  # names past 127 bytes: none


def test_a_sink_answers_header_lookups_from_its_raw_lines_and_lets_go_of_its_body() -> None:
    sink = _fed([b"HTTP/1.1 200 OK\r\n", b"Content-Length: 3\r\n", b"Content-Encoding:  gzip \r\n", b"\r\n"], [b"abc"])
    assert sink.header_value(b"content-encoding") == "gzip"
    assert sink.header_value(b"content-length") == "3"
    assert sink.header_value(b"content") is None
    assert sink.take_body() == b"abc"
    assert sink.buffer is None and sink.body() == b""  # no body memory kept
    assert sink.header_value(b"content-encoding") == "gzip"  # the headers stay


def test_a_response_built_from_a_sink_reads_like_one_built_from_lines() -> None:
    from cloudfiles.messages import Request, Response

    lines = [b"HTTP/1.1 200 OK\r\n", b"X-A: 1\r\n", b"x-a: 2\r\n", b"ETag: e\r\n", b"\r\n"]
    sink = _fed(lines)
    request = Request("GET", "http://127.0.0.1/x")
    from_sink = Response(request, 200, b"", sink, None, 1, 0.0, 0.0)
    from_list = Response(request, 200, b"", list(sink.header_lines), None, 1, 0.0, 0.0)
    for resp in (from_sink, from_list):
        assert resp.header("X-A") == "1" and resp.header("etag") == "e" and resp.header("nope") is None
        assert resp.header_lines == lines[1:]
        assert resp.headers == {"x-a": "1,2", "etag": "e"}
        # the lines are scanned in place from the sink: the same answer as from the list, the last line winning
        assert resp.pick_headers({b"x-a": "a", b"etag": "tag", b"nope": "n"}) == {"a": "2", "tag": "e"}


def test_a_sink_picks_headers_from_its_raw_lines_as_the_list_function_does() -> None:
    from cloudfiles._sink import pick_headers

    lines = [b"HTTP/1.1 200 OK\r\n", b"ETag: first\r\n", b"X-Amz-Checksum-CRC32C:  AAAA \r\n", b"etag: second\r\n",
             b"no colon\r\n", b": x\r\n", b"A" * 200 + b": long\r\n", b"\r\n"]
    sink = _fed(lines)
    wanted = {b"etag": "etag", b"x-amz-checksum-crc32c": "crc", b"absent": "absent", b"a" * 200: "long"}
    assert sink.pick_headers(wanted) == pick_headers(sink.header_lines, wanted) == {"etag": "second", "crc": "AAAA"}
    assert _fed([b"HTTP/1.1 200 OK\r\n"]).pick_headers(wanted) == {}


def test_a_body_announced_larger_than_memory_aborts_the_transfer_by_name() -> None:
    sink = _fed([b"HTTP/1.1 200 OK\r\n", b"Content-Length: 9223372036854775000\r\n"])
    assert sink.write(b"x") == 0
    assert sink.alloc_failed and not sink.too_large
