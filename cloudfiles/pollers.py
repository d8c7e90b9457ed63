"""The engine's socket loop: :class:`cloudfiles._loop.SocketLoop` (epoll and libcurl's callbacks in C, no
FD_SETSIZE limit), or under gevent :class:`SelectorLoop`, a ``selectors`` selector that yields to other
greenlets, with libcurl's callbacks in Python."""

from __future__ import annotations

import select
import selectors
import sys
import time
from typing import Any

import pycurl

from ._loop import SWEEP_SECONDS as _SWEEP  # seconds of socket silence before libcurl checks every socket
from ._loop import SocketLoop

_POLL_REMOVE = pycurl.POLL_REMOVE


class SelectorPoller:
    """Socket readiness through ``selectors`` (gevent patches it to yield to other greenlets)."""

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()

    def on_socket(self, what: int, fd: int, multi: Any, socketp: Any) -> None:
        """libcurl's socket callback (M_SOCKETFUNCTION)."""
        if what == _POLL_REMOVE:
            try:  # noqa: SIM105 - once per closed connection: a bare try costs nothing when nothing is raised
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

    def close(self) -> None:
        self._sel.close()


class SelectorLoop:
    """The loop under gevent: :class:`SelectorPoller`, :class:`Timer` and pycurl's ``socket_action``,
    with :class:`SocketLoop`'s ``step``/``deadline``/``close``."""

    def __init__(self, multi: pycurl.CurlMulti) -> None:
        self._poller = SelectorPoller()
        self._timer = Timer()
        self._last_sweep = 0.0
        # The multi holds the poller's and timer's bound methods, not this loop's: no reference cycle.
        multi.setopt(pycurl.M_SOCKETFUNCTION, self._poller.on_socket)
        multi.setopt(pycurl.M_TIMERFUNCTION, self._timer.on_timer)
        self._action = multi.socket_action

    @property
    def deadline(self) -> float | None:
        return self._timer.deadline

    def step(self, max_wait: float = -1.0, in_flight: int = 0) -> None:
        """Wait up to ``max_wait`` seconds (when >= 0) for socket activity or libcurl's timer, then let
        libcurl act on it. One turn whatever ``in_flight``: under gevent, returning often lets other
        greenlets run."""
        now = time.monotonic()
        timer = self._timer
        deadline = timer.deadline
        wait = _SWEEP if deadline is None else min(_SWEEP, max(0.0, deadline - now))
        if max_wait >= 0:
            wait = min(wait, max_wait)
        events = self._poller.poll(wait)
        action = self._action
        for fd, flags in events:
            action(fd, flags)
        if not events and now - self._last_sweep >= _SWEEP:
            # See SocketLoop: after a quiet sweep interval, libcurl looks at every socket itself.
            self._last_sweep = now
            for fd in self._poller.fds():
                action(fd, 0)
        deadline = timer.deadline
        if deadline is not None and time.monotonic() >= deadline:
            timer.deadline = None
            action(pycurl.SOCKET_TIMEOUT, 0)

    def close(self) -> None:
        self._poller.close()


def gevent_patched() -> bool:
    """True when gevent has monkey-patched the select module."""
    if "gevent" not in sys.modules:
        return False
    try:
        from gevent import monkey

        return bool(monkey.is_module_patched("select"))
    except Exception:  # noqa: BLE001 - a broken gevent install means not patched  # pragma: no cover
        return False


class Timer:
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


def make_loop(multi: pycurl.CurlMulti, green: bool) -> SocketLoop | SelectorLoop:
    """The C loop where epoll exists, unless ``green`` (gevent patches ``selectors``, not epoll)."""
    return SelectorLoop(multi) if green or not hasattr(select, "epoll") else SocketLoop(multi)
