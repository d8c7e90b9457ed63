"""The ``cloudfiles`` command line: ls, cp, mv, rm, cat, head, du, hash, sync, verify, xfer and more.

Every command takes cloudpaths (``gs://b/k``, ``s3://b/k``, ``mem://b/k``, ``http(s)://host/k``,
``file:///abs``) or plain local paths, and works the same way on every scheme.

Path rules, shared by every command:

* **Globs** are allowed in the last path component only: ``*`` matches within one directory level,
  ``**`` matches across levels (``dir/*.json``, ``dir/**``, ``dir/**.gz``). Quote them from the shell.
* A **directory** is a real directory on file://; on object stores it is a prefix that has objects
  under ``prefix/`` (a path ending in ``/`` or naming a bucket is always a directory). Directory
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
prefix listing. New: ``hash`` and ``sync``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import multiprocessing
import os
import posixpath
import re
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, cast

import click

from . import __version__, lib, paths
from .cloudfiles import CloudFiles
from .exceptions import CloudFilesError, UnsupportedProtocolError
from .monitoring import TransmissionMonitor

#: Codecs ``-c/--compression`` accepts (``same`` keeps each file's encoding, ``none`` decompresses).
COMPRESSION_CHOICES = ("same", "none", "gzip", "br", "zstd", "bz2", "xz", "bzip2", "lzma")
#: Files fetched per request batch for stdout/cat/hash work.
READ_BLOCK = 64
#: Lines printed per write by listing commands.
PRINT_BLOCK = 1000

LICENSE_TEXT = """\
cloudfiles is distributed under the BSD 3-Clause License.

Copyright (c) the cloudfiles authors.
All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are permitted
provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions
   and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice, this list of
   conditions and the following disclaimer in the documentation and/or other materials provided
   with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors may be used to
   endorse or promote products derived from this software without specific prior written
   permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR
IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND
FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR
CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER
IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT
OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""


