"""The transfer engine: one pycurl ``CurlMulti`` event loop moves every network transfer of a batch.

Design (see README, "Concurrency"):

* ``transfer(requests)`` is a generator. It pulls :class:`Request` objects lazily from any iterable,
  keeps up to ``concurrency`` of them in flight on one multi handle, and yields a :class:`Response` for
  each as it completes. It runs in the calling thread: no thread per request, no worker pool.
* Python runs once per *completed* transfer. Header lines and body chunks go to Cython sinks
  (``cloudfiles._sink``) that pycurl calls without a Python frame; sockets are watched with epoll (or a
  ``selectors`` selector under gevent) through ``socket_action``, so file descriptors above 1024 work.
* A whole-object GET writes into one ``bytes`` buffer sized from Content-Length. Objects above
  ``split_threshold`` whose server accepts ranges and names a strong ETag are re-fetched as parallel
  ranged GETs (``If-Match`` that ETag) into one buffer allocated once; an object replaced meanwhile (412,
  another ETag or size) is fetched again whole, once. ``max_size`` is checked before any split.
* Every ranged answer is checked: a 206 must carry the Content-Range asked for (else it is retried, then
  :class:`ContentRangeError`); a 200 (a server that ignores Range) has the asked range cut out of it.
* Connection errors, timeouts, 408/429/5xx are retried with exponential random backoff (``retry.Retry``);
  a retry is scheduled on a timer inside the loop, so other transfers keep going meanwhile.
* Per-request work is kept small: a handle that ran a plain GET (or a buffer PUT) keeps its options for
  the next request of that kind instead of a reset, and a keep-alive socket libcurl stops watching when
  a transfer ends stays registered with epoll for one more loop turn, so the next transfer on it costs
  one ``EPOLL_CTL_MOD`` rather than a DEL and an ADD.
* Each thread (or greenlet) owns its engines (a multi handle is not thread-safe); an engine and its
  connection cache are kept for the next call in the same thread, so connections are reused across calls.
"""

from __future__ import annotations

import heapq
import itertools
import os
import select
import selectors
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import pycurl

from . import __version__, codecpool
from ._sink import BodySink, BufferSource, keep_forever, prefault
from .congestion import (
    FREE_REQUEUES,
    RESCUE_EVERY,
    SLOW_CONNECT,
    HostWindow,
    congestion_signal,
    never_received,
    origin,
)
from .exceptions import (
    CloudFilesError,
    ContentRangeError,
    NetworkError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TransportError,
)
from .retry import TIMEOUT_CURL_CODES, Retry, Timeout

DEFAULT_SPLIT_THRESHOLD = 64 * 1024 * 1024
DEFAULT_PART_SIZE = 8 * 1024 * 1024
# Larger receive chunks mean fewer sink calls for big bodies; libcurl allows up to 10 MiB.
RECEIVE_BUFFER_SIZE = 512 * 1024
UPLOAD_BUFFER_SIZE = 512 * 1024
# Seconds of socket silence after which libcurl is asked to check every transfer (see Engine._drive).
_SWEEP = 0.25
# Longest wait between two drives of a suspended batch's transfers while a nested batch runs.
_PEER_WAIT = 0.005
USER_AGENT = f"cloudfiles/{__version__} libcurl/{pycurl.version_info()[1]}"


class Request:
    """One HTTP request for the engine. ``context`` is carried to the Response untouched."""

    __slots__ = (
        "method", "url", "headers", "body", "body_size", "context", "split", "max_size", "options", "byte_range",
        "resign", "signing",
    )

    def __init__(
        self,
        method: str,
        url: str,
        headers: list[str] | None = None,
        body: Any = None,
        *,
        body_size: int | None = None,
        context: Any = None,
        split: bool = False,
        max_size: int = -1,
        options: tuple[tuple[int, Any], ...] = (),
        byte_range: tuple[int | None, int | None] | None = None,
        resign: Callable[[Request, list[tuple[str, str]]], list[str]] | None = None,
        signing: Any = None,
    ) -> None:
        self.method = method
        self.url = url
        #: "Name: value" strings, sent as given
        self.headers = headers if headers is not None else []
        #: None, a buffer (bytes, bytearray, memoryview, numpy array) or a readable binary file
        self.body = body
        #: bytes to send from a file body (default: from its position to its end)
        self.body_size = body_size
        self.context = context
        #: whole-object GET that may be fetched as parallel ranged parts when large
        self.split = split
        #: refuse bodies longer than this (-1: no limit)
        self.max_size = max_size
        #: extra ``(pycurl option, value)`` pairs (redirects, CA bundle): a scheme's transport settings,
        #: one shared tuple per interface, so a kept handle is reconfigured only when they differ
        self.options = options
        #: the [start, end) of a ranged GET (Python slice bounds; a negative start with no end is a suffix).
        #: The Range header is the caller's; the engine checks a 206's Content-Range against this, and
        #: cuts it out of a 200 (a server that ignores Range sends the whole object).
        self.byte_range = byte_range
        #: ``resign(request, extra)``: every header line of ``request`` freshly signed, with ``extra`` (a
        #: split part's Range and If-Match) added. Called for each retry, each part of a split GET and a
        #: re-fetch, never for the first try (whose headers were signed when the request was built): a
        #: signature expires, credentials rotate. ``signing`` is the signer's own state, kept here for it.
        self.resign = resign
        self.signing = signing

    def __repr__(self) -> str:
        return f"Request({self.method} {self.url})"


