"""Resumable transfer jobs: xfer init / xfer execute."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import click

from .common import (
    COMPRESSION_CHOICES,
    CLIError,
    CommandGroup,
    is_dir,
    locate,
    reencode_option,
)


# -- xfer ---------------------------------------------------------------------------------------------------
@click.group("xfer", cls=CommandGroup)
def xfer() -> None:
    """Resumable transfers for large jobs: the file list lives in a sqlite database.

    \b
    1. cloudfiles xfer init SOURCE DEST --db JOB.db
    2. cloudfiles xfer execute JOB.db      (rerun after a crash; several processes may share it
                                             with --lease-msec)
    """


@xfer.command("init")
@click.argument("source")
@click.argument("destination")
@click.option("--db", required=True, help="The sqlite database that tracks the job (one per job).")
@click.option(
    "-c", "--compression", default="same", show_default=True, type=click.Choice(COMPRESSION_CHOICES, case_sensitive=False),
    help="Encoding at the destination.",
)
@click.option("--txt", "text_file", default=None, help="Read the file list (one name per line) from this file.")
def xfer_init(source: str, destination: str, db: str, compression: str, text_file: str | None) -> None:
    """(1) Record SOURCE, DESTINATION and the files to copy in the database."""
    from ..resumable import ResumableTransfer

    src, dest = locate(source), locate(destination)
    if dest.protocol in ("http", "https"):
        raise CLIError(f"{destination}: http(s):// is read-only")
    names: Iterable[str] | None = None
    if text_file:
        names = _read_lines(text_file)
    elif not is_dir(src):
        raise CLIError(f"{source}: not a directory (xfer copies directories; use --txt for a file list)")
    rt = ResumableTransfer(db)
    try:
        n = rt.init(src.path(), dest.path(), names, reencode_option(compression))
    finally:
        rt.rfs.close()
    click.echo(f"{n} files recorded in {db}", err=True)


def _read_lines(filename: str) -> Iterator[str]:
    with open(filename, encoding="utf8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line:
                yield line


@xfer.command("execute")
@click.argument("db")
@click.option("--progress", is_flag=True, help="Show a progress bar (on stderr).")
@click.option("--lease-msec", default=0, show_default=True, help="How long a process reserves a block (for several processes).")
@click.option("-b", "--block-size", default=200, show_default=True, help="Files per block.")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Run the job on a dask.distributed cluster (scheduler address); needs cloudfiles[dask].")
def xfer_execute(db: str, progress: bool, lease_msec: int, block_size: int, dask_address: str | None) -> None:
    """(2) Copy what is left in the job; deletes the database once every file is done."""
    from ..resumable import ResumableTransfer

    if not os.path.exists(db):
        raise CLIError(f"{db}: No such file or directory")
    if dask_address:
        from ..distributed import execute_resumable

        report = execute_resumable(db, address=dask_address, progress=progress)
        for key, error in sorted(report.errors.items()):
            click.echo(f"cloudfiles: xfer: {key}: {error}", err=True)
        if report.errors:
            raise click.exceptions.Exit(1)
        return
    rt = ResumableTransfer(db, lease_msec)
    try:
        rt.execute(progress=progress, block_size=block_size)
        complete = len(rt) == 0  # execute also waits for blocks other processes hold
    except BaseException:
        rt.rfs.close()  # keep the database: the next execute resumes from it
        raise
    if complete:
        rt.close()
    else:
        rt.rfs.close()


