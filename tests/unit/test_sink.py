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