class Response:
    """The outcome of one Request: a status and body, or a transport ``error`` (after retries)."""

    __slots__ = ("request", "status", "body", "error", "attempts", "header_lines", "_headers", "start", "end")

    def __init__(
        self,
        request: Request,
        status: int,
        body: bytes,
        header_lines: list[bytes],
        error: TransportError | CloudFilesError | None,
        attempts: int,
        start: float,
        end: float,
    ) -> None:
        self.request = request
        self.status = status
        self.body = body
        self.header_lines = header_lines
        self.error = error
        self.attempts = attempts
        self.start = start
        self.end = end
        self._headers: dict[str, str] | None = None

    @property
    def context(self) -> Any:
        return self.request.context

    @property
    def headers(self) -> dict[str, str]:
        """Response headers, names lower-cased (parsed on first use only)."""
        if self._headers is None:
            parsed: dict[str, str] = {}
            for raw in self.header_lines:
                line = raw.decode("latin-1")
                name, sep, value = line.partition(":")
                if sep:
                    key = name.strip().lower()
                    value = value.strip()
                    # Repeated headers (e.g. x-goog-hash) are joined as HTTP allows.
                    parsed[key] = f"{parsed[key]},{value}" if key in parsed else value
            self._headers = parsed
        return self._headers

    def header(self, name: str) -> str | None:
        """One header's value; scans the raw lines unless the full dict was already parsed."""
        if self._headers is not None:
            return self._headers.get(name.lower())
        return _header_value(self.header_lines, name.lower().encode("latin-1"))

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300

    def __repr__(self) -> str:
        return f"Response({self.request.method} {self.request.url} -> {self.status}, error={self.error!r})"


class _Split:
    """A large GET being fetched as ranged parts into one buffer."""

    __slots__ = ("transfer", "sink", "header_lines", "size", "etag", "remaining", "error")

    def __init__(self, transfer: _Transfer, size: int, header_lines: list[bytes]) -> None:
        self.transfer = transfer
        self.sink = BodySink()
        self.sink.allocate(size)
        self.header_lines = header_lines
        self.size = size
        #: the first response's strong ETag: every part is fetched If-Match it and must carry it
        self.etag = _header_value(header_lines, b"etag")
        self.remaining = 0
        #: the first failure; once set, parts not yet sent are dropped and the prefault work stops
        self.error: CloudFilesError | None = None


#: Prefault a split GET's buffer in steps of this size, so a failed split stops the work early.
PREFAULT_STEP = 32 * 1024 * 1024


def _prefault_split(split: _Split) -> None:
    """Fault in ``split``'s buffer ahead of its parts (on a worker thread) until done, or until the split
    is complete, failed or abandoned."""
    buf = split.sink.buffer
    if buf is None:
        return
    for offset in range(0, len(buf), PREFAULT_STEP):
        if split.error is not None or not split.remaining or not prefault(buf, offset, PREFAULT_STEP):
            return


class _Transfer:
    """Engine-side state of one request across its attempts."""

    __slots__ = (
        "request", "sink", "attempt", "waited", "start", "split", "source", "file_pos", "range", "whole", "window",
        "requeues", "load",
    )

    def __init__(
        self,
        request: Request,
        split: _Split | None = None,
        byte_range: tuple[int, int] | None = None,
        *,
        whole: bool = False,
    ) -> None:
        self.request = request
        self.sink = BodySink()
        self.attempt = 0
        self.waited = 0.0
        self.start = 0.0
        self.split = split  # set on the parts of a split GET
        self.source: BufferSource | None = None
        self.file_pos: int | None = None
        self.range = byte_range  # a split part's [start, end)
        self.whole = whole  # a split GET fetched again in one piece (its object changed mid-download)
        self.window: HostWindow | None = None  # its host's window, when that host has one
        self.requeues = 0  # congestion requeues not counted as attempts (see congestion.FREE_REQUEUES)
        self.load = 0  # transfers in flight (to its host when windowed), itself included, when it started


def _reusable_kind(t: _Transfer) -> str | None:
    """"GET" / "PUT" for requests whose handle options can be kept for the next of the same kind."""
    if t.split is not None:
        return None
    method = t.request.method
    if method == "GET":
        return "GET"
    if method == "PUT" and t.request.body is not None and not hasattr(t.request.body, "read"):
        return "PUT"
    return None


#: pseudo curl code of a ranged answer that is not the asked range (retried, then ContentRangeError)
_BAD_RANGE = -1


def _transport_error(code: int, message: str, url: str) -> TransportError:
    if code == _BAD_RANGE:
        return ContentRangeError(message, url=url)
    cls = RequestTimeoutError if code in TIMEOUT_CURL_CODES else NetworkError
    return cls(f"curl error {code}: {message}", url=url, curl_code=code)


_POLL_REMOVE = pycurl.POLL_REMOVE
# libcurl's POLL_IN (1), POLL_OUT (2), POLL_INOUT (3) -> epoll event mask
_EPOLL_MASKS = (0, select.EPOLLIN, select.EPOLLOUT, select.EPOLLIN | select.EPOLLOUT) if hasattr(select, "epoll") else ()


