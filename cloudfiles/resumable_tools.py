"""cloud-files' module name for the resumable job tools: re-exports :mod:`cloudfiles.resumable`."""

from __future__ import annotations

from .resumable import ResumableFileSet, ResumableListing, ResumableTransfer, now_msec

__all__ = ["ResumableFileSet", "ResumableListing", "ResumableTransfer", "now_msec"]
