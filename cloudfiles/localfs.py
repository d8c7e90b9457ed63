"""Local filesystem chores: absolute paths, race-safe directory creation, touch."""

from __future__ import annotations

import os

__all__ = ["mkdir", "toabs", "touch"]


def toabs(path: str) -> str:
    """Expand ``~`` and make ``path`` absolute (relative to the current directory); drops a trailing '/'."""
    return os.path.abspath(os.path.expanduser(path))


def mkdir(path: str) -> str:
    """Create directory ``path`` and its parents if missing (race-safe). Returns the absolute path."""
    path = toabs(path)
    if path:
        # exist_ok makes concurrent creators (threads, processes) safe without retry loops.
        os.makedirs(path, exist_ok=True)
    return path


def touch(path: str) -> None:
    """Create ``path`` (and its parent directories) if missing, and set its modification time to now."""
    mkdir(os.path.dirname(toabs(path)))
    with open(path, "a"):
        pass
    # Opening in append mode does not change the mtime of an existing file; touch semantics require it.
    os.utime(path, None)
