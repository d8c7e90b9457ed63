"""Per-host in-flight windows: adaptive concurrency for servers that accept few connections.

A small server (a single-threaded one with a listen backlog of 5, as ``gcp-storage-emulator`` ships) drops
the SYNs of connections beyond its accept queue. The kernel resends a SYN after 1 s, 3 s, 7 s: a batch
with 20 transfers in flight waits seconds on requests the server would answer in a millisecond, and a
connect that loses every SYN times out (curl error 28 after 10 s). The engine reads that as congestion
and shrinks its window for that host, AIMD style:

* a signal: a connect that failed (refused, timed out), a connection reset before any response, or a
  connect that took at least :data:`SLOW_CONNECT` (a SYN was resent), while more than one transfer to the
  host was in flight (alone, it is the server or network failing, and ordinary retries handle that);
* the window halves (min 1) once per congestion event: transfers started before the last cut report the
  same event, not a new one;
* it grows by one after a window's worth of successes, at most once per :data:`GROW_EVERY` seconds (an
  overflow is reported one SYN resend late), up to just below the load that last caused congestion (the
  *ceiling*): it settles at the largest load the server took without dropping a connection instead of
  probing into a 1 s stall over and over. After :data:`PROBE_EVERY` seconds at the ceiling it tries one
  more (a server that got busy for a while is not capped forever); a window that grows back to the
  batch's concurrency is dropped and the host runs unwindowed again.

The engine keeps its windows across batches (per thread, like its connections), so a batch learns what
the previous one found. Nothing here touches sockets or clocks: the engine passes times in.
"""

from __future__ import annotations

import socket
import struct
from collections import deque
from typing import Any

import pycurl

#: seconds; a TCP connect this slow lost its first SYN (Linux resends after 1 s): a full accept queue
#: on the way, or packet loss. Both say "fewer connections, please".
SLOW_CONNECT = 0.9
#: seconds between two growth steps of a window: longer than the SYN resend that reports an overflow
GROW_EVERY = 2.0
#: seconds a window stays just below its ceiling before it tries one more (a server that was busy for a
#: while is not capped forever; an overflowing probe costs one request a 1 s SYN resend)
PROBE_EVERY = 30.0
#: congestion requeues of one request that are not counted as failed attempts (then they are)
FREE_REQUEUES = 4
#: seconds between two looks for stuck transfers (see :func:`never_received`) while a host has a window
RESCUE_EVERY = 0.5