class _EpollPoller:
    """Socket readiness through epoll: no FD_SETSIZE limit.

    libcurl asks to stop watching a keep-alive socket when a transfer on it ends and to watch it again
    when the next transfer reuses it, often one loop turn later. Unregistering and re-registering cost
    two ``epoll_ctl`` calls per request, so a removal is deferred to the end of the *next* loop turn
    (:meth:`flush`): a socket reused by then needs one ``EPOLL_CTL_MOD`` instead. A stray readiness
    event for a socket libcurl has forgotten is harmless (``socket_action`` ignores unknown sockets).
    """

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._fds: set[int] = set()
        #: fd -> loop turn of its deferred removal
        self._pending: dict[int, int] = {}
        self._turn = 0

    def on_socket(self, what: int, fd: int, multi: Any, socketp: Any) -> None:
        """libcurl's socket callback (M_SOCKETFUNCTION), called directly: one Python frame per call."""
        if what == _POLL_REMOVE:
            if fd in self._fds:
                self._pending[fd] = self._turn
            return
        mask = _EPOLL_MASKS[what]
        if self._pending:
            self._pending.pop(fd, None)
        if fd in self._fds:
            try:
                # Always MOD, even for an unchanged mask: if the fd was closed and its number reused,
                # epoll dropped the old registration and MOD fails, so the new socket is registered.
                self._epoll.modify(fd, mask)
                return
            except FileNotFoundError:  # the fd was closed and reused behind our back
                pass
        self._epoll.register(fd, mask)
        self._fds.add(fd)

    def flush(self) -> None:
        """Unregister sockets whose removal was deferred in an earlier loop turn and not reclaimed."""
        turn = self._turn
        self._turn = turn + 1
        if not self._pending:
            return
        stale = [fd for fd, marked in self._pending.items() if marked < turn]
        for fd in stale:
            del self._pending[fd]
            self._fds.discard(fd)
            try:
                self._epoll.unregister(fd)
            except (FileNotFoundError, OSError):
                pass

    def fds(self) -> list[int]:
        return list(self._fds)

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        out = []
        for fd, ev in self._epoll.poll(timeout):
            flags = 0
            if ev & (select.EPOLLIN | select.EPOLLHUP):
                flags |= pycurl.CSELECT_IN
            if ev & select.EPOLLOUT:
                flags |= pycurl.CSELECT_OUT
            if ev & select.EPOLLERR:
                flags |= pycurl.CSELECT_ERR
            out.append((fd, flags))
        return out

    def close(self) -> None:
        self._epoll.close()


class _SelectorPoller:
    """Socket readiness through ``selectors`` (gevent patches it to yield to other greenlets)."""

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()

    def on_socket(self, what: int, fd: int, multi: Any, socketp: Any) -> None:
        """libcurl's socket callback (M_SOCKETFUNCTION)."""
        if what == _POLL_REMOVE:
            try:
                self._sel.unregister(fd)
            except (KeyError, ValueError, OSError):
                pass
            return
        mask = (selectors.EVENT_READ if what & 1 else 0) | (selectors.EVENT_WRITE if what & 2 else 0)
        try:
            self._sel.modify(fd, mask)
        except KeyError:
            self._sel.register(fd, mask)

    def fds(self) -> list[int]:
        return [int(key.fd) for key in self._sel.get_map().values()]

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        out = []
        for key, mask in self._sel.select(timeout):
            flags = 0
            if mask & selectors.EVENT_READ:
                flags |= pycurl.CSELECT_IN
            if mask & selectors.EVENT_WRITE:
                flags |= pycurl.CSELECT_OUT
            out.append((int(key.fd), flags))
        return out

    def flush(self) -> None:
        """Removals are immediate here."""

    def close(self) -> None:
        self._sel.close()


def gevent_patched() -> bool:
    """True when gevent has monkey-patched the select module."""
    if "gevent" not in sys.modules:
        return False
    try:
        from gevent import monkey

        return bool(monkey.is_module_patched("select"))
    except Exception:  # pragma: no cover - broken gevent install
        return False


class _Timer:
    """libcurl's timer (M_TIMERFUNCTION) as a deadline for the loop's wait.

    It lives apart from the Engine on purpose: a bound method of the engine set on the engine's own multi
    handle made a reference cycle, so an exited thread's engine (its epoll descriptor, libcurl's wakeup
    pair and kept-alive sockets) stayed open until a garbage-collection pass.
    """

    __slots__ = ("deadline",)

    def __init__(self) -> None:
        self.deadline: float | None = None

    def on_timer(self, ms: int) -> None:
        self.deadline = None if ms < 0 else time.monotonic() + ms / 1000.0