# =========================================================================================================
# Errors
# =========================================================================================================
class CLIError(click.ClickException):
    """A user error: printed as one ``cloudfiles: ...`` line on stderr, exit status 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"cloudfiles: {self.format_message()}", err=True)


def _one_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colour codes
    return " ".join(text.split())


def _describe(err: BaseException) -> str | None:
    """A one-line message for errors a user can cause (bad path, missing file, no permission, a
    scheme that can't do something...); None for programming errors, which keep their traceback."""
    if isinstance(err, UnsupportedProtocolError):
        msg = str(err)
        received = re.search(r"Cloud Path Received: (.*)", msg)
        if received:
            return (
                f"unsupported path {received.group(1).strip()}: expected gs://, s3://, file://, mem://, "
                "http(s):// (or an alias) followed by a path, or a local path"
            )
        return _one_line(msg)
    if isinstance(err, FileNotFoundError):
        if err.filename:
            return f"{err.filename}: No such file or directory"
        return _one_line(str(err)) or "No such file or directory"
    if isinstance(err, NotImplementedError):
        return _one_line(str(err)) or "operation not supported by this storage scheme"
    if isinstance(err, PermissionError) and err.filename:
        return f"{err.filename}: Permission denied"
    if isinstance(err, OSError) and err.filename and err.strerror:
        return f"{err.filename}: {err.strerror}"
    import sqlite3

    if isinstance(err, (CloudFilesError, OSError, ValueError, sqlite3.Error)):
        return _one_line(str(err)) or type(err).__name__
    return None


def _debug() -> bool:
    return os.environ.get("CLOUDFILES_DEBUG", "") not in ("", "0", "false", "False")


class _Group(click.Group):
    """A click group that turns user errors raised anywhere below it into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            raise  # click's standalone main quietens a closed stdout (``cloudfiles ls | head``)
        except Exception as err:
            message = None if _debug() else _describe(err)
            if message is None:
                raise
            raise CLIError(message) from err


@dataclass
class _State:
    """Per-invocation state shared by commands (``ctx.obj``)."""

    parallel: int = 1
    failed: bool = False
    command: str = ""

    def warn(self, message: str) -> None:
        """Report a failure of one argument; the command carries on and exits 1 at the end."""
        self.failed = True
        prefix = f"cloudfiles: {self.command}: " if self.command else "cloudfiles: "
        click.echo(prefix + message, err=True)

    def finish(self) -> None:
        """Exit 1 if any argument failed."""
        if self.failed:
            raise click.exceptions.Exit(1)


def _state() -> _State:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, _State):
        root.obj = _State()
    state: _State = root.obj
    state.command = ctx.command_path.partition(" ")[2] or ctx.info_name or ""
    return state


# =========================================================================================================
# Paths
# =========================================================================================================
@dataclass(frozen=True)
class Loc:
    """A command-line path split into a *root* (bucket, host, or ``/`` for local files) and a key.

    ``key`` uses '/' separators with no leading or trailing '/'; ``slash`` records that the argument
    ended in '/' (which marks a directory on object stores).
    """

    arg: str
    root: str
    key: str
    protocol: str
    slash: bool = False
    options: tuple[tuple[str, Any], ...] = ()

    def path(self, *parts: str) -> str:
        """The full cloudpath of ``root/key/parts...``."""
        key = "/".join(p.strip("/") for p in (self.key, *parts) if p and p.strip("/"))
        if not key:
            return self.root
        if self.root.endswith("/"):
            return self.root + key
        return f"{self.root}/{key}"

    @property
    def name(self) -> str:
        """Last key component ('' for a root)."""
        return self.key.rpartition("/")[2]

    @property
    def parent(self) -> Loc:
        """The directory holding this path (a root's parent is itself)."""
        return Loc(self.arg, self.root, self.key.rpartition("/")[0], self.protocol, True, self.options)

    def child(self, name: str) -> Loc:
        """``self/name``."""
        key = f"{self.key}/{name}" if self.key else name
        return Loc(self.arg, self.root, key.strip("/"), self.protocol, False, self.options)

    @property
    def is_glob(self) -> bool:
        """The last component has a ``*`` wildcard."""
        return "*" in self.name

    def cf(self, **kwargs: Any) -> CloudFiles:
        """A CloudFiles whose directory is this path."""
        return CloudFiles(self.path(), **{**dict(self.options), **kwargs})

    def contains(self, other: Loc) -> bool:
        """Is ``other`` this path or below it (same root)?"""
        if self.root != other.root:
            return False
        return not self.key or other.key == self.key or other.key.startswith(self.key + "/")


def locate(arg: str, *, no_sign_request: bool = False, no_auth: bool = False, **options: Any) -> Loc:
    """Parse a command-line path; raises CLIError for anything that is not a supported path."""
    try:
        norm = paths.normalize(arg)
        if no_auth and paths.get_protocol(norm) not in ("s3", None):
            norm = paths.to_https_protocol(norm)
        epath = paths.extract(norm)
    except UnsupportedProtocolError as err:
        raise CLIError(_describe(err) or f"unsupported path {arg!r}") from None
    protocol = epath.protocol or "file"
    slash = arg.endswith("/") or (protocol == "file" and arg.endswith(os.sep))
    if protocol == "file":
        root = "file:///"
        key = (epath.path or "").replace(os.sep, "/").strip("/")
    else:
        root = paths.asprotocolpath(epath._replace(path="")).rstrip("/")
        key = (epath.path or "").strip("/")
    if "*" in key.rpartition("/")[0]:
        raise CLIError(f"{arg}: wildcards are only supported in the last path component")
    opts = dict(options)
    if no_sign_request or (no_auth and protocol == "s3"):
        opts["no_sign_request"] = True
    return Loc(arg, root, key, protocol, slash, tuple(sorted(opts.items())))


def local_path(loc: Loc) -> str:
    """Filesystem path of a file:// location."""
    return "/" + loc.key if loc.key else "/"


def is_dir(loc: Loc) -> bool:
    """Is ``loc`` a directory (a local directory; on object stores, a prefix with objects under it)?"""
    if not loc.key:
        return True
    if loc.protocol == "file":
        return os.path.isdir(local_path(loc))
    if loc.slash:
        return True
    return bool(loc.parent.cf().isdir(loc.name))


def exists(loc: Loc) -> bool:
    """Is there a file (object) at ``loc``?"""
    if not loc.key:
        return False
    return bool(loc.parent.cf().exists(loc.name))


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """``*`` matches within one level, ``**`` across levels; every other character is literal."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.S)


def expand_glob(loc: Loc, *, recursive: bool, size: bool = False, dirs: bool = False) -> Iterator[tuple[str, Any]]:
    """``(name, size)`` of what a glob matches, names relative to ``loc.parent``.

    ``*`` patterns list one level (``dirs=True`` also yields matching ``sub/`` entries); with
    ``recursive`` a ``*`` match that is a directory contributes everything under it. ``**`` matches
    whole relative paths at any depth.
    """
    pattern = loc.name
    regex = _glob_regex(pattern)
    literal = pattern[: pattern.index("*")]
    cf = loc.parent.cf()
    deep = "**" in pattern
    if deep or recursive:
        for entry in cf.list(prefix=literal, size=size):
            name, nbytes = entry if size else (entry, None)
            target = name if deep else name.partition("/")[0]
            if regex.match(target):
                yield name, nbytes
        return
    for entry in cf.list(prefix=literal, flat=True, size=size):
        name, nbytes = entry if size else (entry, None)
        if name.endswith("/"):
            if dirs and regex.match(name[:-1]):
                yield name, None
            continue
        if regex.match(name):
            yield name, nbytes


def _list_dir(loc: Loc, *, size: bool = False, flat: bool = False) -> Iterator[tuple[str, Any]]:
    """``(name, size)`` of everything under the directory ``loc`` (names relative to it)."""
    for entry in loc.cf().list(flat=flat, size=size):
        if size:
            yield entry[0], entry[1]
        else:
            yield entry, None


def read_stdin_paths() -> list[str]:
    """Newline-separated paths from stdin (blank lines skipped)."""
    return [line.rstrip("\r\n") for line in sys.stdin if line.strip()]


def group_by_dir(locs: Iterable[Loc]) -> dict[tuple[str, tuple[tuple[str, Any], ...]], tuple[Loc, list[str]]]:
    """Group file locations by parent directory: ``{(dir path, options): (dir Loc, [names])}``."""
    groups: dict[tuple[str, tuple[tuple[str, Any], ...]], tuple[Loc, list[str]]] = {}
    for loc in locs:
        parent = loc.parent
        key = (parent.path(), loc.options)
        if key not in groups:
            groups[key] = (parent, [])
        groups[key][1].append(loc.name)
    return groups


def group_by_common_dir(locs: Sequence[Loc]) -> list[tuple[Loc, list[str]]]:
    """Group file locations by root, each group relative to its deepest common directory."""
    by_root: dict[tuple[str, tuple[tuple[str, Any], ...]], list[Loc]] = defaultdict(list)
    for loc in locs:
        by_root[(loc.root, loc.options)].append(loc)
    out = []
    for members in by_root.values():
        dirs = [m.key.rpartition("/")[0] for m in members]
        common = posixpath.commonpath(["/" + d for d in dirs]).strip("/")
        base = Loc(members[0].arg, members[0].root, common, members[0].protocol, True, members[0].options)
        cut = len(common) + 1 if common else 0
        out.append((base, [m.key[cut:] for m in members]))
    return out


# =========================================================================================================
# Shared machinery: progress bars, process fan-out, stdout
# =========================================================================================================
def _bar(enabled: bool, desc: str, total: int | None = None, unit: str = " files") -> Any:
    from tqdm import tqdm

    return tqdm(desc=desc, total=total, unit=unit, disable=not enabled, file=sys.stderr)


def _parallel_for(*locs: Loc) -> int:
    """Processes to use: the ``-p`` value, but 1 when a mem:// store is involved (it is per process)."""
    if any(loc.protocol == "mem" for loc in locs):
        return 1
    return max(1, _state().parallel)


def _fan_out(
    fn: Callable[[dict[str, Any], list[Any]], int],
    job: dict[str, Any],
    items: Iterable[Any],
    *,
    parallel: int,
    block_size: int,
    bar: Any,
) -> int:
    """Run ``fn(job, block)`` over blocks of ``items`` on ``parallel`` spawned processes."""
    done_count = 0
    ctx = multiprocessing.get_context("spawn")  # fork is unsafe with threads and curl handles
    with ProcessPoolExecutor(max_workers=parallel, mp_context=ctx) as pool:
        pending: set[Future[int]] = set()

        def harvest(futures: set[Future[int]]) -> set[Future[int]]:
            nonlocal done_count
            finished, rest = wait(futures, return_when=FIRST_COMPLETED)
            for fut in finished:
                n = fut.result()
                done_count += n
                bar.update(n)
            return rest

        for block in lib.sip(items, block_size):
            pending.add(pool.submit(fn, job, block))
            while len(pending) >= 2 * parallel:
                pending = harvest(pending)
        while pending:
            pending = harvest(pending)
    return done_count


def _transfer_job(job: dict[str, Any], block: list[Any]) -> int:
    """One block of a cp/mv/sync (runs in a worker process when ``-p`` > 1)."""
    src = CloudFiles(job["src"], **job["src_options"])
    dest = CloudFiles(job["dest"], **job["dest_options"])
    if job["move"]:
        src.moves(dest, block, block_size=job["block_size"], progress=False)
    else:
        src.transfer_to(
            dest, paths=block, reencode=job["reencode"], block_size=job["block_size"], progress=False,
            resumable=job["resumable"],
        )
    return len(block)


def _delete_job(job: dict[str, Any], block: list[str]) -> int:
    return int(CloudFiles(job["base"], **job["options"]).delete(block, progress=False, parallel=1))


@dataclass
class TransferOptions:
    """The cp/mv/sync knobs that reach CloudFiles."""

    reencode: Any = None
    block_size: int = 128
    part_bytes: int = int(1e8)
    resumable: bool = False
    bar: Any = None
    recordings: list[TransmissionMonitor] = field(default_factory=list)


def run_transfer(
    src: Loc, dest: Loc, pairs: Iterable[tuple[str, str]], opts: TransferOptions, *, move: bool = False
) -> None:
    """Copy (or move) ``pairs`` of ``(src name, dest name)`` from directory ``src`` to directory ``dest``."""
    job = {
        "src": src.path(),
        "dest": dest.path(),
        "src_options": dict(src.options),
        "dest_options": {**dict(dest.options), "composite_upload_threshold": int(opts.part_bytes)},
        "reencode": opts.reencode,
        "block_size": max(1, int(opts.block_size)),
        "resumable": opts.resumable,
        "move": move,
    }
    parallel = _parallel_for(src, dest)
    if parallel > 1:
        _fan_out(_transfer_job, job, pairs, parallel=parallel, block_size=job["block_size"], bar=opts.bar)
        return
    cf_src = CloudFiles(job["src"], **job["src_options"])
    cf_dest = CloudFiles(job["dest"], **job["dest_options"])
    if move:
        cf_src.moves(cf_dest, pairs, block_size=job["block_size"], progress=opts.bar)
        return
    tm = cf_src.transfer_to(
        cf_dest, paths=pairs, reencode=opts.reencode, block_size=job["block_size"], progress=opts.bar,
        resumable=opts.resumable,
    )
    opts.recordings.append(tm)


def _ordered_get(cf: CloudFiles, names: Sequence[Any], *, raw: bool = False) -> list[dict[str, Any]]:
    """``cf.get`` results in the order of ``names`` (get returns them in completion order)."""
    results = cf.get(list(names), raw=raw, progress=False)
    by_key: dict[Any, dict[str, Any]] = {}
    for res in results:
        start, end = res["byte_range"]
        by_key[(res["path"], start, end)] = res
    out = []
    for item in names:
        if isinstance(item, dict):
            out.append(by_key[(item["path"], item.get("start"), item.get("end"))])
        else:
            out.append(by_key[(item, None, None)])
    return out


def _stdout_bytes() -> Any:
    """The binary stdout (under click's test runner too)."""
    return getattr(sys.stdout, "buffer", sys.stdout)


def write_files_to_stdout(base: Loc, names: Iterable[str], state: _State) -> None:
    """Write the (decoded) bytes of each file to stdout, in order; missing files are reported."""
    out = _stdout_bytes()
    cf = base.cf()
    for block in lib.sip(names, READ_BLOCK):
        for name, res in zip(block, _ordered_get(cf, block), strict=True):
            if res["content"] is None:
                state.warn(f"{base.path(name)}: No such file or directory")
                continue
            out.write(res["content"])
    out.flush()


def _reencode(compression: str) -> Any:
    """``-c`` value -> ``reencode`` argument (None keeps, False decompresses, else a codec name)."""
    value = compression.lower()
    if value == "same":
        return None
    if value == "none":
        return False
    return value


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d_%H-%M-%S.%f")[:-5] + "Z"


def _human(nbytes: float) -> str:
    """``du -h`` sizes: bytes below 1 KiB, then KiB ... EiB with two decimals."""
    if nbytes < 1024:
        return f"{int(nbytes)} bytes"
    value = float(nbytes)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        value /= 1024
        if value < 1024 or unit == "EiB":
            return f"{value:.2f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, bytes):
        return obj.decode("utf8", "replace")
    return str(obj)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=_json_default, sort_keys=False)


# =========================================================================================================
# The command group
# =========================================================================================================
@click.group(cls=_Group)
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
    ctx.obj = _State(parallel=parallel)


# -- license / mkdir ----------------------------------------------------------------------------------------
@main.command("license")
def license_() -> None:
    """Print the license of this library and command."""
    click.echo(LICENSE_TEXT, nl=False)


@main.command("mkdir")
@click.argument("paths", nargs=-1, required=True)
def mkdir_(paths: tuple[str, ...]) -> None:
    """Create local directories (with parents). Object stores have no directories: a no-op there."""
    for arg in paths:
        loc = locate(arg)
        if loc.protocol == "file":
            os.makedirs(local_path(loc), exist_ok=True)


# -- ls -----------------------------------------------------------------------------------------------------
_EXPR_RE = re.compile(r"\[([A-Za-z0-9_.\-]+)\](?:\{(\d+)\})?")


def expand_expr(prefix: str) -> list[str]:
    """``ls -e`` prefixes: each ``[abc]`` is replaced by each of a, b, c (``[abc]{2}``: two characters
    from the set); several groups give their cartesian product."""
    parts: list[list[str]] = []
    last = 0
    for m in _EXPR_RE.finditer(prefix):
        parts.append([prefix[last : m.start()]])
        chars = m.group(1)
        reps = int(m.group(2) or 1)
        parts.append(["".join(p) for p in itertools.product(chars, repeat=reps)])
        last = m.end()
    parts.append([prefix[last:]])
    return ["".join(combo) for combo in itertools.product(*parts)]


def _print_lines(lines: Iterable[str], bar: Any = None) -> int:
    n = 0
    for block in lib.sip(lines, PRINT_BLOCK):
        click.echo("\n".join(block))
        n += len(block)
        if bar is not None:
            bar.update(len(block))
    return n


@main.command()
@click.argument("cloudpath")
@click.option("--shortpath", is_flag=True, help="Print names relative to the listed directory.")
@click.option("--flat", is_flag=True, help="List one level only; subdirectories appear as 'name/'.")
@click.option(
    "-e", "--expr", is_flag=True,
    help="Expand [abc] (and [abc]{n}) in the last component into several listing prefixes.",
)
@click.option("--no-auth", is_flag=True, help="Read anonymously: public https endpoints for gs, unsigned s3.")
@click.option(
    "--sqlite", "sqlite_db", default="", metavar="DB",
    help="Write the listing (path, size) into this sqlite database instead of printing; rerun to resume.",
)
@click.option("--progress", is_flag=True, help="Show a progress bar (on stderr).")
def ls(cloudpath: str, shortpath: bool, flat: bool, expr: bool, no_auth: bool, sqlite_db: str, progress: bool) -> None:
    """List files under CLOUDPATH (recursively unless --flat).

    CLOUDPATH may be a directory, a file, or end in a glob: 'dir/*' (one level), 'dir/**' (all
    levels), 'dir/*.json'. Full paths are printed unless --shortpath.
    """
    state = _state()
    loc = locate(cloudpath, no_auth=no_auth)

    if sqlite_db:
        _ls_sqlite(loc, sqlite_db, flat=flat, progress=progress)
        return

    def show(base: Loc, names: Iterable[str]) -> Iterator[str]:
        if shortpath:
            return iter(names)
        return (base.path(name) + ("/" if name.endswith("/") else "") for name in names)

    with _bar(progress, "Listing") as bar:
        if loc.is_glob:
            # like a shell: '*' matches one level (directories show as 'name/'), '**' every level
            names = (name for name, _ in expand_glob(loc, recursive=False, dirs=True))
            _print_lines(show(loc.parent, names), bar)
            return
        if expr:
            if "[" not in loc.name:
                raise CLIError(f"ls: -e needs a [...] expression in the last path component of {cloudpath}")
            base = loc.parent
            cf = base.cf()
            expanded = itertools.chain.from_iterable(
                cf.list(prefix=p, flat=flat) for p in expand_expr(loc.name)
            )
            _print_lines(show(base, expanded), bar)
            return
        if is_dir(loc):
            _print_lines(show(loc, (name for name, _ in _list_dir(loc, flat=flat))), bar)
            return
        if exists(loc):
            click.echo(loc.name if shortpath else loc.path())
            return
    state.warn(f"{cloudpath}: No such file or directory")
    state.finish()


def _ls_sqlite(loc: Loc, db: str, *, flat: bool, progress: bool) -> None:
    from .resumable import ResumableListing

    if loc.is_glob:
        raise CLIError("ls --sqlite lists a directory; globs are not supported with it")
    base = loc if is_dir(loc) else loc.parent
    prefix = "" if base is loc else loc.name
    listing = ResumableListing(db)
    try:
        n = listing.run(base.path(), prefix=prefix, flat=flat, progress=progress, **dict(loc.options))
    finally:
        listing.close()
    if progress:
        click.echo(f"{n} files in {db}", err=True)


# -- cp / mv ------------------------------------------------------------------------------------------------
def _common_transfer_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--progress", is_flag=True, help="Show a progress bar (on stderr)."),
            click.option("-b", "--block-size", default=128, show_default=True, help="Files per transfer block."),
            click.option(
                "--part-bytes", default=int(1e8), show_default=True, type=int,
                help="Objects larger than this are uploaded in parts (s3 multipart, gs composite).",
            ),
            click.option("--no-sign-request", is_flag=True, help="Read the source anonymously (unsigned s3)."),
        ]
    ):
        fn = option(fn)
    return fn


