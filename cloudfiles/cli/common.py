"""Shared machinery of the command line: errors, path resolution, globs, fan-out, transfers, output."""

from __future__ import annotations

import functools
import itertools
import json
import multiprocessing
import os
import posixpath
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import click

from .. import lib, paths
from ..cloudfiles import CloudFiles
from ..exceptions import CloudFilesError, UnsupportedProtocolError
from ..monitoring import TransmissionMonitor

#: Codecs ``-c/--compression`` accepts (``same`` keeps each file's encoding, ``none`` decompresses).
COMPRESSION_CHOICES = ("same", "none", "gzip", "br", "zstd", "bz2", "xz", "bzip2", "lzma")
#: Files fetched per request batch for stdout/cat/hash work.
READ_BLOCK = 64
#: Lines printed per write by listing commands.
PRINT_BLOCK = 1000

# =========================================================================================================
# Errors
# =========================================================================================================
class CLIError(click.ClickException):
    """A user error: printed as one ``cloudfiles: ...`` line on stderr, exit status 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"cloudfiles: {self.format_message()}", err=True)


def one_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colour codes
    return " ".join(text.split())


def describe_error(err: BaseException) -> str | None:
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
        return one_line(msg)
    if isinstance(err, FileNotFoundError):
        if err.filename:
            return f"{err.filename}: No such file or directory"
        return one_line(str(err)) or "No such file or directory"
    if isinstance(err, NotImplementedError):
        return one_line(str(err)) or "operation not supported by this storage scheme"
    if isinstance(err, PermissionError) and err.filename:
        return f"{err.filename}: Permission denied"
    if isinstance(err, OSError) and err.filename and err.strerror:
        return f"{err.filename}: {err.strerror}"
    import sqlite3

    if isinstance(err, (CloudFilesError, OSError, ValueError, sqlite3.Error)):
        return one_line(str(err)) or type(err).__name__
    # credential discovery errors of the signing libraries (no credentials, bad key file...)
    if type(err).__module__.startswith(("google.auth", "botocore")):
        return f"{type(err).__name__}: {one_line(str(err))}"
    return None


def debug_enabled() -> bool:
    return os.environ.get("CLOUDFILES_DEBUG", "") not in ("", "0", "false", "False")


class CommandGroup(click.Group):
    """A click group that turns user errors raised anywhere below it into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            raise  # click's standalone main quietens a closed stdout (``cloudfiles ls | head``)
        except Exception as err:
            message = None if debug_enabled() else describe_error(err)
            if message is None:
                raise
            raise CLIError(message) from err


@dataclass
class State:
    """Per-invocation state shared by commands (``ctx.obj``)."""

    parallel: int = 1
    failed: bool = False
    command: str = ""
    strict: bool = False

    def warn(self, message: str) -> None:
        """Report a failure of one argument; the command carries on and exits 1 at the end."""
        self.failed = True
        prefix = f"cloudfiles: {self.command}: " if self.command else "cloudfiles: "
        click.echo(prefix + message, err=True)

    def report(self, message: str, compat: str | None = None, *, stop: bool = False) -> None:
        """A condition cloud-files 6.4.3 reported on stdout with exit status 0 (a missing file, a
        directory where a file was expected...).

        By default do what it did: print its line ``compat`` on stdout (None: it printed nothing) and,
        with ``stop``, end the command there, status 0. With ``--strict``: ``message`` on stderr, carry
        on with the other arguments, exit status 1 at the end.
        """
        if self.strict:
            self.warn(message)
            return
        if compat is not None:
            stdout_bytes().flush()
            click.echo(compat)
        if stop:
            raise click.exceptions.Exit(0)

    def finish(self) -> None:
        """Exit 1 if any argument failed."""
        if self.failed:
            raise click.exceptions.Exit(1)


def current_state() -> State:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    state: State = root.obj
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
        """A CloudFiles whose directory is this path (shared per path, so connections are reused)."""
        if kwargs:
            return CloudFiles(self.path(), **{**dict(self.options), **kwargs})
        return _cloudfiles(self.path(), self.options)

    def contains(self, other: Loc) -> bool:
        """Is ``other`` this path or below it (same root)?"""
        if self.root != other.root:
            return False
        return not self.key or other.key == self.key or other.key.startswith(self.key + "/")


@functools.lru_cache(maxsize=256)
def _cloudfiles(cloudpath: str, options: tuple[tuple[str, Any], ...]) -> CloudFiles:
    return CloudFiles(cloudpath, **dict(options))


def locate(arg: str, *, no_sign_request: bool = False, no_auth: bool = False, **options: Any) -> Loc:
    """Parse a command-line path; raises CLIError for anything that is not a supported path."""
    try:
        norm = paths.normalize(arg)
        if no_auth and paths.get_protocol(norm) not in ("s3", None):
            norm = paths.to_https_protocol(norm)
        epath = paths.extract(norm)
    except UnsupportedProtocolError as err:
        raise CLIError(describe_error(err) or f"unsupported path {arg!r}") from None
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
    # checked even for paths ending in '/' (cloud-files answered True for those without looking)
    return bool(loc.parent.cf().isdir(loc.name))


def exists(loc: Loc) -> bool:
    """Is there a file (object) at ``loc``?"""
    if not loc.key:
        return False
    return bool(loc.parent.cf().exists(loc.name))


