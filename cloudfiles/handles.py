"""Easy handles for the engine: configured for each request, and kept configured between requests of
the same kind (a plain GET, a buffer PUT) so that the next one costs a few setopts instead of a reset.
"""

from __future__ import annotations

import os
from typing import IO, Any

import pycurl

from . import __version__
from ._sink import BufferSource, FileSource
from .buffers import remaining
from .inflight import Transfer
from .retry import Timeout

# Larger receive chunks mean fewer sink calls for big bodies; libcurl allows up to 10 MiB.
RECEIVE_BUFFER_SIZE = 512 * 1024
UPLOAD_BUFFER_SIZE = 512 * 1024
USER_AGENT = f"cloudfiles/{__version__} libcurl/{pycurl.version_info()[1]}"


def reusable_kind(t: Transfer) -> str | None:
    """"GET" / "PUT" for requests whose handle options can be kept for the next of the same kind."""
    if t.split is not None:
        return None
    method = t.request.method
    if method == "GET":
        return "GET"
    if method == "PUT" and t.request.body is not None and not hasattr(t.request.body, "read"):
        return "PUT"
    return None


class HandlePool:
    """The free easy handles of one engine, and what the kept ones are configured for."""

    def __init__(self) -> None:
        self.free: list[pycurl.Curl] = []
        #: handles left configured by a plain GET or buffer PUT: (kind, the Timeout and options they were set for)
        self.configured: dict[pycurl.Curl, tuple[str, Timeout, tuple[tuple[int, Any], ...]]] = {}

    def configure(self, t: Transfer, timeout: Timeout, split_threshold: int) -> pycurl.Curl:
        """A handle set up for ``t``'s next attempt (a kept one when it can be; not yet added to a multi)."""
        c = self.free.pop() if self.free else pycurl.Curl()
        req = t.request
        sink = t.sink
        sink.reset()
        method = req.method
        kind = reusable_kind(t)
        configured = kind is not None and self.configured.get(c) == (kind, timeout, req.options)
        if not configured:
            if c in self.configured:  # left configured by another kind of request (or other timeouts)
                del self.configured[c]
                c.reset()
            c.setopt(pycurl.NOSIGNAL, 1)
            # Send the path as built: curl would squash "/../" and "/./" segments of a key, so the
            # request would name another object than the one signed (or, unsigned, than the one asked for).
            c.setopt(pycurl.PATH_AS_IS, 1)
            c.setopt(pycurl.CONNECTTIMEOUT_MS, int(timeout.connect * 1000))
            c.setopt(pycurl.LOW_SPEED_LIMIT, timeout.low_speed_bytes)
            c.setopt(pycurl.LOW_SPEED_TIME, max(1, round(timeout.read)))
            if timeout.total is not None:
                c.setopt(pycurl.TIMEOUT_MS, int(timeout.total * 1000))
            c.setopt(pycurl.USERAGENT, USER_AGENT)
            for option, value in req.options:
                c.setopt(option, value)
            if kind is not None:
                self.configured[c] = (kind, timeout, req.options)
        c.setopt(pycurl.URL, req.url)
        # libcurl calls the sink's C callbacks directly (header lines, body chunks): no Python per chunk.
        sink.attach_to(c)
        headers = req.headers
        if t.range is not None:  # a part of a split GET
            extra = [("Range", f"bytes={t.range[0]}-{t.range[1] - 1}")]
            if t.split is not None and t.split.etag:
                extra.append(("If-Match", t.split.etag))
            if req.resign is not None:
                headers = req.resign(req, extra)
            else:
                headers = headers + [f"{name}: {value}" for name, value in extra]
        elif req.resign is not None and (t.attempt or t.whole):
            headers = req.resign(req, [])
        if method == "HEAD":
            c.setopt(pycurl.NOBODY, 1)
        else:
            if method == "GET":
                if req.split and t.split is None and not t.whole:
                    sink.split_threshold = split_threshold
                if req.max_size >= 0:
                    sink.max_size = req.max_size
                if not configured:
                    c.setopt(pycurl.BUFFERSIZE, RECEIVE_BUFFER_SIZE)
            elif req.body is not None:
                headers = [*headers, "Expect:"]
                self._set_body(c, t, method, configured)
            elif method != "GET":
                c.setopt(pycurl.CUSTOMREQUEST, method)
        if headers:
            c.setopt(pycurl.HTTPHEADER, headers)
        elif configured:
            # pycurl ignores an empty list: a kept handle must not send the previous request's headers.
            c.unsetopt(pycurl.HTTPHEADER)
        return c

    def _set_body(self, c: pycurl.Curl, t: Transfer, method: str, configured: bool = False) -> None:
        body = t.request.body
        if hasattr(body, "read"):
            fh: IO[bytes] = body
            if t.file_pos is None:
                t.file_pos = fh.tell()
            else:
                fh.seek(t.file_pos)  # a retry sends the same bytes again
            size = t.request.body_size
            if size is None:
                size = os.fstat(fh.fileno()).st_size - t.file_pos if has_fileno(fh) else remaining(fh)
            source: BufferSource | FileSource = FileSource(fh.read)
            t.source = source
        else:
            if isinstance(t.source, BufferSource):
                t.source.rewind()  # a retry sends the same buffer again
            else:
                t.source = BufferSource(body)
            source = t.source
            size = source.size
        if not configured:
            c.setopt(pycurl.UPLOAD_BUFFERSIZE, UPLOAD_BUFFER_SIZE)
        # libcurl holds only a pointer to the source: the transfer keeps it alive while it runs.
        source.attach_to(c)
        if method == "PUT":
            if not configured:
                c.setopt(pycurl.UPLOAD, 1)
            c.setopt(pycurl.INFILESIZE_LARGE, size)
        else:
            c.setopt(pycurl.POST, 1)
            c.setopt(pycurl.POSTFIELDSIZE_LARGE, size)
            if method != "POST":
                c.setopt(pycurl.CUSTOMREQUEST, method)

    def give_back(self, c: pycurl.Curl, kind: str | None = None) -> None:
        """Take back ``c`` (already removed from its multi). ``kind``: its request's reusable kind, or None
        to reset it."""
        if kind is None:
            # reset() drops pycurl's references to whatever a request's options named (a file body).
            self.configured.pop(c, None)
            c.reset()
        # A handle that ran a plain GET or buffer PUT keeps its options for the next request of that
        # kind (a reset and 5-7 setopts fewer per request). libcurl holds only C pointers to the sink
        # and source, which the next request replaces before the handle runs again.
        self.free.append(c)

    def close(self) -> None:
        for c in self.free:
            c.close()
        self.free.clear()
        self.configured.clear()


def has_fileno(fh: Any) -> bool:
    """Is ``fh`` backed by an OS file (its size can come from fstat)?"""
    try:
        fh.fileno()
        return True
    except (AttributeError, OSError, ValueError):
        return False
