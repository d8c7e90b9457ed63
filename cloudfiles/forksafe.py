"""Locks that a forked child gets back unlocked.

A lock that another thread holds at the moment of ``os.fork()`` stays held forever in the child (that
thread does not exist there), so the child's first use of it deadlocks. Module-level locks, and the locks
of objects shared process-wide (credential caches), are made here: right after a fork, the child
re-initializes every one of them (``_at_fork_reinit``, what CPython does for its own locks). The state
they guard is only ever changed in single GIL-atomic steps, so it is consistent when the lock is reset.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

__all__ = ["new_lock", "new_rlock"]

# Weak: a lock of an object that is gone needs no reset.
_LOCKS: weakref.WeakSet[Any] = weakref.WeakSet()


def new_lock() -> threading.Lock:
    """A ``threading.Lock`` that is unlocked again in a forked child."""
    lock = threading.Lock()
    _LOCKS.add(lock)
    return lock


def new_rlock() -> threading.RLock:
    """A ``threading.RLock`` that is unlocked (and unowned) again in a forked child."""
    lock = threading.RLock()
    _LOCKS.add(lock)
    return lock


def _reinit_in_child() -> None:
    for lock in list(_LOCKS):
        lock._at_fork_reinit()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_in_child)
