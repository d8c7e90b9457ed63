"""Commands that write: cp, mv, rm, touch, mkdir, sync."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from .. import lib
from ..monitoring import TransmissionMonitor
from .checksums import compute_hashes
from .common import (
    COMPRESSION_CHOICES,
    CLIError,
    Loc,
    State,
    TransferOptions,
    current_state,
    delete_job,
    exists,
    expand_glob,
    fan_out,
    group_by_common_dir,
    group_by_dir,
    in_order_groups,
    is_dir,
    list_dir,
    listing_order,
    local_path,
    locate,
    named_as_dir,
    processes_for,
    progress_bar,
    read_stdin_paths,
    reencode_option,
    run_transfer,
    timestamp,
    write_files_to_stdout,
)


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
    pairs: Iterable[tuple[str, str] | tuple[str, str, int | None]]
    whole_dir: bool = False  # src is a directory copied as a whole (mv may rename it)
    listed: bool = False  # pairs come from a listing (a directory or a glob): dest is a directory


class _Planner:
    """Works out source and destination names for cp and mv (gsutil-style directory naming)."""

    def __init__(self, state: State, dest: Loc, recursive: bool, verb: str) -> None:
        self.state = state
        self.dest = dest
        self.recursive = recursive
        self.verb = verb
        self._dest_is_dir: bool | None = None

    @property
    def dest_is_dir(self) -> bool:
        if self._dest_is_dir is None:
            self._dest_is_dir = self.dest.slash or is_dir(self.dest)
        return self._dest_is_dir

    def dest_not_a_dir(self, *, crashed: bool = False) -> bool:
        """Several files cannot go to an existing local file (reported as cloud-files did; ``crashed``:
        where it failed with a traceback instead, an error in any mode)."""
        if self.dest.protocol == "file" and not self.dest_is_dir and os.path.lexists(local_path(self.dest)):
            if crashed:
                self.state.warn(f"{self.dest.arg}: Not a directory")
                return True
            self.state.report(
                f"{self.dest.arg}: Not a directory",
                f"cloudfiles: {self.dest.path()} is not a directory (not copied).",
            )
            return True
        return False

    def plan(self, src: Loc) -> _Plan | None:
        if src.is_glob:
            if self.dest_not_a_dir():
                return None
            # Sizes from the listing let the copy tell small objects from ones to stream, without HEADs.
            pairs = ((n, n, size) for n, size in expand_glob(src, recursive=self.recursive, size=True))
            return _Plan(src.parent, self.dest, pairs, listed=True)
        if is_dir(src):
            if not self.recursive and self.verb == "cp":
                self.state.report(
                    f"{src.arg}: is a directory (not copied; use -r)",
                    f"cloudfiles: {src.arg} is a directory (not copied).",
                )
                return None
            dest_is_dir = self.dest_is_dir
            if self.verb == "mv" and src.protocol == "file" and self.dest.protocol == "file":
                # a local directory move is shutil.move, as in cloud-files: into DEST if it is a
                # directory, else renamed to DEST (a trailing '/' on a new name changes nothing)
                dest_is_dir = os.path.isdir(local_path(self.dest))
            if dest_is_dir and src.name:
                target = self.dest.child(src.name)
            elif self.dest_not_a_dir(crashed=self.verb == "mv" and src.protocol == "file"):  # a rename
                return None
            else:
                target = self.dest
            if src.contains(target):
                self.state.warn(f"cannot {self.verb} {src.arg} into itself ({self.dest.arg})")
                return None
            pairs = ((n, n, size) for n, size in list_dir(src, size=True))
            return _Plan(src, target, pairs, whole_dir=True, listed=True)
        if not exists(src):
            self.state.report(
                f"{src.arg}: No such file or directory",
                f"cloudfiles: source path not found: {src.path().replace('file://', '', 1)}",
            )
            return None
        if self.dest_is_dir:
            return _Plan(src.parent, self.dest, [(src.name, src.name)])
        return _Plan(src.parent, self.dest.parent, [(src.name, self.dest.name)])


def _several_need_a_directory(state: State, sources: Sequence[str], dest: Loc) -> bool:
    """cp/mv with several sources need a destination directory; cloud-files refused anything else
    (before copying anything) unless it ended in '/', was a local directory or a bucket. A prefix
    holding objects counts as a directory here too."""
    if len(sources) < 2 or named_as_dir(dest) or (dest.protocol != "file" and is_dir(dest)):
        return False
    state.report(
        f"{dest.arg}: Not a directory (several sources need a destination directory)",
        "cloudfiles: destination must be a directory for multiple source files.", stop=True,
    )
    return True


def _stdin_plans(dest: Loc, state: State, **options: Any) -> list[_Plan]:
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
    ts = timestamp()
    if io_rate:
        filename = f"./cloudfiles-cp-est-io-{ts}.png"
        tm.plot_histogram(filename=filename)
        click.echo(f"Saved chart: {filename}", err=True)
    if flight_time:
        filename = f"./cloudfiles-cp-flight-time-{ts}.png"
        tm.plot_gantt(filename=filename)
        click.echo(f"Saved chart: {filename}", err=True)


@click.command()
@click.argument("sources", nargs=-1)
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
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Run the copy on a dask.distributed cluster (scheduler address); needs cloudfiles[dask].")
def cp(
    sources: tuple[str, ...], destination: str, recursive: bool, compression: str, progress: bool,
    block_size: int, part_bytes: int, no_sign_request: bool, resumable: bool, flight_time: bool,
    io_rate: bool, machine_io_rate: bool, machine_io_rate_buffer_sec: int, dask_address: str | None,
) -> None:
    """Copy SOURCES to DESTINATION.

    A source may be a file, a directory (with -r), a glob, or '-' to read paths from stdin.
    DESTINATION '-' writes the files' bytes to stdout. Copying a directory into an existing
    directory (or a path ending in '/') creates DESTINATION/<name>; otherwise DESTINATION becomes
    the copy. With several sources DESTINATION is a directory.
    """
    state = current_state()
    to_stdout = destination == "-"
    sampler = None
    if machine_io_rate:
        from ..monitoring import IOSampler

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
        reencode=reencode_option(compression), block_size=block_size, part_bytes=part_bytes, resumable=resumable,
    )
    if _several_need_a_directory(state, sources, dest):
        state.finish()
        return
    planner = _Planner(state, dest, recursive, "cp")
    with progress_bar(progress, "Copying") as bar:
        opts.bar = bar
        for arg in sources:
            if arg == "-":
                plans = [] if planner.dest_not_a_dir() else _stdin_plans(dest, state, no_sign_request=no_sign_request)
            else:
                plan = planner.plan(locate(arg, no_sign_request=no_sign_request))
                plans = [plan] if plan is not None else []
            for plan in plans:
                if plan.listed and plan.dest.protocol == "file":
                    # a directory (or glob) copy creates its destination directory even when empty
                    os.makedirs(local_path(plan.dest), exist_ok=True)
                if dask_address:
                    _dask_transfer(plan, opts, dask_address, state)
                else:
                    run_transfer(plan.src, plan.dest, plan.pairs, opts)

    if sampler is not None:
        sampler.stop_sampling()
        filename = f"./cloudfiles-cp-measured-io-{timestamp()}.png"
        sampler.plot_histogram(resolution=1.0, filename=filename)
        click.echo(f"Saved chart: {filename}", err=True)
    _charts(opts.recordings, flight_time, io_rate)
    state.finish()


def _dask_transfer(plan: _Plan, opts: TransferOptions, address: str, state: State) -> None:
    """``cp --dask``: the plan's keys sharded over a cluster; failed keys are reported, not fatal."""
    from ..distributed import transfer

    pairs = [(pair[0], pair[1]) for pair in plan.pairs]  # listing sizes are not shipped to the workers
    report = transfer(
        plan.src.path(), plan.dest.path(), pairs, address=address, src_options=dict(plan.src.options),
        dest_options={**dict(plan.dest.options), "composite_upload_threshold": int(opts.part_bytes)},
        reencode=opts.reencode, block_size=max(1, int(opts.block_size)), progress=opts.bar,
    )
    for key, error in sorted(report.errors.items()):
        state.warn(f"{plan.src.path(key)}: {error}")


