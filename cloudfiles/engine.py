"""The transfer engine: one pycurl ``CurlMulti`` event loop moves every network transfer of a batch.

Design (see README, "Concurrency"):

* ``transfer(requests)`` is a generator. It pulls :class:`Request` objects lazily from any iterable,
  keeps up to ``concurrency`` of them in flight on one multi handle, and yields a :class:`Response` for
  each as it completes. It runs in the calling thread: no thread per request, no worker pool.
* Python runs once per *completed* transfer. libcurl calls C only while transfers move: header lines
  and body chunks go to Cython sinks, bodies come from Cython sources (``cloudfiles._sink``), and the
  socket and timer callbacks, the epoll wait and ``socket_action`` run in ``cloudfiles._loop`` with the
  GIL released (under gevent, a ``selectors`` selector with Python callbacks). File descriptors above
  1024 work.
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
* A host that accepts fewer connections than offered gets an in-flight window of its own (``congestion``).

This module is the loop. Around it: ``messages`` (Request, Response), ``transfers`` (per-request state),
``handles`` (easy-handle setup and reuse), ``pollers`` (the C loop, or selectors under gevent),
``rangecheck`` (ranged answers, transport errors), ``congestion`` (per-host windows) and
``enginecache`` (per-thread engines, fork safety). Every name callers imported from here still is.
"""

from __future__ import annotations

import heapq
import itertools
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import pycurl

from . import codecpool
from ._sink import prefault
from .buffers import buffer_nbytes
from .congestion import (
    FREE_REQUEUES,
    RESCUE_EVERY,
    SLOW_CONNECT,
    HostWindow,
    congestion_signal,
    never_received,
    origin,
)
from .enginecache import MAX_IDLE_ENGINES, idle_engines, register, reset_engines, running_engines
from .enginecache import idle_engines as _idle_engines  # noqa: F401  (the name tests read it by)
from .exceptions import CloudFilesError, ResponseTooLargeError
from .exceptions import ContentRangeError as ContentRangeError  # imported from here by callers
from .handles import USER_AGENT, HandlePool, reusable_kind
from .inflight import Split, Transfer
from .messages import Request, Response
from .messages import retry_after as parse_retry_after
from .pollers import gevent_patched, make_loop
from .rangecheck import ABANDONED, BAD_RANGE, OBJECT_CHANGED, PartStatus, range_problem, transport_error
from .retry import Retry, Timeout

DEFAULT_SPLIT_THRESHOLD = 64 * 1024 * 1024
DEFAULT_PART_SIZE = 8 * 1024 * 1024
# Longest wait between two drives of a suspended batch's transfers while a nested batch runs.
_PEER_WAIT = 0.005
#: Requests taken from a batch's input at a time (at most its concurrency) when a slot frees and none waits.
#: Building requests (signing, quoting) in runs of this many rather than one or two between loop turns
#: keeps the interpreter's working set warm (README "Design": S3 PUTs ~15% less client CPU).
PULL_BATCH = 32
#: A run of pulls stops early once the bodies it holds add up to this much, so memory stays bounded.
PULL_BYTES = 8 * 1024 * 1024


#: Prefault a split GET's buffer in steps of this size, so a failed split stops the work early.
PREFAULT_STEP = 32 * 1024 * 1024


