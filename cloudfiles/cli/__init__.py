"""The ``cloudfiles`` command line: ls, cp, mv, rm, cat, head, du, hash, sync, verify, xfer and more.

Every command takes cloudpaths (``gs://b/k``, ``s3://b/k``, ``mem://b/k``, ``http(s)://host/k``,
``file:///abs``) or plain local paths, and works the same way on every scheme.

Path rules, shared by every command:

* **Globs** are allowed in the last path component only: ``*`` matches within one directory level,
  ``**`` matches across levels (``dir/*.json``, ``dir/**``, ``dir/**.gz``). Quote them from the shell.
* A **directory** is a real directory on file://; on object stores it is a prefix that has objects
  under ``prefix/`` (looked up, also for paths ending in ``/``; a bucket is always one). Directory
  operations only ever touch ``dir/...``: ``rm -r a/test`` never touches ``a/test2``.
* ``cp``/``mv`` name destinations like gsutil: copying a directory into a destination that exists as a
  directory (or ends in ``/``) creates ``dest/<dirname>``; otherwise the destination becomes the copy.
* ``-`` as a source reads newline-separated paths from stdin; ``-`` as the ``cp`` destination writes
  the bytes of the files to stdout (binary safe, never decoded as text).

Errors are one line on stderr (``cloudfiles: ...``) and a non-zero exit status; a command that fails
for some of its arguments carries on with the others and exits 1 at the end. Set
``CLOUDFILES_DEBUG=1`` for full tracebacks.

Fixed relative to cloud-files 6.4.3's CLI (SPEC section 9): ``cat``/``cp -`` write raw bytes;
``rm -r dir`` is scoped to ``dir/``; failures exit non-zero; ``xfer execute`` never deletes a job
database while other processes still hold leases; ``ls`` of a missing path is an error, not an empty
prefix listing; a path ending in ``/`` is not assumed to be a directory. New: ``hash`` and ``sync``.

Layout: :mod:`.common` (errors, path resolution, globs, process fan-out, transfers), :mod:`.listing`
(ls, cat, head, du), :mod:`.transfer` (cp, mv, rm, touch, mkdir, sync), :mod:`.checksums` (hash,
verify), :mod:`.jobs` (xfer), :mod:`.admin` (license, acl, alias, watch).
"""

from __future__ import annotations

import multiprocessing

import click

from .. import __version__
from .common import CommandGroup, State


# =========================================================================================================
# The command group
# =========================================================================================================
@click.group(cls=CommandGroup)
@click.option(
    "-p", "--parallel", default=1, show_default=True, type=int,
    help="Worker processes for cp, mv, rm and sync (<= 0: one per core). mem:// always runs in-process.",
)
@click.version_option(__version__, "-V", "--version", prog_name="cloudfiles")
@click.pass_context
def main(ctx: click.Context, parallel: int) -> None:
    """Copy, move, list, hash and sync files on gs://, s3://, file://, mem:// and http(s)://.

    Paths are cloudpaths or local paths. Quote globs (* within a level, ** across levels) so that
    the shell leaves them alone.
    """
    if parallel <= 0:
        parallel = multiprocessing.cpu_count()
    ctx.obj = State(parallel=parallel)




from .admin import acl, alias, license_, watch  # noqa: E402 - commands register after main exists
from .checksums import hash_, verify  # noqa: E402
from .jobs import xfer  # noqa: E402
from .listing import cat, du, head, ls  # noqa: E402
from .transfer import cp, mkdir_, mv, rm, sync, touch  # noqa: E402

for _command in (ls, cp, mv, rm, touch, cat, head, du, hash_, sync, verify, mkdir_, license_, xfer, acl, alias, watch):
    main.add_command(_command)

__all__ = ["main"]
