"""Per-thread engines: each thread (or greenlet) keeps its engines, and their connections, for its next
call; the fork handlers keep a child away from its parent's sockets.

A multi handle is not thread-safe, so engines are never shared between threads.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING

from ._sink import keep_forever

if TYPE_CHECKING:
    from .engine import Engine

#: idle engines a thread keeps (per kind) for its next call; more than this (after nested batches) are closed
MAX_IDLE_ENGINES = 2
_local = threading.local()
#: every engine of this process, weakly: the fork handlers must find other threads' engines too
_LIVE: dict[int, weakref.ref[Engine]] = {}
#: strong references taken just before fork() (see _before_fork)
_AT_FORK: list[Engine] = []


def register(engine: Engine) -> None:
    """Note a new engine (weakly), so the fork handlers can find it from any thread."""
    key = id(engine)
    _LIVE[key] = weakref.ref(engine, lambda _ref: _LIVE.pop(key, None))


def running_engines() -> list[Engine]:
    """This thread's engines with a batch in progress (a list: nested batches are few)."""
    running: list[Engine] | None = getattr(_local, "running", None)
    if running is None:
        running = []
        _local.running = running
    return running


def idle_engines(green: bool) -> list[Engine]:
    """This thread's idle engines of one kind (gevent-cooperative or native), to take one from or return to."""
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