@dataclass
class _Plan:
    """One unit of a cp/mv: copy ``pairs`` from directory ``src`` to directory ``dest``."""

    src: Loc
    dest: Loc
    pairs: Iterable[tuple[str, str]]
    whole_dir: bool = False  # src is a directory copied as a whole (mv may rename it)


class _Planner:
    """Works out source and destination names for cp and mv (gsutil-style directory naming)."""

    def __init__(self, state: _State, dest: Loc, nsources: int, recursive: bool, verb: str) -> None:
        self.state = state
        self.dest = dest
        self.recursive = recursive
        self.verb = verb
        self.many = nsources > 1
        self._dest_is_dir: bool | None = None
        self._dest_is_file: bool | None = None

    @property
    def dest_is_dir(self) -> bool:
        if self._dest_is_dir is None:
            self._dest_is_dir = self.dest.slash or is_dir(self.dest)
        return self._dest_is_dir

    @property
    def dest_is_file(self) -> bool:
        if self._dest_is_file is None:
            self._dest_is_file = bool(self.dest.key) and exists(self.dest)
        return self._dest_is_file

    def _dest_dir_for_many(self) -> Loc | None:
        """The destination as a directory for several files; None (reported) if it is a file."""
        if not self.dest_is_dir and self.dest_is_file:
            self.state.warn(f"{self.dest.arg}: Not a directory")
            return None
        return self.dest

    def plan(self, src: Loc) -> _Plan | None:
        if src.is_glob:
            dest = self._dest_dir_for_many()
            if dest is None:
                return None
            pairs = ((n, n) for n, _ in expand_glob(src, recursive=self.recursive))
            return _Plan(src.parent, dest, pairs)
        if is_dir(src):
            if not self.recursive and self.verb == "cp":
                self.state.warn(f"{src.arg}: is a directory (not copied; use -r)")
                return None
            if self.dest_is_dir and src.name:
                target = self.dest.child(src.name)
            elif self.dest_is_file:
                self.state.warn(f"{self.dest.arg}: Not a directory")
                return None
            else:
                target = self.dest
            if src.contains(target):
                self.state.warn(f"cannot {self.verb} {src.arg} into itself ({self.dest.arg})")
                return None
            pairs = ((n, n) for n, _ in _list_dir(src))
            return _Plan(src, target, pairs, whole_dir=True)
        if not exists(src):
            self.state.warn(f"{src.arg}: No such file or directory")
            return None
        if self.many or self.dest_is_dir:
            dest = self._dest_dir_for_many()
            if dest is None:
                return None
            return _Plan(src.parent, dest, [(src.name, src.name)])
        return _Plan(src.parent, self.dest.parent, [(src.name, self.dest.name)])


