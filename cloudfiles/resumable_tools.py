"""cloud-files' module name for the resumable job tools: re-exports :mod:`cloudfiles.resumable`."""

from __future__ import annotations

from .cloudfiles import CloudFiles
from .lib import sip
from .resumable import SQLITE_MAX_PARAMS, ResumableFileSet, ResumableListing, ResumableTransfer, now_msec

# The SQL spellings the job database uses (sqlite: '?' parameters, AUTOINCREMENT keys, INTEGER columns).
BIND = "?"
AUTOINC = "AUTOINCREMENT"
INTEGER = "INTEGER"

__all__ = [
    "AUTOINC",
    "BIND",
    "INTEGER",
    "SQLITE_MAX_PARAMS",
    "CloudFiles",
    "ResumableFileSet",
    "ResumableListing",
    "ResumableTransfer",
    "now_msec",
    "sip",
]