def _cp_to_stdout(sources: Sequence[str], recursive: bool, state: State, no_sign_request: bool) -> None:
    for arg in sources:
        if arg == "-":
            locs = [locate(line, no_sign_request=no_sign_request) for line in read_stdin_paths()]
            for parent, names in in_order_groups(locs):
                write_files_to_stdout(parent, names, state)
            continue
        loc = locate(arg, no_sign_request=no_sign_request)
        if loc.is_glob:
            matches = listing_order(loc.parent, expand_glob(loc, recursive=recursive))
            write_files_to_stdout(loc.parent, (n for n, _ in matches), state)
        elif is_dir(loc):
            if not recursive:
                state.report(
                    f"{arg}: is a directory (not copied; use -r)", f"cloudfiles: {arg} is a directory (not copied).",
                )
                continue
            write_files_to_stdout(loc, (n for n, _ in listing_order(loc, list_dir(loc))), state)
        elif not exists(loc):
            state.report(
                f"{arg}: No such file or directory",
                f"cloudfiles: source path not found: {loc.path().replace('file://', '', 1)}",
            )
        else:
            write_files_to_stdout(loc.parent, [loc.name], state)


@click.command()
@click.argument("sources", nargs=-1)
@click.argument("destination")
@_common_transfer_options
def mv(
    sources: tuple[str, ...], destination: str, progress: bool, block_size: int, part_bytes: int,
    no_sign_request: bool,
) -> None:
    """Move SOURCES to DESTINATION (directories move whole; same naming rules as cp).

    Local directory moves are renames. Elsewhere each file is copied, then deleted.
    """
    state = current_state()
    dest = locate(destination)
    if dest.is_glob or destination == "-":
        raise CLIError(f"{destination}: not a valid destination for mv")
    opts = TransferOptions(block_size=block_size, part_bytes=part_bytes)
    if _several_need_a_directory(state, sources, dest):
        state.finish()
        return
    planner = _Planner(state, dest, True, "mv")
    with progress_bar(progress, "Moving") as bar:
        opts.bar = bar
        for arg in sources:
            emptied: list[str] = []  # local directories a glob matched: they go once emptied
            if arg == "-":
                plans = [] if planner.dest_not_a_dir() else _stdin_plans(dest, state, no_sign_request=no_sign_request)
            else:
                src = locate(arg, no_sign_request=no_sign_request)
                if src.is_glob and src.protocol == "file":
                    emptied = [
                        local_path(src.parent.child(n)) for n, _ in expand_glob(src, recursive=False, dirs=True)
                        if n.endswith("/")
                    ]
                plan = planner.plan(src)
                plans = [plan] if plan is not None else []
            for plan in plans:
                local = plan.src.protocol == "file" and plan.dest.protocol == "file"
                if plan.whole_dir and local and _rename_local_dir(plan.src, plan.dest):
                    continue
                run_transfer(plan.src, plan.dest, plan.pairs, opts, move=True)
                if plan.whole_dir and local:
                    _remove_empty_dirs(local_path(plan.src))  # merged into an existing directory
            for top in emptied:
                _remove_empty_dirs(top)
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
@click.command()
@click.argument("paths", nargs=-1)
@click.option("-r", "--recursive", is_flag=True, help="Remove directories and everything in them.")
@click.option("--progress", is_flag=True, help="Show a progress bar (on stderr).")
@click.option("-b", "--block-size", default=128, show_default=True, help="Deletions per process block (-p).")
def rm(paths: tuple[str, ...], recursive: bool, progress: bool, block_size: int) -> None:
    """Remove files; directories only with -r. '-' reads paths from stdin.

    'rm -r a/test' removes the files under a/test/ (never a/test2; local directories stay, emptied,
    as with cloud-files). A directory without -r prints 'cloudfiles: PATH: is a directory.' and
    nothing is removed; missing files are passed over silently (--strict: both are errors on
    stderr, exit status 1, and the other paths are still removed).
    """
    state = current_state()
    # (path, from stdin): stdin lists name files and are not looked up one by one in --strict mode.
    # '-' reads stdin only as the sole argument (elsewhere it is a file named '-', as in cloud-files).
    args = [(p, True) for p in read_stdin_paths()] if paths == ("-",) else [(p, False) for p in paths]

    singles: list[Loc] = []
    trees: list[Loc] = []
    globs: list[Loc] = []
    for arg, from_stdin in args:
        loc = locate(arg)
        if loc.protocol in ("http", "https"):
            raise CLIError(f"{arg}: http(s):// is read-only")
        if loc.is_glob:
            globs.append(loc)
        elif recursive and is_dir(loc):
            trees.append(loc)
            if loc.protocol != "file" and loc.key and not loc.slash and exists(loc):
                singles.append(loc)  # an object store may hold both a/test and a/test/...
        elif named_as_dir(loc) or (state.strict and not from_stdin and loc.protocol != "file" and is_dir(loc)):
            if recursive:
                if state.strict:
                    state.warn(f"{arg}: No such file or directory")
                continue  # 'dir/' with nothing under it
            state.report(f"{arg}: is a directory (use -r)", f"cloudfiles: {arg}: is a directory.", stop=True)
        elif state.strict and not from_stdin and not exists(loc):
            state.warn(f"{arg}: No such file or directory")
        else:
            singles.append(loc)

    with progress_bar(progress, "Deleting") as bar:
        for parent, names in group_by_dir(singles).values():
            _delete(parent, names, block_size, bar)
        for loc in globs:
            _delete(loc.parent, (n for n, _ in expand_glob(loc, recursive=recursive)), block_size, bar)
        for loc in trees:
            _delete(loc, (n for n, _ in list_dir(loc)), block_size, bar)
    state.finish()