def _prefault_split(split: Split) -> None:
    """Fault in ``split``'s buffer ahead of its parts (on a worker thread) until done, or until the split
    is complete, failed or abandoned."""
    buf = split.sink.buffer
    if buf is None:
        return
    for offset in range(0, len(buf), PREFAULT_STEP):
        if split.error is not None or not split.remaining or not prefault(buf, offset, PREFAULT_STEP):
            return


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
        self._multi = pycurl.CurlMulti()
        self._loop = make_loop(self._multi, green)
        self._handles = HandlePool()
        self._active: dict[pycurl.Curl, Transfer] = {}
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
        register(self)

    def host_windows(self) -> dict[str, HostWindow]:
        """The per-host windows this engine has learned (``scheme://host:port`` -> window), for
        diagnostics and tests: hosts that never showed congestion have none and run unwindowed."""
        return dict(self._windows)

    # -- handles -----------------------------------------------------------------------------------
    def _start(self, t: Transfer, timeout: Timeout) -> None:
        c = self._handles.configure(t, timeout, self.split_threshold)
        t.attempt += 1
        t.start = time.time()
        self._active[c] = t
        self._multi.add_handle(c)

    def _release(self, c: pycurl.Curl, kind: str | None = None) -> None:
        self._multi.remove_handle(c)
        self._handles.give_back(c, kind)

    # -- the loop ----------------------------------------------------------------------------------
    def _drive(self, max_wait: float | None) -> None:
        """Wait for socket activity or libcurl's timer, then let libcurl act on it."""
        peers = self._peers
        if len(peers) > 1:
            # A batch started while another of this thread's batches is suspended (its consumer is
            # running us): drive the suspended ones' transfers too. Left alone, a transfer whose
            # connection a single-threaded server has accepted but whose request was never sent
            # blocks that server, and with it this batch (issue 16).
            for other in peers:
                if other is not self:
                    other._loop.step(0.0)
            max_wait = _PEER_WAIT if max_wait is None else min(max_wait, _PEER_WAIT)
        self._loop.step(-1.0 if max_wait is None else max(0.0, max_wait), len(self._active))

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
        pull = min(PULL_BATCH, concurrency)  # at most one window ahead: the input stays lazy
        fresh: deque[Transfer] = deque()  # taken from the input, not yet started
        ready: deque[Transfer] = deque()
        delayed: list[tuple[float, int, Transfer]] = []
        seq = itertools.count()
        in_flight = 0
        self.running = True
        peers = self._peers = running_engines()
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
                    elif fresh or not exhausted:
                        if not fresh:
                            exhausted = not _pull(source, fresh, pull)
                            if not fresh:
                                continue
                        t = fresh.popleft()
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
                    t.split.error = ABANDONED
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
        ready: deque[Transfer],
        delayed: list[tuple[float, int, Transfer]],
        seq: Iterator[int],
        done: list[Response],
    ) -> None:
        t = self._active.pop(c)
        sink = t.sink
        req = t.request
        status = sink.status
        if not code and 200 <= status < 300 and t.window is None and t.split is None and req.byte_range is None:
            # The common case, decided in a few reads: a whole 2xx answer to a plain request, quick enough
            # to say nothing about congestion. Everything below would reach the same Response.
            now = time.time()
            if now - t.start < SLOW_CONNECT and (sink.complete() or req.method == "HEAD"):
                self._release(c, reusable_kind(t))
                done.append(Response(req, status, sink.take_body(), sink, None, t.attempt, t.start, now))
                return
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
        self._release(c, reusable_kind(t))
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
            if sink.alloc_failed:
                no_memory = CloudFilesError(f"no memory for a body of {sink.content_length} bytes from {req.url}")
                self._complete(t, ready, done, status, b"", no_memory)
                return
            if sink.part_mismatch:
                if status == 206:
                    code, message = BAD_RANGE, "a 206 answer longer than the part's range"
                else:
                    code = 0  # a whole body (200) or an error status: judged by status below
        if code == 0 and split is not None and status in (200, 412, 416):
            # 412: If-Match failed; 200: a whole body instead of the part; 416: the object got shorter.
            # The object is not the one the other parts came from: it is fetched again, whole.
            self._complete(t, ready, done, status, b"", OBJECT_CHANGED)
            return
        if code == 0 and status == 206 and (split is not None or req.byte_range is not None):
            problem = range_problem(t, sink)
            if problem is OBJECT_CHANGED:
                self._complete(t, ready, done, status, b"", OBJECT_CHANGED)
                return
            if problem is not None:
                code, message = BAD_RANGE, str(problem)

        retry_after: float | None = None
        if code:
            retryable = code == BAD_RANGE or retry.retryable_curl(code)
        else:
            retryable = retry.retryable_status(status)
            if retryable and status in (429, 503):
                retry_after = parse_retry_after(sink.header_lines)
        if retryable:
            wait = retry.wait(t.attempt - 1, retry_after)
            if retry.allows(t.attempt, t.waited, wait):
                t.waited += wait  # _start resets the sink for the next attempt
                heapq.heappush(delayed, (time.monotonic() + wait, next(seq), t))
                return
        if code:
            failure = transport_error(code, message, req.url)
            reader_error = getattr(t.source, "error", None)  # a file body whose read() raised
            if reader_error is not None:
                failure.__cause__ = reader_error
            self._complete(t, ready, done, status, b"", failure)
            return
        body = sink.body()
        if status == 200 and req.byte_range is not None:
            # The server ignored the Range and sent the whole object (complete: checked above): the
            # asked range is cut out of it, as a 206 would have carried it.
            body = body[slice(*req.byte_range)]
        self._complete(t, ready, done, status, body, None)

    def _rescue(self, ready: deque[Transfer]) -> int:
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
            t.window.in_flight -= 1  # type: ignore[union-attr]  # only windowed transfers are stuck
            self._release(c)  # removing a transfer mid-way closes its connection
            t.requeues += 1
            t.attempt -= 1
            ready.appendleft(t)
        return len(stuck)

    def _congested(self, t: Transfer, window: HostWindow | None, now: float) -> bool:
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
        t: Transfer,
        ready: deque[Transfer],
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
            return
        # A part of a split GET: the parent completes when its last part does.
        if split.error is None:
            if error is not None:
                split.error = error
            elif status != 206:
                split.error = PartStatus(status)
            elif t.request.on_part is not None and t.range is not None:
                t.request.on_part(split.header_lines, split.sink.buffer, *t.range)  # type: ignore[arg-type]
        self._part_done(split, ready, done)

    def _part_done(self, split: Split, ready: deque[Transfer], done: list[Response]) -> None:
        split.remaining -= 1
        if split.remaining:
            return
        parent = split.transfer
        err = split.error
        if err is OBJECT_CHANGED:
            # Overwritten while its parts were in flight: the new version is fetched in one response
            # (which cannot mix versions), once.
            ready.append(Transfer(parent.request, whole=True))
            return
        if err is None:
            status, body, error = 200, split.sink.body(), None
        elif isinstance(err, PartStatus):
            status, body, error = err.status, b"", None
        else:
            status, body, error = 0, b"", err
        done.append(
            Response(parent.request, status, body, split.header_lines, error, parent.attempt, parent.start, time.time())
        )

    def _split(self, t: Transfer, ready: deque[Transfer]) -> None:
        size = int(t.sink.content_length)
        split = Split(t, size, list(t.sink.header_lines))
        part = self.part_size
        for offset in range(0, size, part):
            length = min(part, size - offset)
            pt = Transfer(t.request, split, (offset, offset + length))
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
        self._handles.close()
        self._multi.close()  # first: its cleanup reports the sockets it closes to the loop
        self._loop.close()


def _pull(source: Iterator[Request], into: deque[Transfer], limit: int) -> bool:
    """Take up to ``limit`` requests from ``source`` into ``into`` (fewer once their buffer bodies reach
    :data:`PULL_BYTES`); False when ``source`` is exhausted."""
    budget = PULL_BYTES
    for _ in range(limit):
        try:
            request = next(source)
        except StopIteration:
            return False
        into.append(Transfer(request))
        if request.body is not None:
            budget -= buffer_nbytes(request.body)
            if budget <= 0:
                break
    return True


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
    idle = idle_engines(use_green)
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
