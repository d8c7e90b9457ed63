"""Commands that read and describe: ls, cat, head, du."""

from __future__ import annotations

import itertools
import os
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import click

from .. import lib
from .common import (
    PRINT_BLOCK,
    CLIError,
    Loc,
    current_state,
    dumps,
    exists,
    expand_glob,
    human_size,
    in_order_groups,
    is_dir,
    list_dir,
    locate,
    progress_bar,
    read_stdin_paths,
    stdout_bytes,
    write_files_to_stdout,
)

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


@click.command()
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
    state = current_state()
    loc = locate(cloudpath, no_auth=no_auth)

    if sqlite_db:
        _ls_sqlite(loc, sqlite_db, flat=flat, progress=progress)
        return

    def show(base: Loc, names: Iterable[str]) -> Iterator[str]:
        if shortpath:
            return iter(names)
        return (base.path(name) + ("/" if name.endswith("/") else "") for name in names)

    with progress_bar(progress, "Listing") as bar:
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
        if loc.protocol == "file" or not loc.key:
            if is_dir(loc):
                _print_lines(show(loc, (name for name, _ in list_dir(loc, flat=flat))), bar)
                return
        else:
            # object stores: the listing itself tells whether this is a directory (one request)
            entries = list_dir(loc, flat=flat)
            first = next(entries, None)
            if first is not None:
                _print_lines(show(loc, (name for name, _ in itertools.chain([first], entries))), bar)
                return
        if exists(loc):
            click.echo(loc.name if shortpath else loc.path())
            return
    state.warn(f"{cloudpath}: No such file or directory")
    state.finish()


def _ls_sqlite(loc: Loc, db: str, *, flat: bool, progress: bool) -> None:
    from ..resumable import ResumableListing

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


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-r", "--range", "byte_range", default=None, metavar="START-END",
              help="Print bytes START to END (END exclusive, either may be empty) of a single source.")
@click.option("--no-sign-request", is_flag=True, help="Unsigned s3 requests.")
def cat(sources: tuple[str, ...], byte_range: str | None, no_sign_request: bool) -> None:
    """Write the contents of each source to stdout, in order, as raw bytes.

    '-' (alone) reads the list of paths from stdin. Globs are expanded.
    """
    state = current_state()
    args = read_stdin_paths() if sources == ("-",) else list(sources)
    if byte_range is not None:
        if len(args) != 1:
            raise CLIError("cat: --range works with a single source")
        _cat_range(locate(args[0], no_sign_request=no_sign_request), *_parse_range(byte_range))
        return
    locs = [locate(arg, no_sign_request=no_sign_request) for arg in args]
    pending: list[Loc] = []

    def flush() -> None:
        for parent, names in in_order_groups(pending):
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
    out = stdout_bytes()
    out.write(content)
    out.flush()


# -- head ---------------------------------------------------------------------------------------------------
@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--no-sign-request", is_flag=True, help="Unsigned s3 requests.")
def head(paths: tuple[str, ...], no_sign_request: bool) -> None:
    """Print the metadata of files as JSON (one object, or {path: metadata} for several)."""
    state = current_state()
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
            click.echo(dumps(next(iter(results.values()))))
    elif results or not state.failed:
        click.echo(dumps(results))
    state.finish()


# -- du -----------------------------------------------------------------------------------------------------
@click.command()
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
    state = current_state()
    disp: Callable[[int], Any] = human_size if human_readable else (lambda n: n)
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
            entries = list_dir(loc, size=True)
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