def _delete(base: Loc, names: Iterable[str], block_size: int, bar: Any) -> None:
    parallel = processes_for(base)
    if parallel > 1:
        job = {"base": base.path(), "options": dict(base.options)}
        fan_out(delete_job, job, names, parallel=parallel, block_size=max(1, block_size), bar=bar)
        return
    cf = base.cf()
    for block in lib.sip(names, max(1, block_size)):
        cf.delete(block, progress=False, parallel=1)
        bar.update(len(block))


# -- touch --------------------------------------------------------------------------------------------------
@click.command()
@click.argument("sources", nargs=-1)
@click.option("--progress", is_flag=True, help="Show a progress bar (on stderr).")
@click.option("--no-sign-request", is_flag=True, help="Unsigned s3 requests.")
def touch(sources: tuple[str, ...], progress: bool, no_sign_request: bool) -> None:
    """Create empty files where missing (local files and directories also get a fresh modification time)."""
    locs = []
    for arg in sources:
        loc = locate(arg, no_sign_request=no_sign_request)
        if loc.protocol in ("http", "https"):
            raise CLIError(f"{loc.arg}: http(s):// is read-only")
        if loc.protocol == "file" and os.path.isdir(local_path(loc)):
            os.utime(local_path(loc))
            continue
        if not loc.key or loc.slash:
            raise CLIError(f"{loc.arg}: not a file path")
        locs.append(loc)
    with progress_bar(progress, "Touching", total=len(sources)) as bar:
        bar.update(len(sources) - len(locs))
        for parent, names in group_by_dir(locs).values():
            parent.cf().touch(names, progress=False)
            bar.update(len(names))


