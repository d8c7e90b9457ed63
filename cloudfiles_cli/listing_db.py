"""cloud-files' ``cloudfiles_cli.listing_db``: a listing streamed into sqlite, resumable after a kill.

The database layout is cloud-files': ``files(id, path UNIQUE, size)``, ``checkpoint(id, page_token,
rows_done, updated_at)`` and ``metadata(id, name, value)`` holding the listed cloudpath. The work is
done by :class:`cloudfiles.resumable.ResumableListing` (what ``cloudfiles ls --sqlite`` uses); these
functions are cloud-files' steps over the same tables. Rows are inserted with ``INSERT OR IGNORE``, so
a resumed listing that sees a page again does not fail on the UNIQUE path.
"""

from __future__ import annotations

import builtins
import sqlite3
from typing import Any

from cloudfiles import CloudFiles
from cloudfiles.lib import sip
from cloudfiles.resumable import ResumableListing

__all__ = [
    "BIND",
    "SQLITE_MAX_PARAMS",
    "CloudFiles",
    "get_cloudpath",
    "init_db",
    "list",
    "load_checkpoint",
    "save_checkpoint",
    "save_cloudpath",
    "sip",
    "write_batch",
]

#: The most parameters one sqlite statement may bind (raised to 32766 in SQLite 3.32.0).
SQLITE_MAX_PARAMS = 999 if sqlite3.sqlite_version_info <= (3, 32, 0) else 32766
BIND = "?"


def init_db(filename: str) -> sqlite3.Connection:
    """Open (creating if needed) a listing database and its tables; returns the connection."""
    listing = ResumableListing(filename)
    listing.conn.commit()
    return listing.conn


def get_cloudpath(conn: sqlite3.Connection) -> str:
    """The cloudpath the database lists (``''`` before the first listing)."""
    row = conn.execute("SELECT value FROM metadata WHERE name = 'cloudpath'").fetchone()
    return str(row[0]) if row and row[0] is not None else ""


def save_cloudpath(conn: sqlite3.Connection, cloudpath: str) -> None:
    """Record the listed cloudpath (committed)."""
    conn.execute("UPDATE metadata SET value = ? WHERE name = 'cloudpath'", (cloudpath,))
    conn.commit()


def save_checkpoint(conn: sqlite3.Connection, page_token: str | None, rows_done: int) -> None:
    """Record the last page token and add ``rows_done`` to the row count (in the caller's transaction)."""
    conn.execute(
        "UPDATE checkpoint SET page_token = ?, rows_done = rows_done + ?, updated_at = CURRENT_TIMESTAMP",
        (page_token, rows_done),
    )


def load_checkpoint(conn: sqlite3.Connection) -> tuple[str | None, int]:
    """``(page_token, rows_done)`` of the last saved batch; ``(None, 0)`` for a fresh database."""
    row = conn.execute("SELECT page_token, rows_done FROM checkpoint WHERE id = 1").fetchone()
    return (row[0] or None, int(row[1] or 0)) if row else (None, 0)


def write_batch(conn: sqlite3.Connection, batch: builtins.list[tuple[str, Any]], page_token: str | None) -> None:
    """Insert ``(path, size)`` rows (in the caller's transaction; paths already stored are skipped)."""
    for rows in sip(batch, SQLITE_MAX_PARAMS // 2):
        conn.executemany("INSERT OR IGNORE INTO files (path, size) VALUES (?, ?)", rows)


def list(  # cloud-files' name, shadowing the builtin
    cloudpath: str,
    db_name: str,
    prefix: str = "",
    flat: bool = False,
    progress: bool = False,
) -> None:
    """List ``cloudpath`` into the database ``db_name``, continuing an interrupted listing.

    A database that holds a listing of another cloudpath is left alone (a message says so).
    """
    listing = ResumableListing(db_name)
    try:
        saved = listing.cloudpath()
        if saved not in ("", cloudpath):
            print(f"Cloudpath does not match database. Aborting.\nSaved: {saved}\nArgument: {cloudpath}")
            return
        token, done = listing.checkpoint()
        if progress and token is not None:
            print(f"Resuming from {done} rows.")
        listing.run(cloudpath, prefix=prefix, flat=flat, progress=progress)
        if progress:
            print("done.")
    finally:
        listing.close()