def _stdin_plans(dest: Loc, state: _State, **options: Any) -> list[_Plan]:
    """``-`` source: newline-separated paths, grouped by root, named relative to their common directory."""
    locs = [locate(line, **options) for line in read_stdin_paths()]
    plans = []
    for base, names in group_by_common_dir(locs):
        plans.append(_Plan(base, dest, [(n, n) for n in names]))
    return plans


def _charts(recordings: list[TransmissionMonitor], flight_time: bool, io_rate: bool) -> None:
    if not (flight_time or io_rate) or not recordings:
        return
    tm = TransmissionMonitor.merge(recordings)
    ts = _timestamp()
    if io_rate:
        filename = f"./cloudfiles-cp-est-io-{ts}.png"
        tm.plot_histogram(filename=filename)
        click.echo(f"Saved chart: {filename}", err=True)
    if flight_time:
        filename = f"./cloudfiles-cp-flight-time-{ts}.png"
        tm.plot_gantt(filename=filename)
        click.echo(f"Saved chart: {filename}", err=True)


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.argument("destination")
@click.option("-r", "--recursive", is_flag=True, help="Copy directories (and glob matches) recursively.")
@click.option(
    "-c", "--compression", default="same", show_default=True, type=click.Choice(COMPRESSION_CHOICES, case_sensitive=False),
    help="Encoding at the destination: same keeps each file's, none stores decompressed.",
)
@_common_transfer_options
@click.option("--resumable", is_flag=True, help="http -> file downloads go to .part files until complete.")
@click.option("--flight-time", is_flag=True, help="Save a Gantt chart of the transfers (needs matplotlib).")
@click.option("--io-rate", is_flag=True, help="Save a chart of the estimated transfer rate (needs matplotlib).")
@click.option("--machine-io-rate", is_flag=True, help="Save a chart of the machine's measured network rate.")
@click.option("--machine-io-rate-buffer-sec", default=600, show_default=True, help="Seconds of samples kept.")
def cp(
    sources: tuple[str, ...], destination: str, recursive: bool, compression: str, progress: bool,
    block_size: int, part_bytes: int, no_sign_request: bool, resumable: bool, flight_time: bool,
    io_rate: bool, machine_io_rate: bool, machine_io_rate_buffer_sec: int,
) -> None:
    """Copy SOURCES to DESTINATION.

    A source may be a file, a directory (with -r), a glob, or '-' to read paths from stdin.
    DESTINATION '-' writes the files' bytes to stdout. Copying a directory into an existing
    directory (or a path ending in '/') creates DESTINATION/<name>; otherwise DESTINATION becomes
    the copy. With several sources DESTINATION is a directory.
    """
    state = _state()
    to_stdout = destination == "-"
    sampler = None
    if machine_io_rate:
        from .monitoring import IOSampler

        sampler = IOSampler(buffer_sec=machine_io_rate_buffer_sec, interval=0.25)
        sampler.start_sampling()

    if to_stdout:
        _cp_to_stdout(sources, recursive, state, no_sign_request)
        state.finish()
        return

    dest = locate(destination)
    if dest.is_glob:
        raise CLIError(f"{destination}: the destination cannot be a glob")
    if dest.protocol in ("http", "https"):
        raise CLIError(f"{destination}: http(s):// is read-only")
    opts = TransferOptions(
        reencode=_reencode(compression), block_size=block_size, part_bytes=part_bytes, resumable=resumable,
    )
    planner = _Planner(state, dest, len(sources) + ("-" in sources), recursive, "cp")
    with _bar(progress, "Copying") as bar:
        opts.bar = bar
        for arg in sources:
            if arg == "-":
                plans = _stdin_plans(dest, state, no_sign_request=no_sign_request)
            else:
                plan = planner.plan(locate(arg, no_sign_request=no_sign_request))
                plans = [plan] if plan is not None else []
            for plan in plans:
                run_transfer(plan.src, plan.dest, plan.pairs, opts)

    if sampler is not None:
        sampler.stop_sampling()
        filename = f"./cloudfiles-cp-measured-io-{_timestamp()}.png"
        sampler.plot_histogram(resolution=1.0, filename=filename)
        click.echo(f"Saved chart: {filename}", err=True)
    _charts(opts.recordings, flight_time, io_rate)
    state.finish()


def _cp_to_stdout(sources: Sequence[str], recursive: bool, state: _State, no_sign_request: bool) -> None:
    for arg in sources:
        if arg == "-":
            locs = [locate(line, no_sign_request=no_sign_request) for line in read_stdin_paths()]
            for parent, names in _in_order_groups(locs):
                write_files_to_stdout(parent, names, state)
            continue
        loc = locate(arg, no_sign_request=no_sign_request)
        if loc.is_glob:
            write_files_to_stdout(loc.parent, (n for n, _ in expand_glob(loc, recursive=recursive)), state)
        elif is_dir(loc):
            if not recursive:
                state.warn(f"{arg}: is a directory (not copied; use -r)")
                continue
            write_files_to_stdout(loc, (n for n, _ in _list_dir(loc)), state)
        else:
            write_files_to_stdout(loc.parent, [loc.name], state)


def _in_order_groups(locs: Sequence[Loc]) -> Iterator[tuple[Loc, list[str]]]:
    """Consecutive runs of locations sharing a directory (keeps the input order of output)."""
    for _key, run in itertools.groupby(locs, key=lambda loc: (loc.parent.path(), loc.options)):
        members = list(run)
        yield members[0].parent, [m.name for m in members]


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.argument("destination")
@_common_transfer_options
def mv(
    sources: tuple[str, ...], destination: str, progress: bool, block_size: int, part_bytes: int,
    no_sign_request: bool,
) -> None:
    """Move SOURCES to DESTINATION (directories move whole; same naming rules as cp).

    Local directory moves are renames. Elsewhere each file is copied, then deleted.
    """
    state = _state()
    dest = locate(destination)
    if dest.is_glob or destination == "-":
        raise CLIError(f"{destination}: not a valid destination for mv")
    opts = TransferOptions(block_size=block_size, part_bytes=part_bytes)
    planner = _Planner(state, dest, len(sources) + ("-" in sources), True, "mv")
    with _bar(progress, "Moving") as bar:
        opts.bar = bar
        for arg in sources:
            if arg == "-":
                plans = _stdin_plans(dest, state, no_sign_request=no_sign_request)
            else:
                plan = planner.plan(locate(arg, no_sign_request=no_sign_request))
                plans = [plan] if plan is not None else []
            for plan in plans:
                if plan.whole_dir and plan.src.protocol == "file" and plan.dest.protocol == "file":
                    if _rename_local_dir(plan.src, plan.dest):
                        continue
                run_transfer(plan.src, plan.dest, plan.pairs, opts, move=True)
                if plan.whole_dir and plan.src.protocol == "file":
                    _remove_empty_dirs(local_path(plan.src))
    state.finish()


def _rename_local_dir(src: Loc, dest: Loc) -> bool:
    """Move a local directory with one rename when the target does not exist yet."""
    target = local_path(dest)
    if os.path.lexists(target):
        return False  # merge into it file by file
    os.makedirs(os.path.dirname(target) or "/", exist_ok=True)
    shutil.move(local_path(src), target)
    return True