class Engine:
    """One CurlMulti loop. Not thread-safe: use :func:`transfer`, which gives each thread its own."""

    def __init__(
        self,
        *,
        green: bool = False,
        split_threshold: int | None = None,
        part_size: int | None = None,
    ) -> None:
        # Defaults read at construction, so a test can lower them for the engines it makes.
        self.split_threshold = DEFAULT_SPLIT_THRESHOLD if split_threshold is None else split_threshold
        self.part_size = DEFAULT_PART_SIZE if part_size is None else part_size
        self.green = green
        self._poller: _EpollPoller | _SelectorPoller = (
            _SelectorPoller() if green or not hasattr(select, "epoll") else _EpollPoller()
        )
        self._timer = _Timer()
        self._last_sweep = 0.0
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._poller.on_socket)
        self._multi.setopt(pycurl.M_TIMERFUNCTION, self._timer.on_timer)
        self._free: list[pycurl.Curl] = []
        #: handles left configured by a plain GET or buffer PUT: (kind, the Timeout and options they were set for)
        self._configured: dict[pycurl.Curl, tuple[str, Timeout, tuple[tuple[int, Any], ...]]] = {}
        self._active: dict[pycurl.Curl, _Transfer] = {}
        #: per-host windows of hosts that showed congestion (see cloudfiles.congestion); kept across batches
        self._windows: dict[str, HostWindow] = {}
        self._concurrency = 1
        self._max_host_connections = 0
        self._rescue_at = 0.0
        self.running = False
        #: this thread's engines with a batch in progress, this one included while it runs (see _drive)
        self._peers: list[Engine] = []
        #: the process that owns the sockets: a forked child must not clean up what it inherited
        self._pid = os.getpid()
        _register(self)

    def host_windows(self) -> dict[str, HostWindow]:
        """The per-host windows this engine has learned (``scheme://host:port`` -> window), for
        diagnostics and tests: hosts that never showed congestion have none and run unwindowed."""
        return dict(self._windows)

    # -- handles -----------------------------------------------------------------------------------
    def _start(self, t: _Transfer, timeout: Timeout) -> None:
        c = self._free.pop() if self._free else pycurl.Curl()
        req = t.request
        sink = t.sink
        sink.reset()
        method = req.method
        kind = _reusable_kind(t)
        configured = kind is not None and self._configured.get(c) == (kind, timeout, req.options)
        if not configured:
            if c in self._configured:  # left configured by another kind of request (or other timeouts)
                del self._configured[c]
                c.reset()
            c.setopt(pycurl.NOSIGNAL, 1)
            # Send the path as built: curl would squash "/../" and "/./" segments of a key, so the
            # request would name another object than the one signed (or, unsigned, than the one asked for).
            c.setopt(pycurl.PATH_AS_IS, 1)
            c.setopt(pycurl.CONNECTTIMEOUT_MS, int(timeout.connect * 1000))
            c.setopt(pycurl.LOW_SPEED_LIMIT, timeout.low_speed_bytes)
            c.setopt(pycurl.LOW_SPEED_TIME, max(1, int(round(timeout.read))))
            if timeout.total is not None:
                c.setopt(pycurl.TIMEOUT_MS, int(timeout.total * 1000))
            c.setopt(pycurl.USERAGENT, USER_AGENT)
            for option, value in req.options:
                c.setopt(option, value)
            if kind is not None:
                self._configured[c] = (kind, timeout, req.options)
        c.setopt(pycurl.URL, req.url)
        c.setopt(pycurl.HEADERFUNCTION, sink.header)
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
            c.setopt(pycurl.WRITEFUNCTION, sink.write)
            if method == "GET":
                if req.split and t.split is None and not t.whole:
                    sink.split_threshold = self.split_threshold
                if req.max_size >= 0:
                    sink.max_size = req.max_size
                if not configured:
                    c.setopt(pycurl.BUFFERSIZE, RECEIVE_BUFFER_SIZE)
            elif req.body is not None:
                headers = headers + ["Expect:"]
                self._set_body(c, t, method, configured)
            elif method != "GET":
                c.setopt(pycurl.CUSTOMREQUEST, method)
        if headers:
            c.setopt(pycurl.HTTPHEADER, headers)
        elif configured:
            # pycurl ignores an empty list: a kept handle must not send the previous request's headers.
            c.unsetopt(pycurl.HTTPHEADER)
        t.attempt += 1
        t.start = time.time()
        self._active[c] = t
        self._multi.add_handle(c)

    def _set_body(self, c: pycurl.Curl, t: _Transfer, method: str, configured: bool = False) -> None:
        body = t.request.body
        if hasattr(body, "read"):
            fh: IO[bytes] = body
            if t.file_pos is None:
                t.file_pos = fh.tell()
            else:
                fh.seek(t.file_pos)  # a retry sends the same bytes again
            size = t.request.body_size
            if size is None:
                size = os.fstat(fh.fileno()).st_size - t.file_pos if _has_fileno(fh) else _remaining(fh)
            reader: Callable[[int], bytes] = fh.read
        else:
            if t.source is None:
                t.source = BufferSource(body)
            else:
                t.source.rewind()
            size = t.source.size
            reader = t.source.read
        if not configured:
            c.setopt(pycurl.UPLOAD_BUFFERSIZE, UPLOAD_BUFFER_SIZE)
        c.setopt(pycurl.READFUNCTION, reader)
        if method == "PUT":
            if not configured:
                c.setopt(pycurl.UPLOAD, 1)
            c.setopt(pycurl.INFILESIZE_LARGE, size)
        else:
            c.setopt(pycurl.POST, 1)
            c.setopt(pycurl.POSTFIELDSIZE_LARGE, size)
            if method != "POST":
                c.setopt(pycurl.CUSTOMREQUEST, method)

    def _release(self, c: pycurl.Curl, kind: str | None = None) -> None:
        self._multi.remove_handle(c)
        if kind is None:
            # reset() drops the references to sinks and bodies, so a finished body is not kept alive here.
            self._configured.pop(c, None)
            c.reset()
        elif kind == "PUT":
            c.unsetopt(pycurl.READFUNCTION)  # the body source: the caller's buffer must not stay alive
        # A handle that ran a plain GET or buffer PUT keeps its options for the next request of that
        # kind (a reset and 5-7 setopts fewer per request); its sink drops the body on completion.
        self._free.append(c)

    # -- the loop ----------------------------------------------------------------------------------
    def _drive(self, max_wait: float | None) -> None:
        """Wait for socket activity or libcurl's timer, then let libcurl act on it."""
        now = time.monotonic()
        timer = self._timer
        deadline = timer.deadline
        wait = _SWEEP if deadline is None else min(_SWEEP, max(0.0, deadline - now))
        if max_wait is not None:
            wait = min(wait, max(0.0, max_wait))
        peers = self._peers
        if len(peers) > 1:
            # A batch started while another of this thread's batches is suspended (its consumer is
            # running us): drive the suspended ones' transfers too. Left alone, a transfer whose
            # connection a single-threaded server has accepted but whose request was never sent
            # blocks that server, and with it this batch (issue 16).
            for other in peers:
                if other is not self:
                    other._step(0.0, time.monotonic())
            wait = min(wait, _PEER_WAIT)
        self._step(wait, now)

    def _step(self, wait: float, now: float) -> None:
        """Wait up to ``wait`` seconds for socket activity, then let libcurl act on it and its timer."""
        timer = self._timer
        events = self._poller.poll(wait) if wait > 0 else self._poller.poll(0)
        action = self._multi.socket_action
        for fd, flags in events:
            action(fd, flags)
        if not events and now - self._last_sweep >= _SWEEP:
            # socket_action(TIMEOUT) runs only transfers whose own timer expired, and libcurl may not
            # arm a silent transfer's low-speed check: in a batch, a stalled request then waited for
            # its connect timeout instead of the read timeout. After each quiet _SWEEP, let libcurl
            # look at every socket (bitmask 0: "check it yourself").
            self._last_sweep = now
            for fd in self._poller.fds():
                action(fd, 0)
        deadline = timer.deadline
        if deadline is not None and time.monotonic() >= deadline:
            timer.deadline = None
            action(pycurl.SOCKET_TIMEOUT, 0)
        self._poller.flush()

    def run(
        self,
        requests: Iterable[Request],
        *,
        concurrency: int = 20,
        retry: Retry | None = None,
        timeout: Timeout | None = None,
        max_host_connections: int = 0,
    ) -> Iterator[Response]:
        """Yield one Response per Request, in completion order, with up to ``concurrency`` in flight
        (fewer to a host that showed congestion, see :mod:`cloudfiles.congestion`).

        ``max_host_connections``: libcurl's cap on connections to one host (0: none); transfers beyond
        it wait inside libcurl for a connection to free up.
        """
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if max_host_connections < 0:
            raise ValueError(f"max_host_connections must be >= 0, got {max_host_connections}")
        retry = retry if retry is not None else Retry()
        timeout = timeout if timeout is not None else Timeout()
        self._multi.setopt(pycurl.M_MAXCONNECTS, max(concurrency, 16))
        if max_host_connections != self._max_host_connections:
            self._multi.setopt(pycurl.M_MAX_HOST_CONNECTIONS, max_host_connections)
            self._max_host_connections = max_host_connections
        self._concurrency = concurrency
        windows = self._windows
        for learned in windows.values():  # learned by earlier batches; this batch's counts start afresh
            learned.limit = concurrency
            learned.size = min(learned.size, concurrency)
            learned.in_flight = 0
            learned.parked.clear()
        source = iter(requests)
        exhausted = False
        ready: deque[_Transfer] = deque()
        delayed: list[tuple[float, int, _Transfer]] = []
        seq = itertools.count()
        in_flight = 0
        self.running = True
        peers = self._peers = _running_engines()
        peers.append(self)
        try:
            while True:
                done: list[Response] = []
                if delayed:
                    now = time.monotonic()
                    while delayed and delayed[0][0] <= now:
                        ready.append(heapq.heappop(delayed)[2])
                while in_flight < concurrency:
                    if ready:
                        t = ready.popleft()
                        if t.split is not None and t.split.error is not None:
                            self._part_done(t.split, ready, done)  # a part of a failed split: not sent
                            continue
                    elif not exhausted:
                        try:
                            t = _Transfer(next(source))
                        except StopIteration:
                            exhausted = True
                            continue
                    else:
                        break
                    if windows:
                        host_window = windows.get(origin(t.request.url))
                        if host_window is not None:
                            if host_window.in_flight >= host_window.size:
                                host_window.parked.append(t)  # started when a transfer to its host ends
                                break
                            host_window.in_flight += 1
                            t.load = host_window.in_flight
                        t.window = host_window
                    self._start(t, timeout)
                    in_flight += 1
                    if t.window is None:
                        t.load = in_flight
                if in_flight == 0:
                    if done:
                        yield from done
                        continue
                    if delayed:
                        time.sleep(max(0.0, delayed[0][0] - time.monotonic()))
                        continue
                    return
                self._drive(delayed[0][0] - time.monotonic() if delayed else None)

                while True:
                    queued, ok_list, err_list = self._multi.info_read()
                    for c in ok_list:
                        in_flight -= 1
                        self._finish(c, 0, "", retry, ready, delayed, seq, done)
                    for c, code, msg in err_list:
                        in_flight -= 1
                        self._finish(c, code, msg, retry, ready, delayed, seq, done)
                    if not queued:
                        break
                if windows and time.monotonic() >= self._rescue_at:
                    self._rescue_at = time.monotonic() + RESCUE_EVERY
                    in_flight -= self._rescue(ready)
                yield from done
        finally:
            self.running = False
            if self in peers:
                peers.remove(self)
            # An abandoned batch (the consumer stopped iterating, or an error): its splits stop their
            # prefault work and nothing of them is kept.
            for t in itertools.chain(self._active.values(), ready, (entry[2] for entry in delayed)):
                if t.split is not None and t.split.error is None:
                    t.split.error = _ABANDONED
            if self._pid == os.getpid():
                for c in list(self._active):
                    self._release(c)
                self._active.clear()

    def _finish(
        self,
        c: pycurl.Curl,
        code: int,
        message: str,
        retry: Retry,
        ready: deque[_Transfer],
        delayed: list[tuple[float, int, _Transfer]],
        seq: Iterator[int],
        done: list[Response],
    ) -> None:
        t = self._active.pop(c)
        sink = t.sink
        req = t.request
        status = sink.status
        split = t.split
        window = t.window
        if window is not None:
            window.in_flight -= 1
            if window.parked:
                ready.appendleft(window.parked.popleft())
        now = time.time()
        # The common case (no error, a quick transfer) reads no connection info and makes no call.
        if (code or now - t.start >= SLOW_CONNECT) and congestion_signal(c, code, status, now - t.start):
            if self._congested(t, window, now) and code and t.requeues < FREE_REQUEUES:
                # Not the request's fault: sent again at once, as the same attempt (bounded per request).
                self._release(c)
                t.requeues += 1
                t.attempt -= 1
                ready.appendleft(t)
                return
        elif window is not None and code == 0:
            window.succeeded(now)
            if window.recovered and self._windows.get(origin(req.url)) is window:
                del self._windows[origin(req.url)]
        self._release(c, _reusable_kind(t))
        if code == 0 and status and not sink.complete() and req.method != "HEAD":
            code, message = pycurl.E_PARTIAL_FILE, "body shorter than its Content-Length"

        if code == pycurl.E_WRITE_ERROR:
            if sink.split_requested:
                self._split(t, ready)
                return
            if sink.too_large:
                error = ResponseTooLargeError(f"body of {sink.content_length} bytes exceeds {req.max_size}")
                self._complete(t, ready, done, status, b"", error)
                return
            if sink.part_mismatch:
                if status == 206:
                    code, message = _BAD_RANGE, "a 206 answer longer than the part's range"
                else:
                    code = 0  # a whole body (200) or an error status: judged by status below
        if code == 0 and split is not None and status in (200, 412, 416):
            # 412: If-Match failed; 200: a whole body instead of the part; 416: the object got shorter.
            # The object is not the one the other parts came from: it is fetched again, whole.
            self._complete(t, ready, done, status, b"", _OBJECT_CHANGED)
            return
        if code == 0 and status == 206 and (split is not None or req.byte_range is not None):
            problem = _range_problem(t, sink)
            if problem is _OBJECT_CHANGED:
                self._complete(t, ready, done, status, b"", _OBJECT_CHANGED)
                return
            if problem is not None:
                code, message = _BAD_RANGE, str(problem)

        retry_after: float | None = None
        if code:
            retryable = code == _BAD_RANGE or retry.retryable_curl(code)
        else:
            retryable = retry.retryable_status(status)
            if retryable and status in (429, 503):
                retry_after = _retry_after(sink.header_lines)
        if retryable:
            wait = retry.wait(t.attempt - 1, retry_after)
            if retry.allows(t.attempt, t.waited, wait):
                t.waited += wait  # _start resets the sink for the next attempt
                heapq.heappush(delayed, (time.monotonic() + wait, next(seq), t))
                return
        if code:
            self._complete(t, ready, done, status, b"", _transport_error(code, message, req.url))
            return
        body = sink.body()
        if status == 200 and req.byte_range is not None:
            # The server ignored the Range and sent the whole object (complete: checked above): the
            # asked range is cut out of it, as a 206 would have carried it.
            body = body[slice(*req.byte_range)]
        self._complete(t, ready, done, status, body, None)

    def _rescue(self, ready: deque[_Transfer]) -> int:
        """Abort and requeue transfers to windowed hosts that have waited :data:`SLOW_CONNECT` with no
        answer and whose request the server cannot have (see ``congestion.never_received``): the kernel
        would resend their SYN or request only after seconds of backoff. Returns how many."""
        stale = time.time() - SLOW_CONNECT
        stuck = [
            (c, t) for c, t in self._active.items()
            if t.window is not None and t.start <= stale and not t.sink.status and t.requeues < FREE_REQUEUES
            and never_received(c)
        ]
        for c, t in stuck:
            del self._active[c]
            assert t.window is not None
            t.window.in_flight -= 1
            self._release(c)  # removing a transfer mid-way closes its connection
            t.requeues += 1
            t.attempt -= 1
            ready.appendleft(t)
        return len(stuck)

    def _congested(self, t: _Transfer, window: HostWindow | None, now: float) -> bool:
        """A congestion signal from ``t``: cut its host's window (made now if the host had none).
        True when more than ``t`` was in flight to that host (the signal counts)."""
        if window is None:
            key = origin(t.request.url)
            window = self._windows.get(key)
            if window is None:
                window = HostWindow(self._concurrency)
                for other in self._active.values():
                    if origin(other.request.url) == key:
                        other.window = window
                        window.in_flight += 1
                self._windows[key] = window
        # The load when t started (its SYN was dropped then), or now if higher; t itself included.
        load = max(t.load, window.in_flight + 1)
        stale = now - SLOW_CONNECT
        stuck = sum(1 for o in self._active.values() if o.window is window and o.start <= stale and not o.sink.status)
        window.congested(load, t.start, now, stuck)
        return load > 1

    def _complete(
        self,
        t: _Transfer,
        ready: deque[_Transfer],
        done: list[Response],
        status: int,
        body: bytes,
        error: CloudFilesError | None,
    ) -> None:
        split = t.split
        if split is None:
            done.append(
                Response(t.request, status, body, t.sink.header_lines, error, t.attempt, t.start, time.time())
            )
            t.sink.reset()  # the handle may keep this sink: it must not keep the body alive
            return
        # A part of a split GET: the parent completes when its last part does.
        if split.error is None:
            if error is not None:
                split.error = error
            elif status != 206:
                split.error = _PartStatus(status)
        self._part_done(split, ready, done)

    def _part_done(self, split: _Split, ready: deque[_Transfer], done: list[Response]) -> None:
        split.remaining -= 1
        if split.remaining:
            return
        parent = split.transfer
        err = split.error
        if err is _OBJECT_CHANGED:
            # Overwritten while its parts were in flight: the new version is fetched in one response
            # (which cannot mix versions), once.
            ready.append(_Transfer(parent.request, whole=True))
            return
        if err is None:
            status, body, error = 200, split.sink.body(), None
        elif isinstance(err, _PartStatus):
            status, body, error = err.status, b"", None
        else:
            status, body, error = 0, b"", err
        done.append(
            Response(parent.request, status, body, split.header_lines, error, parent.attempt, parent.start, time.time())
        )

    def _split(self, t: _Transfer, ready: deque[_Transfer]) -> None:
        size = int(t.sink.content_length)
        split = _Split(t, size, list(t.sink.header_lines))
        part = self.part_size
        for offset in range(0, size, part):
            length = min(part, size - offset)
            pt = _Transfer(t.request, split, (offset, offset + length))
            pt.sink.attach(split.sink, offset, length)
            split.remaining += 1
            ready.append(pt)
        if not self.green and codecpool.num_workers() > 1:
            # First touch of fresh memory (page faults) costs about as much CPU as receiving into it:
            # a worker faults the buffer in ahead of the parts, on another core.
            codecpool.get_pool().submit(_prefault_split, split)

    def close(self) -> None:
        if self._pid != os.getpid():
            return  # inherited across fork(): the parent's connections are not ours to close
        for c in list(self._active):
            self._release(c)
        self._active.clear()
        for c in self._free:
            c.close()
        self._free.clear()
        self._configured.clear()
        self._multi.close()
        self._poller.close()


