"""Transfers sharded across a dask.distributed cluster (``pip install cloudfiles[dask]``).

When one machine's network or CPU is the limit, :func:`transfer` splits the key list into shards and runs
each shard on a cluster worker, where our own engine (one CurlMulti loop per worker thread) copies it
with :meth:`CloudFiles.transfer_to`. Progress and per-key errors come back to the caller::

    from dask.distributed import Client
    from cloudfiles.distributed import transfer

    report = transfer("s3://src/dir", "gs://dst/dir", client=Client("tcp://scheduler:8786"))
    report.transferred, report.errors          # 10000, {"bad/key": "NotFoundError: ..."}

The command line does the same with ``cloudfiles cp -r SRC DST --dask tcp://scheduler:8786``.

Credentials travel with each task (``secrets=`` dicts are pickled to the workers); without them every
worker uses its own environment and secret files. ``mem://`` lives inside one process and is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .cloudfiles import CloudFiles
from .paths import extract, normalize

__all__ = ["TransferReport", "execute_resumable", "transfer", "transfer_shard"]

#: a key to copy: ``"name"`` (same name at the destination) or ``("src name", "dest name")``
Pair = tuple[str, str]


@dataclass
class TransferReport:
    """The outcome of a distributed transfer."""

    #: keys copied successfully
    transferred: int = 0
    #: source key -> ``"ExceptionName: message"`` for every key that failed
    errors: dict[str, str] = field(default_factory=dict)
    #: shards the key list was split into (tasks submitted)
    shards: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _pairs(paths: Iterable[Any]) -> list[Pair]:
    out: list[Pair] = []
    for item in paths:
        if isinstance(item, str):
            out.append((item, item))
        elif isinstance(item, dict):
            out.append((str(item["path"]), str(item.get("dest_path") or item["path"])))
        else:
            # (src, dest) or, from the CLI's plans, (src, dest, size): the size is not needed here.
            src, dest = item[0], item[1]
            out.append((str(src), str(dest)))
    return out


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def transfer_shard(
    src: str,
    dest: str,
    pairs: Sequence[Pair],
    *,
    src_options: dict[str, Any] | None = None,
    dest_options: dict[str, Any] | None = None,
    reencode: Any = None,
    block_size: int = 64,
    allow_missing: bool = False,
) -> tuple[int, dict[str, str]]:
    """Copy one shard (runs on a worker): ``(keys copied, {key: error})``.

    The whole shard goes through one ``transfer_to`` (the fast path). If that fails, the keys are retried
    one at a time so that each failure is pinned to its key and the good keys still land.
    """
    cf_src = CloudFiles(src, **(src_options or {}))
    cf_dest = CloudFiles(dest, **(dest_options or {}))
    try:
        cf_src.transfer_to(cf_dest, paths=list(pairs), reencode=reencode, block_size=block_size,
                           allow_missing=allow_missing)
    except Exception:  # noqa: BLE001 - attributed key by key below
        return _copy_key_by_key(cf_src, cf_dest, pairs, reencode=reencode, allow_missing=allow_missing)
    return len(pairs), {}


def _copy_key_by_key(
    cf_src: CloudFiles, cf_dest: CloudFiles, pairs: Sequence[Pair], *, reencode: Any, allow_missing: bool
) -> tuple[int, dict[str, str]]:
    """Copy each pair on its own: ``(keys copied, {key: error})``."""
    done = 0
    errors: dict[str, str] = {}
    for pair in pairs:
        try:
            cf_src.transfer_to(cf_dest, paths=[pair], reencode=reencode, allow_missing=allow_missing)
            done += 1
        except Exception as err:  # noqa: BLE001 - reported per key, never raised on the worker
            errors[pair[0]] = _describe(err)
    return done, errors


def transfer(
    src: str,
    dest: str,
    paths: Iterable[Any] | None = None,
    *,
    client: Any = None,
    address: str | None = None,
    shard_size: int | None = None,
    src_options: dict[str, Any] | None = None,
    dest_options: dict[str, Any] | None = None,
    reencode: Any = None,
    block_size: int = 64,
    allow_missing: bool = False,
    progress: bool | Any = False,
    on_shard: Callable[[Sequence[Pair], dict[str, str]], None] | None = None,
) -> TransferReport:
    """Copy ``paths`` from the directory ``src`` to ``dest`` on a dask.distributed cluster.

    paths: keys (``"name"``, ``("src", "dest")`` or ``{"path", "dest_path"}``); None lists ``src`` here,
      on the calling machine, first.
    client / address: a ``distributed.Client``, or a scheduler address to connect to (and disconnect
      from when done). One of them is required.
    shard_size: keys per task; default: enough shards for 4 per worker thread, at most 10,000 keys each.
    src_options / dest_options: CloudFiles keyword arguments (``secrets``, ``endpoint``...) for each end.
    reencode, block_size, allow_missing: as in :meth:`CloudFiles.transfer_to`, applied on the workers.
    progress: True for a tqdm bar counting keys, or a tqdm-like object with ``update(n)``.
    on_shard: called as ``on_shard(shard pairs, errors)`` as each shard finishes (e.g. to record progress).

    Returns a :class:`TransferReport`; failed keys are reported there, not raised. Exceptions outside
    the copy itself (a worker dying, a cluster that cannot be reached) propagate.
    """
    from distributed import Client, as_completed  # optional dependency: cloudfiles[dask]

    for cloudpath in (src, dest):
        if extract(normalize(cloudpath)).protocol == "mem":
            raise ValueError(f"{cloudpath}: mem:// data lives in one process; a cluster cannot share it")
    if paths is None:
        paths = CloudFiles(src, **(src_options or {})).list()
    pairs = _pairs(paths)

    own_client = client is None
    if own_client:
        if address is None:
            raise ValueError("transfer() needs client= or address=")
        client = Client(address)  # type: ignore[no-untyped-call]
    try:
        if shard_size is None:
            threads = max(1, sum(client.nthreads().values()))
            shard_size = min(10_000, max(1, math.ceil(len(pairs) / (4 * threads))))
        shards = [pairs[i : i + shard_size] for i in range(0, len(pairs), shard_size)]
        report = TransferReport(shards=len(shards))
        bar = _progress_bar(progress, len(pairs))
        # Shards are dealt round-robin to the workers (dask may still move them): a transfer is I/O
        # bound, and the scheduler's default placement can pile short tasks onto one worker.
        workers = sorted(client.scheduler_info()["workers"]) or [None]
        futures = [
            client.submit(
                transfer_shard, src, dest, shard, src_options=src_options, dest_options=dest_options,
                reencode=reencode, block_size=block_size, allow_missing=allow_missing, pure=False,
                workers=None if workers[i % len(workers)] is None else [workers[i % len(workers)]],
                allow_other_workers=True,
            )
            for i, shard in enumerate(shards)
        ]
        shard_of = {fut.key: shard for fut, shard in zip(futures, shards, strict=True)}
        try:
            for fut in as_completed(futures):  # type: ignore[no-untyped-call]
                done, errors = fut.result()
                report.transferred += done
                report.errors.update(errors)
                if bar is not None:
                    bar.update(len(shard_of[fut.key]))
                if on_shard is not None:
                    on_shard(shard_of[fut.key], errors)
        finally:
            if bar is not None and progress is True:
                bar.close()
        return report
    finally:
        if own_client:
            client.close()


def _progress_bar(progress: bool | Any, total: int) -> Any:
    if progress is True:
        from tqdm import tqdm

        return tqdm(total=total, desc="Transferring (dask)", unit="file")
    if progress is False or progress is None:
        return None
    return progress


def execute_resumable(
    db_path: str, *, client: Any = None, address: str | None = None, progress: bool | Any = False,
    shard_size: int | None = None,
) -> TransferReport:
    """Run what is left of a :class:`~cloudfiles.ResumableTransfer` job on a cluster (``xfer execute --dask``).

    Every unfinished file is leased, sharded over the cluster, and marked finished as its shard lands,
    so an interrupted run resumes where it stopped. Failed keys stay unfinished (and are reported).
    The database is closed (deleted) when nothing is left.
    """
    from .resumable import ResumableTransfer

    rt = ResumableTransfer(db_path)
    try:
        meta = rt.rfs.metadata()
        rows = rt.rfs.lease(max(1, rt.rfs.remaining()))

        def record(pairs: Sequence[Pair], errors: dict[str, str]) -> None:
            rt.rfs.mark_finished(src for src, _dest in pairs if src not in errors)

        report = transfer(
            meta["source"], meta["dest"], [name for _id, name in rows], client=client, address=address,
            reencode=meta["reencode"], progress=progress, on_shard=record, shard_size=shard_size,
        )
    except BaseException:
        rt.rfs.close()  # keep the database: the next execute resumes from it
        raise
    if len(rt) == 0:
        rt.close()
    else:
        rt.rfs.release()
        rt.rfs.close()
    return report