def _remove_empty_dirs(top: str) -> None:
    """Remove ``top`` and the directories under it that are (now) empty."""
    for dirpath, _dirnames, _files in os.walk(top, topdown=False):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


# -- rm -----------------------------------------------------------------------------------------------------
@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Remove directories and everything in them.")
@click.option("--progress", is_flag=True, help="Show a progress bar (on stderr).")
@click.option("-b", "--block-size", default=128, show_default=True, help="Deletions per process block (-p).")
def rm(paths: tuple[str, ...], recursive: bool, progress: bool, block_size: int) -> None:
    """Remove files; directories only with -r. '-' reads paths from stdin.

    'rm -r a/test' removes a/test and everything under a/test/, never a/test2.
    """
    state = _state()
    if "-" in paths:
        args = [p for p in paths if p != "-"] + read_stdin_paths()
        from_stdin = True
    else:
        args = list(paths)
        from_stdin = False

    singles: list[Loc] = []
    trees: list[Loc] = []
    globs: list[Loc] = []
    for arg in args:
        loc = locate(arg)
        if loc.protocol in ("http", "https"):
            raise CLIError(f"{arg}: http(s):// is read-only")
        if loc.is_glob:
            globs.append(loc)
        elif from_stdin:
            singles.append(loc)
        elif loc.key and (not loc.slash or loc.protocol == "file") and exists(loc):
            singles.append(loc)
            if recursive and loc.protocol != "file" and is_dir(loc):
                trees.append(loc)  # an object store may hold both a/test and a/test/...
        elif is_dir(loc):
            if not recursive:
                state.warn(f"{arg}: is a directory (use -r)")
                continue
            trees.append(loc)
        else:
            state.warn(f"{arg}: No such file or directory")

    with _bar(progress, "Deleting") as bar:
        for parent, names in group_by_dir(singles).values():
            _delete(parent, names, block_size, bar)
        for loc in globs:
            _delete(loc.parent, (n for n, _ in expand_glob(loc, recursive=recursive)), block_size, bar)
        for loc in trees:
            _delete(loc, (n for n, _ in _list_dir(loc)), block_size, bar)
            if loc.protocol == "file":
                _remove_empty_dirs(local_path(loc))
    state.finish()


def _delete(base: Loc, names: Iterable[str], block_size: int, bar: Any) -> None:
    parallel = _parallel_for(base)
    if parallel > 1:
        job = {"base": base.path(), "options": dict(base.options)}
        _fan_out(_delete_job, job, names, parallel=parallel, block_size=max(1, block_size), bar=bar)
        return
    cf = base.cf()
    for block in lib.sip(names, max(1, block_size)):
        cf.delete(block, progress=False, parallel=1)
        bar.update(len(block))


# -- touch --------------------------------------------------------------------------------------------------
@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--progress", is_flag=True, help="Show a progress bar (on stderr).")
@click.option("--no-sign-request", is_flag=True, help="Unsigned s3 requests.")
def touch(sources: tuple[str, ...], progress: bool, no_sign_request: bool) -> None:
    """Create empty files where missing (local files also get a fresh modification time)."""
    locs = [locate(arg, no_sign_request=no_sign_request) for arg in sources]
    for loc in locs:
        if not loc.key or loc.slash:
            raise CLIError(f"{loc.arg}: not a file path")
        if loc.protocol in ("http", "https"):
            raise CLIError(f"{loc.arg}: http(s):// is read-only")
    with _bar(progress, "Touching", total=len(locs)) as bar:
        for parent, names in group_by_dir(locs).values():
            parent.cf().touch(names, progress=False)
            bar.update(len(names))


# -- cat ----------------------------------------------------------------------------------------------------
def _parse_range(text: str) -> tuple[int, int | None]:
    start_text, sep, end_text = text.partition("-")
    try:
        start = int(start_text) if start_text.strip() else 0
        end = int(end_text) if end_text.strip() else None
    except ValueError:
        raise CLIError(f"cat: bad range {text!r}: use START-END (END exclusive; either may be empty)") from None
    if not sep or start < 0 or (end is not None and end < start):
        raise CLIError(f"cat: bad range {text!r}: use START-END with 0 <= START <= END")
    return start, end


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-r", "--range", "byte_range", default=None, metavar="START-END",
              help="Print bytes START to END (END exclusive, either may be empty) of a single source.")
@click.option("--no-sign-request", is_flag=True, help="Unsigned s3 requests.")
def cat(sources: tuple[str, ...], byte_range: str | None, no_sign_request: bool) -> None:
    """Write the contents of each source to stdout, in order, as raw bytes.

    '-' (alone) reads the list of paths from stdin. Globs are expanded.
    """
    state = _state()
    args = read_stdin_paths() if sources == ("-",) else list(sources)
    if byte_range is not None:
        if len(args) != 1:
            raise CLIError("cat: --range works with a single source")
        _cat_range(locate(args[0], no_sign_request=no_sign_request), *_parse_range(byte_range))
        return
    locs = [locate(arg, no_sign_request=no_sign_request) for arg in args]
    pending: list[Loc] = []

    def flush() -> None:
        for parent, names in _in_order_groups(pending):
            write_files_to_stdout(parent, names, state)
        pending.clear()

    for loc in locs:
        if loc.is_glob:
            flush()
            write_files_to_stdout(loc.parent, (n for n, _ in expand_glob(loc, recursive=False)), state)
        elif not loc.key or loc.slash:
            state.warn(f"{loc.arg}: is a directory")
        else:
            pending.append(loc)
    flush()
    state.finish()


def _cat_range(loc: Loc, start: int, end: int | None) -> None:
    cf = loc.parent.cf()
    res = cf.get([{"path": loc.name, "start": start, "end": end}], raw=True, progress=False)[0]
    content = res["content"]
    if content is None or res["compress"] is not None:
        # Stored compressed (or only a compressed variant is served): ranges apply to the decoded bytes.
        whole = cf.get(loc.name)
        content = None if whole is None else whole[start:end]
    if content is None:
        raise CLIError(f"{loc.arg}: No such file or directory")
    out = _stdout_bytes()
    out.write(content)
    out.flush()


# -- head ---------------------------------------------------------------------------------------------------
@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--no-sign-request", is_flag=True, help="Unsigned s3 requests.")
def head(paths: tuple[str, ...], no_sign_request: bool) -> None:
    """Print the metadata of files as JSON (one object, or {path: metadata} for several)."""
    state = _state()
    results: dict[str, Any] = {}
    for arg in paths:
        loc = locate(arg, no_sign_request=no_sign_request)
        if loc.is_glob:
            base = loc.parent
            names = [n for n, _ in expand_glob(loc, recursive=False)]
            for name, meta in base.cf().head(names).items():
                results[base.path(name)] = meta
            continue
        meta = loc.parent.cf().head(loc.name) if loc.key else None
        if meta is None:
            state.warn(f"{arg}: No such file or directory")
            continue
        results[loc.path()] = meta
    if len(paths) == 1 and not locate(paths[0]).is_glob:
        if results:
            click.echo(_dumps(next(iter(results.values()))))
    elif results or not state.failed:
        click.echo(_dumps(results))
    state.finish()