#: the failure of a split whose object changed mid-download (412, a whole-body answer, another ETag or
#: size): never reported, the object is fetched again whole
_OBJECT_CHANGED = CloudFilesError("the object changed during a split download")
#: the failure of a split whose batch was abandoned
_ABANDONED = CloudFilesError("the batch was abandoned")


def _content_range(lines: list[bytes]) -> tuple[int, int, int | None] | None:
    """``(first, last, total)`` of a ``Content-Range: bytes first-last/total`` header (total None for
    ``*``); None when the header is absent or not of that form."""
    value = _header_value(lines, b"content-range")
    if value is None:
        return None
    unit, _, spec = value.partition(" ")
    span, _, total = spec.strip().partition("/")
    first, _, last = span.partition("-")
    if unit.lower() != "bytes":
        return None
    try:
        return int(first), int(last), None if total.strip() == "*" else int(total)
    except ValueError:
        return None


def _range_problem(t: _Transfer, sink: BodySink) -> str | CloudFilesError | None:
    """Why a 206 is not the range ``t`` asked for: a message, :data:`_OBJECT_CHANGED` (a split part
    from another version of the object) or None when it is the asked range."""
    got = _content_range(sink.header_lines)
    split = t.split
    start: int
    end: int | None
    if split is not None and t.range is not None:
        start, end = t.range
        if got is not None and got[2] is not None and got[2] != split.size:
            return _OBJECT_CHANGED  # another size: another object
        if split.etag and _header_value(sink.header_lines, b"etag") not in (None, split.etag):
            return _OBJECT_CHANGED  # a server that ignored If-Match
    else:
        assert t.request.byte_range is not None
        range_start, range_end = t.request.byte_range
        start, end = range_start or 0, range_end
    nbytes = sink.received
    if got is None:
        return "a 206 answer without a valid Content-Range"
    first, last, total = got
    if total is not None and nbytes == 0 and start >= total:
        return None  # the range starts at or past the end: nothing (some servers send 206, not 416)
    if last < first or last - first + 1 != nbytes or (total is not None and last >= total):
        return f"Content-Range bytes {first}-{last}/{total} does not describe the {nbytes} bytes received"
    if start < 0:  # a suffix: the last -start bytes
        ok = last - first + 1 <= -start if total is None else (first == max(0, total + start) and last == total - 1)
    elif first != start:
        ok = False
    elif end is None:
        ok = total is None or last == total - 1
    else:
        ok = last == end - 1 or (total is not None and last == total - 1 and total < end)
    if ok:
        return None
    asked = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
    if start < 0:
        asked = f"bytes={start}"
    return f"asked for {asked}, answered Content-Range bytes {first}-{last}/{'*' if total is None else total}"


