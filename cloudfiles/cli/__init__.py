"""The ``cloudfiles`` command line: ls, cp, mv, rm, cat, head, du, hash, sync, verify, xfer and more.

Every command takes cloudpaths (``gs://b/k``, ``s3://b/k``, ``mem://b/k``, ``http(s)://host/k``,
``file:///abs``) or plain local paths, and works the same way on every scheme.

Scripts written for cloud-files 6.4.3 run unchanged: output formats, names, exit statuses and effects
on disk are its own (checked side by side with it, tests/integration/test_cli_parity.py).

Path rules, shared by every command:

* ``ls PATH`` lists what *starts with* PATH (``ls gs://b/img`` also shows ``img2/...``); ``PATH/`` is
  the directory (local paths lose a trailing '/', as cloud-files normalized them). file:// and mem://
  listings are printed sorted.
* **Globs** are allowed in the last path component only: ``*`` matches within one directory level,
  ``**`` matches across levels (``dir/*.json``, ``dir/**``, ``dir/x**.gz``). Quote them from the shell.
* A **directory** is a real directory on file://; on object stores it is a prefix that has objects
  under ``prefix/``. ``rm -r a/test`` only ever touches ``a/test/...``, never ``a/test2``; local
  directories stay behind, emptied (as with cloud-files).
* ``cp``/``mv`` name destinations like gsutil: copying a directory into a destination that exists as a
  directory (or ends in ``/``) creates ``dest/<dirname>``; otherwise the destination becomes the copy.
  Several sources need a destination directory. A local directory ``mv`` is a rename (shutil.move).
* ``-`` as the only source reads newline-separated paths from stdin; ``-`` as the ``cp`` destination
  writes the bytes of the files to stdout.

Reporting: what cloud-files reported with a line on stdout and exit status 0 (``cloudfiles: PATH does
not exist``, ``... is a directory (not copied).``, ``source path not found: ...``) is reported the same
way, word for word; what it passed over silently (``rm`` of a missing file, ``ls`` matching nothing) is
passed over. ``--strict`` (or ``CLOUDFILES_STRICT=1``) turns all of these into one-line errors on
stderr with exit status 1 (the other arguments are still processed). Failures cloud-files met with a
traceback are one line on stderr and exit status 1 in both modes; set ``CLOUDFILES_DEBUG=1`` for full
tracebacks.

Deliberately different from 6.4.3 (its behaviour was a crash or plainly wrong): ``cat``/``cp -`` write
raw bytes (it decoded UTF-8 and failed on binary data; text comes out the same), and ``cat`` of the same
file twice works; ``cat -r`` ranges of compressed files are ranges of the content; ``ls dir/**`` and
``dir/**.ext`` list (it printed nothing); ``ls dir/name*`` matches names (on file:// it listed inside a
directory called ``name``); ``cp``/``rm``/``mv`` with ``*`` handle the directories matched (it failed on
them; with -r they come whole), and ``cp -r dir -``, ``cp GLOB -``, ``cp - -`` write to stdout (it
created a directory named ``-``); ``mv dir existing/`` whose target exists merges (it failed);
``mv file newdir/`` puts the file in ``newdir/`` as cp does (it created a file ``newdir``); ``cp -r d
d/sub`` is refused (into itself); ``du``, ``cat`` and ``head`` take globs; ``du -s`` mixes files and
directories; ``head --json``; ``verify`` prints no colour codes into pipes. New: ``hash``, ``sync``.

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
@click.option(
    "--strict", is_flag=True, envvar="CLOUDFILES_STRICT", show_envvar=True,
    help="Report missing files and refused arguments on stderr and exit 1 (by default they print "
    "cloud-files' own line on stdout and exit 0, as cloud-files 6.4.3 did).",
)
@click.version_option(__version__, "-V", "--version", prog_name="cloudfiles")
@click.pass_context
def main(ctx: click.Context, parallel: int, strict: bool) -> None:
    """Copy, move, list, hash and sync files on gs://, s3://, file://, mem:// and http(s)://.

    Paths are cloudpaths or local paths. Quote globs (* within a level, ** across levels) so that
    the shell leaves them alone.
    """
    if parallel <= 0:
        parallel = multiprocessing.cpu_count()
    ctx.obj = State(parallel=parallel, strict=strict)




from .admin import acl, alias, license_, watch  # noqa: E402 - commands register after main exists
from .checksums import hash_, verify  # noqa: E402
from .jobs import xfer  # noqa: E402
from .listing import cat, du, head, ls  # noqa: E402
from .transfer import cp, mkdir_, mv, rm, sync, touch  # noqa: E402

for _command in (ls, cp, mv, rm, touch, cat, head, du, hash_, sync, verify, mkdir_, license_, xfer, acl, alias, watch):
    main.add_command(_command)

__all__ = ["main"]