# -- du -----------------------------------------------------------------------------------------------------
@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-c", "--grand-total", is_flag=True, help="Also print the total of all arguments.")
@click.option("-s", "--summarize", is_flag=True, help="One total per argument instead of one line per file.")
@click.option("-h", "--human-readable", is_flag=True, help="Sizes in bytes, KiB, MiB, GiB, TiB, PiB, EiB.")
@click.option("-N", "--count-files", is_flag=True, help="Also print the number of files.")
@click.option("-e", "--group-by-ext", is_flag=True, help="Also print usage per file extension.")
def du(
    paths: tuple[str, ...], grand_total: bool, summarize: bool, human_readable: bool, count_files: bool,
    group_by_ext: bool,
) -> None:
    """Disk usage of files and directories (stored, i.e. compressed, sizes)."""
    state = _state()
    disp: Callable[[int], Any] = _human if human_readable else (lambda n: n)
    grand = 0
    nfiles = 0
    by_ext: dict[str, int] = defaultdict(int)
    for arg in paths:
        loc = locate(arg)
        entries: Iterable[tuple[str, Any]]
        # lines name files the way the argument was written: ARG/name (coreutils du style)
        if loc.is_glob:
            entries = expand_glob(loc, recursive=False, size=True)
            shown = arg.rpartition("/")[0]
        elif is_dir(loc):
            entries = _list_dir(loc, size=True)
            shown = arg.rstrip("/") or "/"
        else:
            nbytes = loc.parent.cf().size(loc.name) if loc.key else None
            if nbytes is None:
                state.warn(f"{arg}: No such file or directory")
                continue
            entries = [("", nbytes)]
            shown = arg
        subtotal = 0
        lines = []
        for name, nbytes in entries:
            nbytes = int(nbytes or 0)
            subtotal += nbytes
            nfiles += 1
            if group_by_ext:
                by_ext[os.path.splitext(name)[1].lower() or "(no extension)"] += nbytes
            if not summarize:
                label = posixpath.join(shown, name) if shown and name else (name or shown)
                lines.append(f"{disp(nbytes)}\t{label}")
                if len(lines) >= PRINT_BLOCK:
                    click.echo("\n".join(lines))
                    lines.clear()
        if lines:
            click.echo("\n".join(lines))
        if summarize:
            click.echo(f"{disp(subtotal)}\t{arg}")
        grand += subtotal
    if grand_total:
        click.echo(f"{disp(grand)}\tbytes total")
    if count_files:
        click.echo(f"{nfiles}\tfiles total")
    if group_by_ext:
        click.echo("\nUsage by file extension:")
        for ext, nbytes in sorted(by_ext.items(), key=lambda kv: kv[1], reverse=True):
            click.echo(f"{disp(nbytes)}\t{ext}")
    state.finish()


# -- hash ---------------------------------------------------------------------------------------------------
HASH_ALGORITHMS = ("md5", "crc32c")
_MD5_HEX = re.compile(r"^[0-9a-fA-F]{32}$")


def _b64decode(value: str) -> bytes:
    return base64.b64decode(value + "=" * (-len(value) % 4))


def server_hashes(protocol: str, meta: dict[str, Any] | None) -> dict[str, bytes]:
    """Digests (raw bytes) of the stored object that the store itself reports in ``head``."""
    out: dict[str, bytes] = {}
    if not meta:
        return out
    with contextlib.suppress(ValueError, TypeError):
        if meta.get("Content-Md5"):
            digest = _b64decode(str(meta["Content-Md5"]))
            if len(digest) == 16:
                out["md5"] = digest
        etag = str(meta.get("ETag") or "").strip('"')
        # S3 ETags of single-part uploads are the hex md5; gs ETags and web servers' are not hashes.
        if "md5" not in out and protocol == "s3" and _MD5_HEX.match(etag):
            out["md5"] = bytes.fromhex(etag)
        if meta.get("Content-Crc32c"):
            digest = _b64decode(str(meta["Content-Crc32c"]))
            if len(digest) == 4:
                out["crc32c"] = digest
    return out


class _Hasher:
    """md5 and/or crc32c over chunks."""

    def __init__(self, algorithms: Sequence[str]) -> None:
        self.md5 = hashlib.md5() if "md5" in algorithms else None
        self.crc: int | None = 0 if "crc32c" in algorithms else None

    def update(self, data: Any) -> None:
        if self.md5 is not None:
            self.md5.update(data)
        if self.crc is not None:
            self.crc = lib.crc32c(data, self.crc)

    def digests(self) -> dict[str, bytes]:
        out = {}
        if self.md5 is not None:
            out["md5"] = self.md5.digest()
        if self.crc is not None:
            out["crc32c"] = self.crc.to_bytes(4, "big")
        return out


def _hash_local_file(base: Loc, name: str, algorithms: Sequence[str]) -> dict[str, bytes] | None:
    """Stream the stored variant of a file:// object from disk (no whole-file buffer)."""
    from .interfaces.file import ENCODING_SUFFIXES

    stem = paths.safe_local_join(local_path(base), name)
    for _enc, suffix in ENCODING_SUFFIXES:
        try:
            f = open(stem + suffix, "rb")  # noqa: SIM115 - closed below
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue
        hasher = _Hasher(algorithms)
        with f:
            while chunk := f.read(1 << 22):
                hasher.update(chunk)
        return hasher.digests()
    return None


def compute_hashes(
    base: Loc, names: Sequence[str], algorithms: Sequence[str], *, content: bool = False, trust_server: bool = True,
) -> dict[str, dict[str, bytes] | None]:
    """``{name: {algorithm: digest}}`` (None for missing files) of stored bytes (decoded if ``content``).

    Digests the store reports (S3 ETag/Content-Md5, GCS md5/crc32c) are used when ``trust_server``;
    the rest are computed here: local files are streamed from disk, others downloaded.
    """
    out: dict[str, dict[str, bytes] | None] = {}
    todo = list(names)
    cf = base.cf()
    if trust_server and not content and base.protocol not in ("file", "mem", "http", "https"):
        metas = cf.head(todo) if todo else {}
        rest = []
        for name in todo:
            meta = metas.get(name)
            if meta is None:
                out[name] = None
                continue
            known = server_hashes(base.protocol, meta)
            if all(a in known for a in algorithms):
                out[name] = {a: known[a] for a in algorithms}
            else:
                rest.append(name)
        todo = rest
    if base.protocol == "file" and not content:
        with ThreadPoolExecutor(max_workers=8) as pool:
            for name, digests in zip(todo, pool.map(lambda n: _hash_local_file(base, n, algorithms), todo), strict=True):
                out[name] = digests
        return out
    for block in lib.sip(todo, READ_BLOCK):
        for name, res in zip(block, _ordered_get(cf, block, raw=not content), strict=True):
            if res["content"] is None:
                out[name] = None
                continue
            hasher = _Hasher(algorithms)
            hasher.update(res["content"])
            out[name] = hasher.digests()
    return out


def _format_digest(algorithm: str, digest: bytes, b64: bool) -> str:
    if b64:
        return base64.b64encode(digest).decode("ascii")
    return digest.hex()


@main.command("hash")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "-a", "--algorithm", "algorithms", type=click.Choice(HASH_ALGORITHMS), multiple=True,
    help="md5 (default) and/or crc32c; repeat for both.",
)
@click.option("--base64", "b64", is_flag=True, help="Print digests in base64 (as gs/s3 headers) instead of hex.")
@click.option("-r", "--recursive", is_flag=True, help="Hash every file under directories.")
@click.option("--content", is_flag=True, help="Hash the decompressed content instead of the stored bytes.")
@click.option("--compute", is_flag=True, help="Always compute digests here, ignoring what the store reports.")
@click.option("--no-sign-request", is_flag=True, help="Unsigned s3 requests.")
def hash_(
    paths: tuple[str, ...], algorithms: tuple[str, ...], b64: bool, recursive: bool, content: bool,
    compute: bool, no_sign_request: bool,
) -> None:
    """Print checksums of files: 'DIGEST  PATH' (md5sum style) for one algorithm, or
    'md5:DIGEST crc32c:DIGEST  PATH' for both.

    Digests cover the stored bytes (what the store's own checksums describe); the store's digests
    are used when it has them, otherwise they are computed locally.
    """
    state = _state()
    algos = list(dict.fromkeys(algorithms or ("md5",)))
    for arg in paths:
        loc = locate(arg, no_sign_request=no_sign_request)
        names: Iterator[str]
        if loc.is_glob:
            base, names = loc.parent, (n for n, _ in expand_glob(loc, recursive=recursive))
        elif is_dir(loc) and not (loc.key and not loc.slash and loc.protocol != "file" and exists(loc)):
            if not recursive:
                state.warn(f"{arg}: is a directory (use -r)")
                continue
            base, names = loc, (n for n, _ in _list_dir(loc))
        else:
            base, names = loc.parent, iter([loc.name])
        for block in lib.sip(names, 1000):
            digests = compute_hashes(base, block, algos, content=content, trust_server=not compute)
            lines = []
            for name in block:
                found = digests.get(name)
                if found is None:
                    state.warn(f"{base.path(name)}: No such file or directory")
                    continue
                if len(algos) == 1:
                    text = _format_digest(algos[0], found[algos[0]], b64)
                else:
                    text = " ".join(f"{a}:{_format_digest(a, found[a], b64)}" for a in algos)
                lines.append(f"{text}  {base.path(name)}")
            if lines:
                click.echo("\n".join(lines))
    state.finish()