class _PartStatus(CloudFilesError):
    """A part of a split GET got a final non-206 status (e.g. 412: the object changed)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"ranged part answered {status}")
        self.status = status


def _header_value(lines: list[bytes], name: bytes) -> str | None:
    """Value of header ``name`` (lower-case bytes) in raw header lines; None when absent."""
    n = len(name)
    for line in lines:
        # Cheap filter first (1-byte slices are cached objects): only lines whose colon sits right.
        if line[n : n + 1] == b":" and line[:n].lower() == name:
            return line[n + 1 :].strip().decode("latin-1")
    return None


def _retry_after(lines: list[bytes]) -> float | None:
    value = _header_value(lines, b"retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _has_fileno(fh: Any) -> bool:
    try:
        fh.fileno()
        return True
    except (AttributeError, OSError, ValueError):
        return False


def _remaining(fh: IO[bytes]) -> int:
    pos = fh.tell()
    end = fh.seek(0, os.SEEK_END)
    fh.seek(pos)
    return end - pos


# -- per-thread engines --------------------------------------------------------------------------------
#: idle engines a thread keeps (per kind) for its next call; more than this (after nested batches) are closed
MAX_IDLE_ENGINES = 2
_local = threading.local()
#: every engine of this process, weakly: the fork handlers must find other threads' engines too
_LIVE: dict[int, weakref.ref[Engine]] = {}
#: strong references taken just before fork() (see _before_fork)
_AT_FORK: list[Engine] = []


def _register(engine: Engine) -> None:
    key = id(engine)
    _LIVE[key] = weakref.ref(engine, lambda _ref: _LIVE.pop(key, None))


def _running_engines() -> list[Engine]:
    """This thread's engines with a batch in progress (a list: nested batches are few)."""
    running: list[Engine] | None = getattr(_local, "running", None)
    if running is None:
        running = []
        _local.running = running
    return running