# A reset (RST) of a fresh connection before any answer: what a full accept queue sends when the kernel
# is set to abort on overflow (tcp_abort_on_overflow). Not an empty reply (52): a server that accepted
# and closed without answering decided so, and is retried as any other failure.
_RESETS = frozenset({pycurl.E_SEND_ERROR, pycurl.E_RECV_ERROR})
# libcurl >= 8.6 reports how long a transfer waited for a connection slot (a MAX_HOST_CONNECTIONS cap):
# that wait is not the server's doing and is taken out of the connect time.
_QUEUE_TIME: int | None = getattr(pycurl, "QUEUE_TIME_T", None)


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: the key of its window (cheap: no URL parsing)."""
    end = url.find("/", url.find("//") + 2)
    return url if end < 0 else url[:end]


def congestion_signal(c: Any, code: int, status: int, elapsed: float) -> bool:
    """Does the transfer that just ended on handle ``c`` (curl ``code``, HTTP ``status`` or 0, ``elapsed``
    seconds since it started) say its host takes fewer connections than it was offered?

    Yes for a connect refused or timed out, a fresh connection cut before any answer, and a connect
    slower than :data:`SLOW_CONNECT`. A timeout after the request went out is a slow server, and a reused
    keep-alive connection closed by the server is ordinary: neither counts. Reads ``c``'s info, so it is
    called before the handle is reset.
    """
    if code:
        if code == pycurl.E_COULDNT_CONNECT:
            return True
        if code == pycurl.E_OPERATION_TIMEDOUT:
            return bool(c.getinfo(pycurl.PRETRANSFER_TIME_T) == 0)  # never got as far as sending
        return code in _RESETS and status == 0 and bool(c.getinfo(pycurl.NUM_CONNECTS))
    if elapsed < SLOW_CONNECT:
        return False  # the common case: no info read
    connect = c.getinfo(pycurl.CONNECT_TIME_T)
    if _QUEUE_TIME is not None:
        connect -= c.getinfo(_QUEUE_TIME)
    return bool(connect >= SLOW_CONNECT * 1e6)


# struct tcp_info (linux/tcp.h): tcpi_state is byte 0; tcpi_bytes_acked / tcpi_bytes_received are the
# u64s at offsets 120 / 128 (kernel 4.1+); tcpi_unacked is the u32 at 24.
_TCP_INFO = getattr(socket, "TCP_INFO", None)
_TCP_INFO_LEN = 136
_TCP_ESTABLISHED = 1


def never_received(c: Any) -> bool:
    """Can the server not have the request of the transfer in progress on handle ``c``? Then aborting it
    and sending it again on a new connection is safe, and quicker than the kernel's backoff.

    True while it is still connecting (nothing was sent), and for a connection the server's kernel
    holds half-open behind a full accept queue: only our SYN acknowledged, nothing received, request
    bytes outstanding (being resent with exponential backoff: 12 s and 25 s waits seen). False when
    unsure (no TCP_INFO on this platform, another state): such a transfer is left alone.
    """
    fd = c.getinfo(pycurl.ACTIVESOCKET)
    if fd < 0:
        return bool(c.getinfo(pycurl.CONNECT_TIME_T) == 0 and c.getinfo(pycurl.PRETRANSFER_TIME_T) == 0)
    if _TCP_INFO is None:
        return False
    sock = socket.socket(fileno=fd)
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_LEN)
    except OSError:
        return False
    finally:
        sock.detach()  # the descriptor stays libcurl's
    if len(raw) < _TCP_INFO_LEN or raw[0] != _TCP_ESTABLISHED:
        return False
    unacked = struct.unpack_from("I", raw, 24)[0]
    acked, received = struct.unpack_from("QQ", raw, 120)
    return bool(unacked and acked <= 1 and received == 0)


class HostWindow:
    """The in-flight window of one host (an origin): its size, its load, and transfers waiting for room.

    Times are the caller's clock (the engine's transfer start times), passed in: no clock is read here.
    """

    __slots__ = (
        "ceiling",
        "changed_at",
        "credit",
        "cut_at",
        "cuts",
        "in_flight",
        "limit",
        "parked",
        "size",
    )

    def __init__(self, limit: int, in_flight: int = 0) -> None:
        #: the batch's concurrency: the most this window grows to before it is dropped
        self.limit = limit
        self.size = limit
        #: the least load known to cause congestion: the window stays below it; 0: none seen yet
        self.ceiling = 0
        self.in_flight = in_flight
        #: successes since the window last changed (growth needs a window's worth)
        self.credit = 0
        #: when the window was last cut or grown (or the ceiling raised)
        self.changed_at = float("-inf")
        #: when the window was last cut: transfers started earlier report that same congestion event
        self.cut_at = float("-inf")
        #: how many times the window was cut (observable state for tests and diagnostics)
        self.cuts = 0
        #: transfers waiting for room in this window
        self.parked: deque[Any] = deque()

    def congested(self, load: int, started: float, now: float, stuck: int = 0) -> bool:
        """A congestion signal from a transfer started at ``started`` while ``load`` transfers (itself
        included) were in flight to this host. Returns True when the window was cut.

        ``stuck``: transfers of that load still waiting for any answer after :data:`SLOW_CONNECT`. Behind
        a full accept queue they are not being served: their SYN or request is being resent, with
        exponential backoff. The window is cut to half of what the server did take, so that fresh
        connections stop winning every freed slot from them.
        """
        if load <= 1 or started < self.cut_at:
            # Alone: not load. Started before the last cut: the same congestion event, already acted on.
            return False
        self.ceiling = load
        self.size = max(1, min(self.size, load - stuck) // 2)
        self.credit = 0
        self.changed_at = self.cut_at = now
        self.cuts += 1
        return True

    def succeeded(self, now: float) -> None:
        """One transfer to this host completed with no congestion signal: additive increase, at most one
        step per :data:`GROW_EVERY` seconds (congestion is reported a SYN resend, ~1 s, late: faster
        growth would overshoot before the first report) and a window's worth of successes."""
        self.credit += 1
        if now - self.changed_at < GROW_EVERY or self.credit < self.size:
            return
        if self.ceiling and self.size >= self.ceiling - 1:
            if now - self.changed_at < PROBE_EVERY:
                return
            self.ceiling += 1  # a probe: one more than the load that last overflowed
        self.size += 1
        self.credit = 0
        self.changed_at = now

    @property
    def recovered(self) -> bool:
        """Back at the batch's concurrency with nothing waiting: the window can be dropped."""
        return self.size >= self.limit and not self.parked
