"""Resumable jobs kept in sqlite: a transfer that survives kills, and a listing that resumes.

:class:`ResumableTransfer` records a source, a destination and every file name to copy in a sqlite
database, then works through the list a block at a time: a block is *leased* (so other processes
working on the same database skip it), copied, and only then marked finished. A process killed at
any point loses nothing: on the next ``execute`` the unfinished block is leased again and copied again
(writes are whole-object replacements, so a second copy of the same file is harmless), and no file is
ever marked finished before its copy completed.

The tables keep cloud-files' layout (``xfermeta``, ``filelist``, ``stats``) so a database made by one
library can be executed by the other. Fixed here (cloud-files 6.4.3):

* leasing is one ``BEGIN IMMEDIATE`` transaction, so two processes never lease the same rows at once
  (it used to SELECT then UPDATE outside a transaction);
* the finished counter only counts rows that were not finished already (it used to double count);
* ``init`` lists the source lazily into one transaction instead of materializing the whole listing,
  and a killed ``init`` leaves the previous state (or nothing), never half a file list;
* ``execute`` waits for rows leased by other processes before returning, so ``close`` (which deletes
  the database) is never reached while work is outstanding;
* the database runs in WAL mode with a busy timeout, so concurrent clients wait instead of failing.

:class:`ResumableListing` is the ``cloudfiles ls --sqlite`` engine: it streams a listing into
``files(path, size)`` with a ``checkpoint`` row updated in the same transaction as each batch, so a
killed listing restarts from its last page token (on services that have them) without duplicates.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from typing import Any

from .lib import sip

#: Rows per INSERT/UPDATE statement: SQLITE_MAX_VARIABLE_NUMBER was 999 before sqlite 3.32.
SQLITE_MAX_PARAMS = 999
#: Seconds a client waits on a database locked by another client before giving up.
BUSY_TIMEOUT_SEC = 120.0
#: Longest sleep while waiting for rows leased by other processes.
LEASE_POLL_SEC = 0.5


def now_msec() -> int:
    """Milliseconds since the Unix epoch (the unit of every lease)."""
    return int(time.time() * 1000)


def _connect(db_path: str) -> sqlite3.Connection:
    # isolation_level=None: autocommit, with transactions written out explicitly (BEGIN/COMMIT), so
    # DDL and leases are atomic where they need to be and nothing is left half-open.
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SEC, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode loses nothing when a process is killed (only on power loss).
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _in_list(sql: str, count: int) -> str:
    """``sql`` with its ``IN (?)`` widened to ``count`` placeholders; values always travel as parameters."""
    return sql.replace("IN (?)", "IN (" + ",".join("?" * count) + ")")


def _job_closed(err: sqlite3.OperationalError) -> bool:
    """True when another process finished the job and dropped its tables (``close``)."""
    return "no such table" in str(err)


def _encode_reencode(reencode: Any) -> str | None:
    """How ``reencode`` is stored: NULL keeps encodings, ``'none'`` decompresses, else a codec name."""
    if reencode is None:
        return None
    if reencode is False or reencode == "" or reencode == 0:
        return "none"
    from .compression import normalize_encoding

    encoding = normalize_encoding(reencode)  # validates: ValueError for an unknown codec
    return "none" if encoding is None else encoding


def _decode_reencode(value: Any) -> Any:
    """The ``reencode`` argument for ``transfer_to`` from its stored form (cloud-files stored False as 0)."""
    if value is None:
        return None
    if value in (0, "0", "", "none", "None", "false", "False"):
        return False
    return value


class ResumableFileSet:
    """The sqlite file list behind :class:`ResumableTransfer` (cloud-files' API, made concurrency safe).

    ``lease_msec``: how long a leased block stays reserved for the process that leased it. 0 (the
    default) suits one process at a time: a block left unfinished by a killed process is available
    again at once. Give several concurrent processes a lease longer than one block takes.
    """

    def __init__(self, db_path: str, lease_msec: int = 0) -> None:
        self.db_path = db_path
        self.lease_msec = int(lease_msec)
        if self.lease_msec < 0:
            raise ValueError(f"lease_msec must be >= 0. Got: {lease_msec}")
        self.conn = _connect(db_path)
        self._total: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database connection (the file stays)."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __del__(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so readers of stale state can't race."""
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

    @staticmethod
    def _drop(cur: sqlite3.Cursor) -> None:
        for table in ("filelist", "xfermeta", "stats"):
            cur.execute(f"DROP TABLE IF EXISTS {table}")

    def delete(self) -> None:
        """Drop the tables."""
        with self._write() as cur:
            self._drop(cur)
        self._total = None

    def _create(self, cur: sqlite3.Cursor, src: str, dest: str, reencode: Any) -> None:
        self._drop(cur)
        cur.execute(
            "CREATE TABLE xfermeta (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, "
            "dest TEXT NOT NULL, reencode TEXT, created INTEGER NOT NULL)"
        )
        cur.execute(
            "INSERT INTO xfermeta(id, source, dest, reencode, created) VALUES (1, ?, ?, ?, ?)",
            (src, dest, _encode_reencode(reencode), now_msec()),
        )
        cur.execute(
            "CREATE TABLE filelist (id INTEGER PRIMARY KEY AUTOINCREMENT, filename TEXT NOT NULL, "
            "finished INTEGER NOT NULL, lease INTEGER NOT NULL)"
        )
        cur.execute("CREATE INDEX resumableidxfin ON filelist(finished, lease)")
        cur.execute("CREATE INDEX resumableidxfile ON filelist(filename)")
        cur.execute(
            "CREATE TABLE stats (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, value INTEGER)"
        )
        cur.execute("INSERT INTO stats(id, key, value) VALUES (1, 'finished', 0)")

    @staticmethod
    def _insert(cur: sqlite3.Cursor, fname_iter: Iterable[str]) -> int:
        n = 0
        for block in sip(fname_iter, SQLITE_MAX_PARAMS):
            cur.executemany(
                "INSERT INTO filelist(filename, finished, lease) VALUES (?, 0, 0)", ((f,) for f in block)
            )
            n += len(block)
        return n

    def create(self, src: str, dest: str, reencode: Any = None) -> None:
        """(Re)create empty tables for a transfer from ``src`` to ``dest``."""
        with self._write() as cur:
            self._create(cur, src, dest, reencode)
        self._total = None

    def create_with(self, src: str, dest: str, fname_iter: Iterable[str], reencode: Any = None) -> int:
        """Create the tables and insert every name in one transaction; returns the number of names.

        If anything fails (or the process dies) part way, the database keeps its previous state.
        """
        with self._write() as cur:
            self._create(cur, src, dest, reencode)
            n = self._insert(cur, fname_iter)
        self._total = None
        return n

    def insert(self, fname_iter: Iterable[str]) -> None:
        """Add file names to the list (one transaction)."""
        with self._write() as cur:
            self._insert(cur, fname_iter)
        self._total = None

    # -- queries -----------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """``{'source', 'dest', 'reencode', 'created'}`` of the transfer."""
        try:
            row = self.conn.execute("SELECT source, dest, reencode, created FROM xfermeta LIMIT 1").fetchone()
        except sqlite3.OperationalError as err:
            raise ValueError(f"{self.db_path} is not a resumable transfer database ({err})") from None
        if row is None:
            raise ValueError(f"{self.db_path} has no transfer recorded")
        return {"source": row[0], "dest": row[1], "reencode": _decode_reencode(row[2]), "created": row[3]}

    def _scalar(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        row = self.conn.execute(sql, params).fetchone()
        return int(row[0] or 0) if row is not None else 0

    def total(self) -> int:
        """Number of files in the job, finished or not."""
        if self._total is None:
            self._total = self._scalar("SELECT count(*) FROM filelist")
        return self._total

    def finished(self) -> int:
        """Number of files marked finished."""
        return self._scalar("SELECT value FROM stats WHERE id = 1")

    def remaining(self) -> int:
        """Number of files not finished yet (leased or not); 0 once the job was closed."""
        try:
            return self._scalar("SELECT count(*) FROM filelist WHERE finished = 0")
        except sqlite3.OperationalError as err:
            if _job_closed(err):
                return 0
            raise

    def num_leased(self) -> int:
        """Unfinished files currently leased by some process."""
        return self._scalar("SELECT count(*) FROM filelist WHERE finished = 0 AND lease > ?", (now_msec(),))

    def available(self) -> int:
        """Unfinished files that may be leased now."""
        return self._scalar("SELECT count(*) FROM filelist WHERE finished = 0 AND lease <= ?", (now_msec(),))

    def next_lease_expiry(self) -> int | None:
        """When (msec) the soonest current lease expires, or None when nothing is leased."""
        row = self.conn.execute(
            "SELECT min(lease) FROM filelist WHERE finished = 0 AND lease > ?", (now_msec(),)
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    # -- leasing -----------------------------------------------------------------------------------
    def lease(self, block_size: int = 200) -> list[tuple[int, str]]:
        """Reserve up to ``block_size`` available files for this process: ``[(id, filename), ...]``."""
        block_size = max(1, int(block_size))
        with self._write() as cur:
            now = now_msec()
            rows = cur.execute(
                "SELECT id, filename FROM filelist WHERE finished = 0 AND lease <= ? LIMIT ?",
                (now, block_size),
            ).fetchall()
            if rows:
                until = now + self.lease_msec
                for block in sip([r[0] for r in rows], SQLITE_MAX_PARAMS):
                    cur.execute(
                        _in_list("UPDATE filelist SET lease = ? WHERE id IN (?)", len(block)), (until, *block)
                    )
        return [(int(r[0]), str(r[1])) for r in rows]

    def finish_ids(self, ids: Iterable[int]) -> int:
        """Mark rows finished by id; returns how many were newly finished."""
        newly = 0
        with self._write() as cur:
            for block in sip(ids, SQLITE_MAX_PARAMS):
                cur.execute(
                    _in_list("UPDATE filelist SET finished = 1 WHERE finished = 0 AND id IN (?)", len(block)),
                    block,
                )
                newly += max(0, cur.rowcount)
            if newly:
                cur.execute("UPDATE stats SET value = value + ? WHERE id = 1", (newly,))
        return newly

    def mark_finished(self, fname_iter: Iterable[str]) -> int:
        """Mark files finished by name; returns how many were newly finished."""
        newly = 0
        with self._write() as cur:
            for block in sip(fname_iter, SQLITE_MAX_PARAMS):
                cur.execute(
                    _in_list(
                        "UPDATE filelist SET finished = 1 WHERE finished = 0 AND filename IN (?)", len(block)
                    ),
                    block,
                )
                newly += max(0, cur.rowcount)
            if newly:
                cur.execute("UPDATE stats SET value = value + ? WHERE id = 1", (newly,))
        return newly

    def next(self, limit: int | None = None, block_size: int = 200) -> Iterator[str]:
        """Lease and yield file names a block at a time (at most ``limit`` names)."""
        n = 0
        while limit is None or n < limit:
            size = block_size if limit is None else min(block_size, limit - n)
            rows = self.lease(size)
            if not rows:
                return
            n += len(rows)
            for _id, filename in rows:
                yield filename

    def release(self) -> None:
        """Drop every lease (make all unfinished files available)."""
        with self._write() as cur:
            cur.execute("UPDATE filelist SET lease = 0 WHERE finished = 0")

    def __len__(self) -> int:
        return self.remaining()

    def __iter__(self) -> Iterator[str]:
        return self.next()


class ResumableTransfer:
    """A copy job from one cloudpath to another that can be killed and resumed, or shared by processes.

    >>> rt = ResumableTransfer("job.db")
    >>> rt.init("gs://bucket/src", "file:///data/dest")      # doctest: +SKIP
    >>> rt.execute(progress=True)                           # doctest: +SKIP
    >>> rt.close()                                          # deletes job.db

    ``lease_msec``: see :class:`ResumableFileSet`.
    """

    def __init__(self, db_path: str, lease_msec: int = 0) -> None:
        self.db_path = db_path
        self.rfs = ResumableFileSet(db_path, lease_msec)

    def __len__(self) -> int:
        """Files not finished yet."""
        return self.rfs.remaining()

    def init(self, src: Any, dest: Any, paths: Any = None, reencode: Any = None) -> int:
        """Record a transfer from ``src`` to ``dest`` (cloudpaths or CloudFiles), replacing any previous one.

        paths: None lists everything under ``src``; a cloudpath str or a CloudFiles lists that; any
          other iterable gives the file names (relative to ``src``) directly.
        reencode: None keeps each file's encoding; False or '' stores decompressed; a codec name.

        Returns the number of files recorded.
        """
        from . import paths as cfpaths
        from .cloudfiles import CloudFiles

        src_path = src.cloudpath if isinstance(src, CloudFiles) else cfpaths.normalize(src)
        dest_path = dest.cloudpath if isinstance(dest, CloudFiles) else cfpaths.normalize(dest)
        names: Iterable[str]
        if paths is None:
            names = CloudFiles(src_path).list()
        elif isinstance(paths, str):
            names = CloudFiles(paths).list()
        elif isinstance(paths, CloudFiles):
            names = paths.list()
        else:
            names = paths
        return self.rfs.create_with(src_path, dest_path, names, reencode)

    def execute(self, progress: bool = False, block_size: int = 200) -> int:
        """Copy every unfinished file, a leased block at a time; returns how many this call copied.

        Returns once nothing is left: rows leased by other processes are waited for (until they are
        finished, or their lease expires and this process takes them over).
        """
        from tqdm import tqdm

        from .cloudfiles import CloudFiles

        meta = self.rfs.metadata()
        cf_src = CloudFiles(meta["source"])
        cf_dest = CloudFiles(meta["dest"])
        total = self.rfs.total()
        copied = 0
        with tqdm(
            total=total, initial=total - self.rfs.remaining(), desc="Transferring", disable=not progress
        ) as bar:
            while True:
                try:
                    rows = self.rfs.lease(block_size)
                except sqlite3.OperationalError as err:
                    if not _job_closed(err):
                        raise
                    break  # another process completed the job and closed it
                if not rows:
                    if not self._wait_for_others():
                        break
                    bar.n = total - self.rfs.remaining()
                    bar.refresh()
                    continue
                names = [name for _id, name in rows]
                cf_src.transfer_to(
                    cf_dest, paths=names, reencode=meta["reencode"], block_size=block_size, progress=False
                )
                try:
                    self.rfs.finish_ids(row_id for row_id, _name in rows)
                except sqlite3.OperationalError as err:
                    if not _job_closed(err):
                        raise
                    break  # our lease had expired; another process finished and closed the job
                copied += len(rows)
                bar.n = total - self.rfs.remaining()
                bar.refresh()
        return copied

    def _wait_for_others(self) -> bool:
        """Nothing to lease: sleep a little if other processes hold leases. False when all is done."""
        try:
            expiry = self.rfs.next_lease_expiry()
        except sqlite3.OperationalError as err:
            if _job_closed(err):
                return False
            raise
        if expiry is None:
            return False
        time.sleep(min(LEASE_POLL_SEC, max(0.0, (expiry - now_msec()) / 1000.0) + 0.001))
        return True

    def close(self) -> None:
        """Drop the tables and delete the database file (with its WAL side files)."""
        with contextlib.suppress(sqlite3.Error):
            self.rfs.delete()
        self.rfs.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.db_path + suffix)


class ResumableListing:
    """Stream a listing into sqlite ``files(path, size)``; resumable after a kill.

    Each batch of names is written in the same transaction as the ``checkpoint`` row (last page
    token, rows done), so a restarted listing continues after the last committed page on services
    with page tokens (gs, s3) and restarts cleanly elsewhere (``path`` is UNIQUE: nothing is doubled).
    """

    BATCH = 5000

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self.conn = _connect(db_path)
        self.conn.execute("PRAGMA cache_size=-131072")  # 128 MiB
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS files (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "path TEXT NOT NULL UNIQUE, size INTEGER)"
        )
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY AUTOINCREMENT, page_token TEXT, "
            "rows_done INTEGER DEFAULT 0, updated_at DATETIME DEFAULT CURRENT_TIMESTAMP)"
        )
        self.conn.execute("INSERT OR IGNORE INTO checkpoint (id, page_token, rows_done) VALUES (1, NULL, 0)")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS metadata (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, value TEXT)"
        )
        self.conn.execute("INSERT OR IGNORE INTO metadata (id, name, value) VALUES (1, 'cloudpath', '')")

    def close(self) -> None:
        """Close the database (the file stays)."""
        self.conn.close()

    def cloudpath(self) -> str:
        """The cloudpath this database lists ('' before the first run)."""
        row = self.conn.execute("SELECT value FROM metadata WHERE name = 'cloudpath'").fetchone()
        return str(row[0]) if row and row[0] is not None else ""

    def checkpoint(self) -> tuple[str | None, int]:
        """``(page_token, rows_done)`` of the last committed batch."""
        row = self.conn.execute("SELECT page_token, rows_done FROM checkpoint WHERE id = 1").fetchone()
        return (row[0] or None, int(row[1] or 0)) if row else (None, 0)

    def run(
        self, cloudpath: str, prefix: str = "", flat: bool = False, progress: bool = False, **cf_kwargs: Any
    ) -> int:
        """List ``cloudpath`` (with ``prefix``/``flat``) into the database; returns total rows stored.

        Raises ValueError if the database already holds a listing of another cloudpath.
        """
        from tqdm import tqdm

        from .cloudfiles import CloudFiles

        saved = self.cloudpath()
        if saved not in ("", cloudpath):
            raise ValueError(f"{self.db_path} holds a listing of {saved}, not {cloudpath}")
        self.conn.execute("UPDATE metadata SET value = ? WHERE name = 'cloudpath'", (cloudpath,))
        token, done = self.checkpoint()
        cf = CloudFiles(cloudpath, **cf_kwargs)
        entries = cf.list(prefix=prefix, flat=flat, size=True, return_resume_token=True, resume_token=token)
        with tqdm(desc="Listing", initial=done, disable=not progress, unit=" files") as bar:
            for batch in sip(entries, self.BATCH):
                last_token = batch[-1][2]
                with contextlib.closing(self.conn.cursor()) as cur:
                    cur.execute("BEGIN IMMEDIATE")
                    try:
                        cur.executemany(
                            "INSERT OR IGNORE INTO files(path, size) VALUES (?, ?)",
                            ((r[0], r[1]) for r in batch),
                        )
                        added = cur.rowcount
                        cur.execute(
                            "UPDATE checkpoint SET page_token = ?, rows_done = rows_done + ?, "
                            "updated_at = CURRENT_TIMESTAMP WHERE id = 1",
                            (last_token, max(0, added)),
                        )
                        cur.execute("COMMIT")
                    except BaseException:
                        cur.execute("ROLLBACK")
                        raise
                bar.update(len(batch))
        self.conn.execute("CREATE INDEX IF NOT EXISTS idx_files_path ON files(path)")
        return int(self.conn.execute("SELECT count(*) FROM files").fetchone()[0])


__all__ = ["ResumableFileSet", "ResumableListing", "ResumableTransfer", "now_msec"]