def _idle_engines(green: bool) -> list[Engine]:
    key = "green" if green else "native"
    pools: dict[str, list[Engine]] | None = getattr(_local, "pools", None)
    if pools is None:
        pools = {}
        _local.pools = pools
    return pools.setdefault(key, [])


def _before_fork() -> None:
    # Hold every engine (other threads' idle and running ones too) across fork(): the child clears the
    # other threads' states before its fork handlers run, which would free their engines there.
    _AT_FORK[:] = [e for e in (ref() for ref in list(_LIVE.values())) if e is not None]


def _after_fork_in_parent() -> None:
    _AT_FORK.clear()


def _after_fork_in_child() -> None:
    # The parent's engines share their sockets (and epoll instances) with the parent. Closing them here
    # would send TLS close_notify on the parent's connections or unregister the parent's sockets, so
    # they are never cleaned up in the child: held forever (even through interpreter shutdown), and
    # this process starts with no engines.
    global _local
    for inherited in _AT_FORK:
        keep_forever(inherited)
    _AT_FORK.clear()
    _LIVE.clear()
    _local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )


def reset_engines() -> None:
    """Close this thread's idle engines (and their kept-alive connections); new ones start on demand."""
    pools: dict[str, list[Engine]] | None = getattr(_local, "pools", None)
    for idle in (pools or {}).values():
        while idle:
            idle.pop().close()