def named_as_dir(loc: Loc) -> bool:
    """cloud-files 6.4.3's test for "this argument names a directory", which never asks an object
    store: an existing local directory, a path ending in '/', or a bucket (host) root."""
    if loc.protocol == "file":
        return loc.slash or not loc.key or os.path.isdir(local_path(loc))
    return loc.slash or not loc.key


def listing_order(loc: Loc, entries: Iterable[Any]) -> Iterable[Any]:
    """Entries (names or ``(name, size)``) of a listing of ``loc`` in the order cloud-files printed
    them: file:// and mem:// sorted by name (it sorted those), object stores in their own key order."""
    if loc.protocol in ("file", "mem"):
        return sorted(entries)
    return entries


def bucket_relative(loc: Loc) -> str:
    """The path cloud-files 6.4.3 named in ``cat``'s "does not exist" line: the key within the bucket,
    and for local files the absolute path without its first component (``/tmp/a/b`` -> ``a/b``)."""
    if loc.protocol == "file":
        return loc.key.partition("/")[2]
    return loc.key


def glob_regex(pattern: str) -> re.Pattern[str]:
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
    regex = glob_regex(pattern)
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
            # 'dir/' is listed for 'di*' but not for 'd*r' (cloud-files matched 'dir/' against the
            # text after the last '*')
            if dirs and pattern.endswith("*") and regex.match(name[:-1]):
                yield name, None
            continue
        if regex.match(name):
            yield name, nbytes


def list_dir(loc: Loc, *, size: bool = False, flat: bool = False) -> Iterator[tuple[str, Any]]:
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
def progress_bar(enabled: bool, desc: str, total: int | None = None, unit: str = " files") -> Any:
    from tqdm import tqdm

    return tqdm(desc=desc, total=total, unit=unit, disable=not enabled, file=sys.stderr)


def processes_for(*locs: Loc) -> int:
    """Processes to use: the ``-p`` value, but 1 when a mem:// store is involved (it is per process)."""
    if any(loc.protocol == "mem" for loc in locs):
        return 1
    return max(1, current_state().parallel)


def fan_out(
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


def transfer_job(job: dict[str, Any], block: list[Any]) -> int:
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


def delete_job(job: dict[str, Any], block: list[str]) -> int:
    cf = CloudFiles(job["base"], consistent_shapes=True, **job["options"])  # count files, not requests
    return int(cf.delete(block, progress=False, parallel=1) or 0)


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
    src: Loc, dest: Loc, pairs: Iterable[tuple[str, str] | tuple[str, str, int | None]], opts: TransferOptions,
    *, move: bool = False,
) -> None:
    """Copy (or move) ``pairs`` of ``(src name, dest name[, stored size])`` from directory ``src`` to
    directory ``dest``."""
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
    parallel = processes_for(src, dest)
    if isinstance(pairs, (list, tuple)) and len(pairs) <= job["block_size"]:
        parallel = 1  # one block: starting worker processes would only add latency
    if parallel > 1:
        fan_out(transfer_job, job, pairs, parallel=parallel, block_size=job["block_size"], bar=opts.bar)
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


def ordered_get(cf: CloudFiles, names: Sequence[Any], *, raw: bool = False) -> list[dict[str, Any]]:
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


def stdout_bytes() -> Any:
    """The binary stdout (under click's test runner too)."""
    return getattr(sys.stdout, "buffer", sys.stdout)


def in_order_groups(locs: Sequence[Loc]) -> Iterator[tuple[Loc, list[str]]]:
    """Consecutive runs of locations sharing a directory (keeps the input order of output)."""
    for _key, run in itertools.groupby(locs, key=lambda loc: (loc.parent.path(), loc.options)):
        members = list(run)
        yield members[0].parent, [m.name for m in members]


def write_files_to_stdout(base: Loc, names: Iterable[str], state: State) -> None:
    """Write the (decoded) bytes of each file to stdout, in order; missing files are reported."""
    out = stdout_bytes()
    cf = base.cf()
    for block in lib.sip(names, READ_BLOCK):
        for name, res in zip(block, ordered_get(cf, block), strict=True):
            if res["content"] is None:
                missing = base.child(name)
                local_dir = missing.protocol == "file" and os.path.isdir(local_path(missing))
                state.warn(f"{base.path(name)}: {'is a directory' if local_dir else 'No such file or directory'}")
                continue
            out.write(res["content"])
    out.flush()


def reencode_option(compression: str) -> Any:
    """``-c`` value -> ``reencode`` argument (None keeps, False decompresses, else a codec name)."""
    value = compression.lower()
    if value == "same":
        return None
    if value == "none":
        return False
    return value


def timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d_%H-%M-%S.%f")[:-5] + "Z"


def human_size(nbytes: float) -> str:
    """``du -h`` sizes: bytes below 1 KiB, then KiB ... EiB with two decimals."""
    if nbytes < 1024:
        return f"{int(nbytes)} bytes"
    value = float(nbytes)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        value /= 1024
        if value < 1024 or unit == "EiB":
            return f"{value:.2f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def json_default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, bytes):
        return obj.decode("utf8", "replace")
    return str(obj)


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=json_default, sort_keys=False)