# -- mkdir ------------------------------------------------------------------------------------------------
@click.command("mkdir")
@click.argument("paths", nargs=-1)
def mkdir_(paths: tuple[str, ...]) -> None:
    """Create local directories (with parents). Object stores have no directories: a no-op there.

    A path that exists already is left alone (--strict: an existing file is an error).
    """
    state = current_state()
    for arg in paths:
        loc = locate(arg)
        if loc.protocol != "file":
            continue
        target = local_path(loc)
        if os.path.lexists(target) and not os.path.isdir(target):
            state.report(f"{arg}: File exists (not a directory)")
            continue
        os.makedirs(target, exist_ok=True)
    state.finish()


# -- sync ---------------------------------------------------------------------------------------------------
@click.command()
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
    state = current_state()
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
        src_entries: Iterable[tuple[str, Any]] = list_dir(src, size=True)
        dest_sizes = dict(list_dir(dest, size=True)) if is_dir(dest) else {}
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
    seen: set[str] = set()  # destination names that the source accounts for
    suffixed: dict[str, int] = {}
    nsource = 0
    for name, nbytes in src_entries:
        nsource += 1
        seen.add(name)
        if name in dest_sizes and nbytes is not None and dest_sizes[name] == nbytes:
            same_size.append(name)
        elif name not in dest_sizes and nbytes is not None and _codec_suffixed(name):
            suffixed[name] = nbytes
        else:
            to_copy.append(name)
    if suffixed:
        # A name like 'x.gz' (listed that way by a web server) is stored as 'x.gz' but listed as 'x'
        # by file:// and mem://, which strip encoding suffixes: ask for it by its own name, and never
        # count its listed name 'x' as an extra file (--delete would remove it).
        found = dest_base.cf().size(list(suffixed))
        for name, nbytes in suffixed.items():
            if found.get(name) is not None:
                seen.add(_strip_codec_suffix(name))
            (same_size if found.get(name) == nbytes else to_copy).append(name)
    if checksum and same_size:
        for block in lib.sip(same_size, 1000):
            a = compute_hashes(src_base, block, ["md5"])
            b = compute_hashes(dest_base, block, ["md5"])
            to_copy.extend(n for n in block if a.get(n) is None or a.get(n) != b.get(n))
    extra = sorted(set(dest_sizes) - seen) if delete_extra else []
    unchanged = nsource - len(to_copy)

    if dry_run:
        lines = [f"copy {src_base.path(n)} -> {dest_base.path(n)}" for n in to_copy]
        lines += [f"delete {dest_base.path(n)}" for n in extra]
        if lines:
            click.echo("\n".join(lines))
    else:
        opts = TransferOptions(block_size=block_size, part_bytes=part_bytes)
        with progress_bar(progress, "Syncing", total=len(to_copy)) as bar:
            opts.bar = bar
            if to_copy:
                run_transfer(src_base, dest_base, [(n, n) for n in to_copy], opts)
        if extra:
            _delete(dest_base, extra, block_size, progress_bar(False, ""))
    summary = f"{len(to_copy)} copied, {unchanged} up to date"
    if delete_extra:
        summary += f", {len(extra)} deleted"
    click.echo(("dry run: " if dry_run else "") + summary)
    state.finish()


def _codec_suffixed(name: str) -> bool:
    from ..interfaces.file import strip_suffix

    return strip_suffix(name)[1] is not None


def _strip_codec_suffix(name: str) -> str:
    from ..interfaces.file import strip_suffix

    return strip_suffix(name)[0]