# -- sync ---------------------------------------------------------------------------------------------------
@main.command()
@click.argument("source")
@click.argument("destination")
@click.option("--checksum", is_flag=True, help="Also compare md5 of files whose sizes match (downloads if needed).")
@click.option("--delete", "delete_extra", is_flag=True, help="Delete destination files absent from the source.")
@click.option("-n", "--dry-run", is_flag=True, help="Print what would be copied or deleted, change nothing.")
@_common_transfer_options
def sync(
    source: str, destination: str, checksum: bool, delete_extra: bool, dry_run: bool, progress: bool,
    block_size: int, part_bytes: int, no_sign_request: bool,
) -> None:
    """Make DESTINATION hold what SOURCE holds, copying only files that are missing there or differ.

    Files are compared by stored size (and by md5 with --checksum). The contents of the directory
    SOURCE go into the directory DESTINATION (like 'rsync SOURCE/ DESTINATION'); encodings are kept.
    Prints a summary line.
    """
    state = _state()
    src = locate(source, no_sign_request=no_sign_request)
    dest = locate(destination)
    if src.is_glob or dest.is_glob:
        raise CLIError("sync works on directories or files; globs are not supported")
    if dest.protocol in ("http", "https"):
        raise CLIError(f"{destination}: http(s):// is read-only")

    if is_dir(src):
        src_base, dest_base = src, dest
        if src.contains(dest) or dest.contains(src):
            raise CLIError(f"sync: {source} and {destination} overlap")
        src_entries: Iterable[tuple[str, Any]] = _list_dir(src, size=True)
        dest_sizes = dict(_list_dir(dest, size=True)) if is_dir(dest) else {}
    else:
        if not exists(src):
            raise CLIError(f"{source}: No such file or directory")
        src_base = src.parent
        dest_is_dir = dest.slash or is_dir(dest)
        dest_base = dest if dest_is_dir else dest.parent
        name = src.name if dest_is_dir else dest.name
        if name != src.name:
            raise CLIError("sync: a single file keeps its name; give the destination directory")
        src_entries = [(src.name, src_base.cf().size(src.name))]
        dest_sizes = {name: dest_base.cf().size(name)}
        dest_sizes = {k: v for k, v in dest_sizes.items() if v is not None}

    to_copy: list[str] = []
    same_size: list[str] = []
    seen: set[str] = set()
    suffixed: dict[str, int] = {}
    for name, nbytes in src_entries:
        seen.add(name)
        if name in dest_sizes and nbytes is not None and dest_sizes[name] == nbytes:
            same_size.append(name)
        elif name not in dest_sizes and nbytes is not None and _codec_suffixed(name):
            suffixed[name] = nbytes
        else:
            to_copy.append(name)
    if suffixed:
        # A name like 'x.gz' (listed that way by a web server) is stored as 'x.gz' but listed as 'x'
        # by file:// and mem://, which strip encoding suffixes: ask for it by its own name.
        found = dest_base.cf().size(list(suffixed))
        for name, nbytes in suffixed.items():
            (same_size if found.get(name) == nbytes else to_copy).append(name)
    if checksum and same_size:
        for block in lib.sip(same_size, 1000):
            a = compute_hashes(src_base, block, ["md5"])
            b = compute_hashes(dest_base, block, ["md5"])
            to_copy.extend(n for n in block if a.get(n) is None or a.get(n) != b.get(n))
    extra = sorted(set(dest_sizes) - seen) if delete_extra else []
    unchanged = len(seen) - len(to_copy)

    if dry_run:
        lines = [f"copy {src_base.path(n)} -> {dest_base.path(n)}" for n in to_copy]
        lines += [f"delete {dest_base.path(n)}" for n in extra]
        if lines:
            click.echo("\n".join(lines))
    else:
        opts = TransferOptions(block_size=block_size, part_bytes=part_bytes)
        with _bar(progress, "Syncing", total=len(to_copy)) as bar:
            opts.bar = bar
            if to_copy:
                run_transfer(src_base, dest_base, [(n, n) for n in to_copy], opts)
        if extra:
            _delete(dest_base, extra, block_size, _bar(False, ""))
    summary = f"{len(to_copy)} copied, {unchanged} up to date"
    if delete_extra:
        summary += f", {len(extra)} deleted"
    click.echo(("dry run: " if dry_run else "") + summary)
    state.finish()


def _codec_suffixed(name: str) -> bool:
    from .interfaces.file import strip_suffix

    return strip_suffix(name)[1] is not None


# -- verify -------------------------------------------------------------------------------------------------
@main.command()
@click.argument("source")
@click.argument("target")
@click.option("-m", "--only-matching", is_flag=True, help="Only check files present on both sides.")
@click.option("-v", "--verbose", is_flag=True, help="Show details of failed files.")
@click.option("--md5", is_flag=True, help="Compute md5 where a store has no checksum (downloads those files).")
@click.option("--multipart-threshold", default=None, type=int, help="s3: files above this size have multipart ETags.")
@click.option("--part-size", default=None, type=int, help="s3: part size used to compute multipart ETags.")
def verify(
    source: str, target: str, only_matching: bool, verbose: bool, md5: bool,
    multipart_threshold: int | None, part_size: int | None,
) -> None:
    """Check that TARGET holds the same files as SOURCE: names, sizes and checksums.

    Exits 0 on success, 1 on any difference. Local files carry no checksums: use --md5 with them.
    """
    src = locate(source)
    dst = locate(target)
    src_dir, dst_dir = is_dir(src), is_dir(dst)
    if src_dir != dst_dir:
        raise CLIError("verify: SOURCE and TARGET must both be files or both be directories")
    if src_dir:
        src_base, dst_base = src, dst
        src_names = {n for n, _ in _list_dir(src)}
        dst_names = {n for n, _ in _list_dir(dst)}
    else:
        src_base, dst_base = src.parent, dst.parent
        if not exists(src) or not exists(dst):
            raise CLIError(f"verify: {source if not exists(src) else target}: No such file or directory")
        src_names, dst_names = {src.name}, {dst.name}
        if src.name != dst.name:  # compare one file against another name
            return _verify_pairs(src_base, dst_base, [(src.name, dst.name)], 0, verbose, md5, multipart_threshold, part_size)
    matching = sorted(src_names & dst_names)
    mismatched = (src_names | dst_names) - set(matching)
    if mismatched and not only_matching:
        if verbose:
            click.echo("Extra source files:")
            click.echo("\n".join(sorted(src_names - dst_names)))
            click.echo("Extra target files:")
            click.echo("\n".join(sorted(dst_names - src_names)))
        click.secho(f"failed. {len(src_names)} source files, {len(dst_names)} target files.", fg="red")
        raise click.exceptions.Exit(1)
    _verify_pairs(src_base, dst_base, [(n, n) for n in matching], len(mismatched), verbose, md5,
                  multipart_threshold, part_size)


