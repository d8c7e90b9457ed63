"""Socket readiness and libcurl's timer for the engine's loop: epoll (no FD_SETSIZE limit) or, under
gevent, a ``selectors`` selector that yields to other greenlets."""

from __future__ import annotations

import contextlib
import select
import selectors
import sys
import time
from typing import Any

import pycurl

_POLL_REMOVE = pycurl.POLL_REMOVE
# libcurl's POLL_IN (1), POLL_OUT (2), POLL_INOUT (3) -> epoll event mask
_EPOLL_MASKS = (0, select.EPOLLIN, select.EPOLLOUT, select.EPOLLIN | select.EPOLLOUT) if hasattr(select, "epoll") else ()


class EpollPoller:
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
            with contextlib.suppress(OSError):  # already closed by libcurl
                self._epoll.unregister(fd)

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


def make_poller(green: bool) -> EpollPoller | SelectorPoller:
    """epoll where available, unless ``green`` (gevent patches ``selectors``, not epoll)."""
    return SelectorPoller() if green or not hasattr(select, "epoll") else EpollPoller()