def transfer(
    requests: Iterable[Request],
    *,
    concurrency: int = 20,
    retry: Retry | None = None,
    timeout: Timeout | None = None,
    green: bool | None = None,
    max_host_connections: int | None = None,
) -> Iterator[Response]:
    """Run ``requests`` through this thread's engine; yield Responses in completion order.

    Re-entrant: a consumer that starts another transfer while iterating gets a second engine (which
    keeps the first one's transfers moving while it runs).

    ``max_host_connections``: most connections to one host at once (libcurl's
    ``CURLMOPT_MAX_HOST_CONNECTIONS``); None reads ``CLOUDFILES_MAX_HOST_CONNECTIONS``, 0 is no cap.
    """
    if max_host_connections is None:
        max_host_connections = max_host_connections_from_env()
    use_green = gevent_patched() if green is None else bool(green)
    idle = _idle_engines(use_green)
    engine = idle.pop() if idle else Engine(green=use_green)
    try:
        yield from engine.run(
            requests, concurrency=concurrency, retry=retry, timeout=timeout,
            max_host_connections=max_host_connections,
        )
    finally:
        if len(idle) < MAX_IDLE_ENGINES:
            idle.append(engine)
        else:
            engine.close()


#: names the default per-host connection cap (an integer; 0 or unset: no cap)
MAX_HOST_CONNECTIONS_ENV = "CLOUDFILES_MAX_HOST_CONNECTIONS"


def max_host_connections_from_env(environ: Any = None) -> int:
    """The per-host connection cap named by ``CLOUDFILES_MAX_HOST_CONNECTIONS`` (0: unset, no cap)."""
    value = (os.environ if environ is None else environ).get(MAX_HOST_CONNECTIONS_ENV, "").strip()
    if not value:
        return 0
    try:
        cap = int(value)
    except ValueError:
        raise ValueError(f"{MAX_HOST_CONNECTIONS_ENV} must be a whole number, got {value!r}") from None
    if cap < 0:
        raise ValueError(f"{MAX_HOST_CONNECTIONS_ENV} must be >= 0, got {cap}")
    return cap


def request_one(
    request: Request,
    *,
    retry: Retry | None = None,
    timeout: Timeout | None = None,
    green: bool | None = None,
    max_host_connections: int | None = None,
) -> Response:
    """Run a single request to completion."""
    for response in transfer(
        [request], concurrency=1, retry=retry, timeout=timeout, green=green, max_host_connections=max_host_connections
    ):
        return response
    raise RuntimeError("engine produced no response")  # pragma: no cover


__all__ = [
    "DEFAULT_PART_SIZE",
    "DEFAULT_SPLIT_THRESHOLD",
    "MAX_HOST_CONNECTIONS_ENV",
    "USER_AGENT",
    "Engine",
    "Request",
    "Response",
    "ResponseTooLargeError",
    "gevent_patched",
    "max_host_connections_from_env",
    "request_one",
    "reset_engines",
    "transfer",
]
