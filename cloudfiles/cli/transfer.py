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
    local_path,
    locate,
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


class _Planner:
    """Works out source and destination names for cp and mv (gsutil-style directory naming)."""

    def __init__(self, state: State, dest: Loc, nsources: int, recursive: bool, verb: str) -> None:
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
            # Sizes from the listing let the copy tell small objects from ones to stream, without HEADs.
            pairs = ((n, n, size) for n, size in expand_glob(src, recursive=self.recursive, size=True))
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
            pairs = ((n, n, size) for n, size in list_dir(src, size=True))
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
    planner = _Planner(state, dest, len(sources) + ("-" in sources), recursive, "cp")
    with progress_bar(progress, "Copying") as bar:
        opts.bar = bar
        for arg in sources:
            if arg == "-":
                plans = _stdin_plans(dest, state, no_sign_request=no_sign_request)
            else:
                plan = planner.plan(locate(arg, no_sign_request=no_sign_request))
                plans = [plan] if plan is not None else []
            for plan in plans:
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
            write_files_to_stdout(loc.parent, (n for n, _ in expand_glob(loc, recursive=recursive)), state)
        elif is_dir(loc):
            if not recursive:
                state.warn(f"{arg}: is a directory (not copied; use -r)")
                continue
            write_files_to_stdout(loc, (n for n, _ in list_dir(loc)), state)
        else:
            write_files_to_stdout(loc.parent, [loc.name], state)


@click.command()
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
    state = current_state()
    dest = locate(destination)
    if dest.is_glob or destination == "-":
        raise CLIError(f"{destination}: not a valid destination for mv")
    opts = TransferOptions(block_size=block_size, part_bytes=part_bytes)
    planner = _Planner(state, dest, len(sources) + ("-" in sources), True, "mv")
    with progress_bar(progress, "Moving") as bar:
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
@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Remove directories and everything in them.")
@click.option("--progress", is_flag=True, help="Show a progress bar (on stderr).")
@click.option("-b", "--block-size", default=128, show_default=True, help="Deletions per process block (-p).")
def rm(paths: tuple[str, ...], recursive: bool, progress: bool, block_size: int) -> None:
    """Remove files; directories only with -r. '-' reads paths from stdin.

    'rm -r a/test' removes a/test and everything under a/test/, never a/test2.
    """
    state = current_state()
    # (path, from stdin): stdin lists name files and are deleted without a lookup each
    args = [(p, False) for p in paths if p != "-"]
    if "-" in paths:
        args += [(p, True) for p in read_stdin_paths()]

    singles: list[Loc] = []
    trees: list[Loc] = []
    globs: list[Loc] = []
    for arg, from_stdin in args:
        loc = locate(arg)
        if loc.protocol in ("http", "https"):
            raise CLIError(f"{arg}: http(s):// is read-only")
        if loc.is_glob:
            globs.append(loc)
        elif from_stdin and loc.key:
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

    with progress_bar(progress, "Deleting") as bar:
        for parent, names in group_by_dir(singles).values():
            _delete(parent, names, block_size, bar)
        for loc in globs:
            _delete(loc.parent, (n for n, _ in expand_glob(loc, recursive=recursive)), block_size, bar)
        for loc in trees:
            _delete(loc, (n for n, _ in list_dir(loc)), block_size, bar)
            if loc.protocol == "file":
                _remove_empty_dirs(local_path(loc))
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
    with progress_bar(progress, "Touching", total=len(locs)) as bar:
        for parent, names in group_by_dir(locs).values():
            parent.cf().touch(names, progress=False)
            bar.update(len(names))


# -- mkdir ------------------------------------------------------------------------------------------------
@click.command("mkdir")
@click.argument("paths", nargs=-1, required=True)
def mkdir_(paths: tuple[str, ...]) -> None:
    """Create local directories (with parents). Object stores have no directories: a no-op there."""
    for arg in paths:
        loc = locate(arg)
        if loc.protocol == "file":
            os.makedirs(local_path(loc), exist_ok=True)


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


