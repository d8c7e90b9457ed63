"""Names of keys: ``protocol``, ``sep``, ``join``, ``dirname``, ``basename``, ``abspath``, and
file:// lock files (``lock_dir``, ``clear_locks``). Pure string work, no storage calls.
"""

from __future__ import annotations

import os
import posixpath
from typing import cast

from .. import paths
from .host import FacadeHost


class NamingMixin(FacadeHost):
    """CloudFiles' path helpers (see :class:`~cloudfiles.cloudfiles.CloudFiles`)."""

    @property
    def protocol(self) -> str:
        """The scheme: 'file', 'mem', 'gs', 's3', 'http' or 'https'."""
        return cast(str, self._path.protocol)

    @property
    def sep(self) -> str:
        """Path separator of keys: ``os.sep`` for file://, '/' elsewhere."""
        return os.sep if self._path.protocol == "file" else "/"

    @property
    def lock_dir(self) -> str:
        """Directory of file:// lock files."""
        if self._lock_dir:
            return self._lock_dir
        from ..interfaces.file import default_lock_dir

        return default_lock_dir()

    def join(self, *parts: str) -> str:
        """Join key components with this scheme's separator."""
        if not parts:
            return ""
        if self._path.protocol == "file":
            return os.path.join(*parts)
        return posixpath.join(*parts)

    def dirname(self, path: str) -> str:
        """Directory part of a key."""
        return os.path.dirname(path) if self._path.protocol == "file" else posixpath.dirname(path)

    def basename(self, path: str) -> str:
        """Last component of a key."""
        return os.path.basename(path) if self._path.protocol == "file" else posixpath.basename(path)

    def abspath(self, path: str) -> str:
        """Full ``protocol://...`` path of a key."""
        return self.sep.join((paths.asprotocolpath(self._path).rstrip("/"), path))

    def clear_locks(self) -> None:
        """Delete every lock file in :attr:`lock_dir`."""
        lock_dir = self.lock_dir
        try:
            names = os.listdir(lock_dir)
        except FileNotFoundError:
            return
        for name in names:
            try:
                os.remove(os.path.join(lock_dir, name))
            except (FileNotFoundError, IsADirectoryError, PermissionError):
                continue


__all__ = ["NamingMixin"]