def _verify_pairs(
    src_base: Loc, dst_base: Loc, pairs: list[tuple[str, str]], ignored: int, verbose: bool, md5: bool,
    multipart_threshold: int | None, part_size: int | None,
) -> None:
    src_meta = src_base.cf().head([a for a, _ in pairs]) if pairs else {}
    dst_meta = dst_base.cf().head([b for _, b in pairs]) if pairs else {}
    failed: list[tuple[str, str, str]] = []
    need_md5: list[tuple[str, str]] = []
    for a, b in pairs:
        sm, tm = src_meta.get(a) or {}, dst_meta.get(b) or {}
        if sm.get("Content-Length") != tm.get("Content-Length"):
            failed.append((a, b, "size"))
            continue
        sh, th = server_hashes(src_base.protocol, sm), server_hashes(dst_base.protocol, tm)
        s_etag, t_etag = sm.get("ETag"), tm.get("ETag")
        if s_etag and t_etag and src_base.protocol == dst_base.protocol and s_etag == t_etag:
            continue
        common = [alg for alg in HASH_ALGORITHMS if alg in sh and alg in th]
        if common:
            if any(sh[alg] != th[alg] for alg in common):
                failed.append((a, b, "checksum"))
            continue
        if md5 and part_size and multipart_threshold is not None and _multipart_match(
            src_base, a, sm, dst_base, b, tm, multipart_threshold, part_size
        ):
            continue
        if md5:
            need_md5.append((a, b))
        else:
            failed.append((a, b, "no checksum (use --md5)"))
    for block in lib.sip(need_md5, 500):
        sdig = compute_hashes(src_base, [a for a, _ in block], ["md5"])
        tdig = compute_hashes(dst_base, [b for _, b in block], ["md5"])
        failed.extend((a, b, "md5") for a, b in block if sdig.get(a) is None or sdig.get(a) != tdig.get(b))
    if not failed:
        click.secho(f"success. {len(pairs)} files matching. {ignored} ignored.", fg="green")
        return
    if verbose:
        click.echo(f"{'src bytes':<13}{'target bytes':<13}{'reason':<26}filename")
        for a, b, reason in sorted(failed):
            size_a = (src_meta.get(a) or {}).get("Content-Length")
            size_b = (dst_meta.get(b) or {}).get("Content-Length")
            click.echo(f"{size_a!s:<13}{size_b!s:<13}{reason:<26}{a if a == b else f'{a} -> {b}'}")
        click.echo("--")
    click.secho(
        f"failed. {len(failed)} failed. {len(pairs) - len(failed)} succeeded. {ignored} ignored.", fg="red"
    )
    raise click.exceptions.Exit(1)


def _multipart_match(
    src_base: Loc, a: str, sm: dict[str, Any], dst_base: Loc, b: str, tm: dict[str, Any],
    threshold: int, part_size: int,
) -> bool:
    """Compare an S3 multipart ETag on one side with one computed from the other side's bytes."""
    for base, name, meta, other in ((dst_base, b, tm, sm), (src_base, a, sm, tm)):
        etag = str(other.get("ETag") or "").strip('"')
        size = meta.get("Content-Length") or 0
        if "-" in etag and size > threshold:
            data = base.cf().get(name, raw=True)
            if data is None:
                return False
            return bool(lib.calc_s3_multipart_etag(data, part_size).strip('"') == etag)
    return False


# -- xfer ---------------------------------------------------------------------------------------------------
@main.group("xfer", cls=_Group)
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
    from .resumable import ResumableTransfer

    src, dest = locate(source), locate(destination)
    if dest.protocol in ("http", "https"):
        raise CLIError(f"{destination}: http(s):// is read-only")
    names: Iterable[str] | None = None
    if text_file:
        names = _read_lines(text_file)
    rt = ResumableTransfer(db)
    try:
        n = rt.init(src.path(), dest.path(), names, _reencode(compression))
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
def xfer_execute(db: str, progress: bool, lease_msec: int, block_size: int) -> None:
    """(2) Copy what is left in the job; deletes the database once every file is done."""
    from .resumable import ResumableTransfer

    if not os.path.exists(db):
        raise CLIError(f"{db}: No such file or directory")
    rt = ResumableTransfer(db, lease_msec)
    try:
        rt.execute(progress=progress, block_size=block_size)
        done = len(rt) == 0
    finally:
        if "done" not in locals() or not done:
            rt.rfs.close()
    if done:
        rt.close()


# -- acl ----------------------------------------------------------------------------------------------------
@main.group("acl", cls=_Group)
def acl() -> None:
    """Access control records (if you may read them)."""


@acl.command("get")
@click.argument("sources", nargs=-1, required=True)
@click.option("--progress", is_flag=True, help="Show a progress bar (on stderr).")
def acl_get(sources: tuple[str, ...], progress: bool) -> None:
    """Print the ACL of each file (local files: the octal mode). Several: 'ACL<TAB>PATH' lines."""
    state = _state()
    locs = [locate(arg) for arg in sources]
    with _bar(progress, "ACLs", total=len(locs)) as bar:
        for loc in locs:
            value = loc.parent.cf().get_acl(loc.name) if loc.key else None
            bar.update(1)
            if value is None and loc.protocol == "file":
                state.warn(f"{loc.arg}: No such file or directory")
                continue
            text = oct(cast(int, value)) if loc.protocol == "file" else (
                value if isinstance(value, str) else json.dumps(value, default=_json_default)
            )
            click.echo(text if len(locs) == 1 else f"{text}\t{loc.path()}")
    state.finish()


# -- alias --------------------------------------------------------------------------------------------------
@main.group("alias", cls=_Group)
def alias() -> None:
    """Name alternate S3 endpoints: 'alias add example s3://https://example.com/' makes
    example://bucket/key mean s3://https://example.com/bucket/key. Saved in $CLOUD_FILES_DIR/aliases.json."""


@alias.command("ls")
def alias_ls() -> None:
    """List aliases (official ones are marked)."""
    paths.update_aliases_from_file()
    if not paths.ALIASES:
        click.echo("No aliases.")
        return
    for name, host in sorted(paths.ALIASES.items()):
        official = " (official)" if name in paths.OFFICIAL_ALIASES else ""
        click.echo(f"{name + '://':15} -> {host}{official}")


@alias.command("add")
@click.argument("name")
@click.argument("host")
def alias_add(name: str, host: str) -> None:
    """Add (or replace) the alias NAME for HOST, e.g. s3://https://example.com/."""
    if name in paths.OFFICIAL_ALIASES:
        raise CLIError(f"alias: {name} is an official alias and cannot be changed")
    paths.add_persistent_alias(name, host)


@alias.command("rm")
@click.argument("name")
def alias_rm(name: str) -> None:
    """Remove the alias NAME."""
    if name in paths.OFFICIAL_ALIASES:
        raise CLIError(f"alias: {name} is an official alias and cannot be removed")
    paths.update_aliases_from_file()
    if name not in paths.ALIASES:
        raise CLIError(f"alias: no alias named {name}")
    paths.remove_persistent_alias(name)


# -- watch --------------------------------------------------------------------------------------------------
@main.group("watch", cls=_Group)
def watch() -> None:
    """Monitor the machine's IO."""


@watch.group("net", cls=_Group)
def watch_net() -> None:
    """Network interfaces: print rates or chart them."""


@watch_net.command("print")
@click.option("--duration", type=float, default=0, show_default=True, help="Seconds to run (0: until Ctrl-C).")
@click.option("--interval", type=float, default=1, show_default=True, help="Seconds between lines.")
@click.option("--one-line", is_flag=True, help="Rewrite one line instead of printing many.")
def watch_net_print(duration: float, interval: float, one_line: bool) -> None:
    """Print receive and transmit rates."""
    from .monitoring import IOSampler

    sampler = IOSampler(buffer_sec=max(interval * 2, 1), interval=interval)
    sampler.start_sampling()
    end = "\r" if one_line else "\n"
    start = time.perf_counter()

    def line() -> str:
        rx, tx = sampler.current_bps()
        elapsed = time.perf_counter() - start
        return (
            f"t={elapsed:1.1f}s | RX: {rx / 8e6:3.2f} MB/sec ({rx / 1e9:1.2f} Gbps) | "
            f"TX: {tx / 8e6:3.2f} MB/sec ({tx / 1e9:1.2f} Gbps)"
        )

    try:
        while True:
            time.sleep(interval)
            click.echo(line(), nl=False)
            click.echo(end, nl=False)
            if 0 < duration <= time.perf_counter() - start:
                break
    except KeyboardInterrupt:
        pass
    finally:
        sampler.stop_sampling()
    if one_line:
        click.echo()


@watch_net.command("histogram")
@click.option("--duration", type=float, default=5, show_default=True, help="Seconds to sample.")
@click.option("--interval", type=float, default=1, show_default=True, help="Seconds between samples.")
@click.option("--filename", default="", help="Save the chart here instead of showing it.")
def watch_net_histogram(duration: float, interval: float, filename: str) -> None:
    """Chart the network rates over DURATION seconds (needs matplotlib)."""
    from .monitoring import IOSampler

    sampler = IOSampler(buffer_sec=max(duration * 2, 1), interval=interval)
    sampler.start_sampling()
    time.sleep(duration + 0.1)
    sampler.stop_sampling()
    sampler.plot_histogram(filename=filename or None)


__all__ = ["CLIError", "Loc", "compute_hashes", "expand_expr", "expand_glob", "locate", "main"]
