"""Commands that read and describe: ls, cat, head, du."""

from __future__ import annotations

import itertools
import os
import pprint
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import click

from .. import lib, paths
from .common import (
    PRINT_BLOCK,
    CLIError,
    Loc,
    State,
    bucket_relative,
    current_state,
    dumps,
    expand_glob,
    human_size,
    is_dir,
    list_dir,
    listing_order,
    local_path,
    locate,
    named_as_dir,
    ordered_get,
    progress_bar,
    read_stdin_paths,
    stdout_bytes,
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


_SIMPLE_GLOB = re.compile(r"([^*]*)(\*\*?)([\w.\-]*)")


@click.command()
@click.argument("cloudpath")
@click.option("--shortpath", is_flag=True, help="Print names relative to the directory holding the listed prefix.")
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
    """List the files whose paths start with CLOUDPATH (recursively unless --flat).

    As in cloud-files, the last component is a prefix: 'ls gs://b/img' lists img/..., img2/... and
    img.txt; 'ls gs://b/img/' lists the directory img only. (Local paths lose a trailing '/'.) On
    file://, 'ls --flat DIR' lists inside DIR. A trailing glob selects: 'dir/*' (one level), 'dir/**'
    (all levels), 'dir/*.json', 'dir/x**.gz'. Full paths are printed unless --shortpath.
    """
    state = current_state()
    loc = locate(cloudpath, no_auth=no_auth)
    base, prefix, suffix = loc, "", ""
    glob = False
    if loc.is_glob:
        simple = _SIMPLE_GLOB.fullmatch(loc.name)
        if simple is None:
            # '*' inside the name (an extension: cloud-files took such names literally)
            matches = listing_order(loc.parent, (n for n, _ in expand_glob(loc, recursive=False, dirs=True)))
            with progress_bar(progress, "Listing") as bar:
                if not _print_lines(_shown(loc.parent, matches, shortpath), bar) and state.strict:
                    state.warn(f"{cloudpath}: No such file or directory")
            state.finish()
            return
        # PREFIX*SUFFIX, PREFIX**SUFFIX: a prefix listing (one level for '*') filtered by the suffix
        base, glob = loc.parent, True
        prefix, suffix = simple.group(1), simple.group(3)
        flat = flat or simple.group(2) == "*"
    elif loc.key and not _names_a_directory(cloudpath, no_auth):
        base, prefix = loc.parent, loc.name

    if sqlite_db:
        _ls_sqlite(base, prefix, sqlite_db, flat=flat, progress=progress)
        return

    prefixes = [prefix]
    if expr:
        prefixes = expand_expr(prefix) if _EXPR_RE.search(prefix) else [""]
    names: Iterable[str] = itertools.chain.from_iterable(_ls_names(base, p, flat, glob) for p in prefixes)
    if suffix:
        names = (n for n in names if n.endswith(suffix))
    with progress_bar(progress, "Listing") as bar:
        printed = _print_lines(_shown(base, names, shortpath), bar)
    if not printed and state.strict and not (loc.key and not loc.is_glob and is_dir(loc)):
        state.warn(f"{cloudpath}: No such file or directory")
    state.finish()


def _names_a_directory(arg: str, no_auth: bool) -> bool:
    """Does the argument, as cloud-files normalized it, end in '/' (local paths never do)?"""
    norm = paths.normalize(arg)
    if no_auth and paths.get_protocol(norm) not in ("s3", None):
        norm = paths.to_https_protocol(norm)
    return bool(norm.endswith("/"))


def _ls_names(base: Loc, prefix: str, flat: bool, glob: bool) -> Iterable[str]:
    """Names (relative to ``base``) starting with ``prefix``, in cloud-files' order."""
    if flat and prefix and base.protocol == "file":
        inner = base.child(prefix)
        if not glob and "/" not in prefix and os.path.isdir(local_path(inner)):
            # cloud-files' file:// flat listing of a prefix naming a directory lists inside it
            return (f"{prefix}/{n}" for n in listing_order(inner, inner.cf().list(flat=True)))
        return (n for n in listing_order(base, base.cf().list(flat=True)) if n.startswith(prefix))
    return listing_order(base, base.cf().list(prefix=prefix, flat=flat))


def _shown(base: Loc, names: Iterable[str], shortpath: bool) -> Iterable[str]:
    if shortpath:
        return names
    return (base.path(name) + ("/" if name.endswith("/") else "") for name in names)


def _ls_sqlite(base: Loc, prefix: str, db: str, *, flat: bool, progress: bool) -> None:
    from ..resumable import ResumableListing

    listing = ResumableListing(db)
    try:
        n = listing.run(base.path(), prefix=prefix, flat=flat, progress=progress, **dict(base.options))
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


#: Files fetched (and, by default, checked for existence) together by ``cat``, as cloud-files did.
CAT_BLOCK = 10


@click.command()
@click.argument("sources", nargs=-1)
@click.option("-r", "--range", "byte_range", default=None, metavar="START-END",
              help="Print bytes START to END (END exclusive, either may be empty) of a single source.")
@click.option("--no-sign-request", is_flag=True, help="Unsigned s3 requests.")
def cat(sources: tuple[str, ...], byte_range: str | None, no_sign_request: bool) -> None:
    """Write the contents of each source to stdout, in order, as raw bytes.

    '-' (alone) reads the list of paths from stdin. Globs are expanded. As in cloud-files, sources
    are read ten at a time, and a missing file prints 'cloudfiles: PATH does not exist' on stdout
    and ends the command (status 0) before anything of its group of ten is written; --strict reports
    it on stderr instead, prints the other files, and exits 1.
    """
    state = current_state()
    args = read_stdin_paths() if sources == ("-",) else list(sources)
    if byte_range is not None:
        if len(args) > 1:
            state.report(
                "--range works with a single source",
                "cloudfiles: cat: range argument can only be used with a single source.", stop=True,
            )
        elif args:
            _cat_range(state, locate(args[0], no_sign_request=no_sign_request), *_parse_range(byte_range))
        state.finish()
        return

    def items() -> Iterator[tuple[Loc, str, Loc]]:
        """``(directory, name, location)`` of each file to print; name '' for a directory-shaped path."""
        for arg in args:
            loc = locate(arg, no_sign_request=no_sign_request)
            if loc.is_glob:
                for name, _ in listing_order(loc.parent, list(expand_glob(loc, recursive=False))):
                    yield loc.parent, name, loc.parent.child(name)
            else:
                yield loc.parent, ("" if loc.slash or not loc.key else loc.name), loc

    out = stdout_bytes()
    for block in lib.sip(items(), CAT_BLOCK):
        contents: list[bytes | None] = []
        for parent, names in _runs(block):
            wanted = [n for n in names if n]
            got = iter(ordered_get(parent.cf(), wanted) if wanted else [])
            contents.extend(next(got)["content"] if n else None for n in names)
        dirs = {
            i for i, ((_p, _n, loc), content) in enumerate(zip(block, contents, strict=True))
            if content is None and loc.protocol == "file" and os.path.isdir(local_path(loc))
        }
        missing = [i for i, content in enumerate(contents) if content is None and i not in dirs]
        if missing and not state.strict:
            state.report("", f"cloudfiles: {bucket_relative(block[missing[0]][2])} does not exist", stop=True)
        for i, ((_p, _n, loc), content) in enumerate(zip(block, contents, strict=True)):
            if content is not None:
                out.write(content)
            elif i in dirs:
                state.warn(f"{loc.path()}: is a directory")  # (cloud-files failed with a traceback)
            else:
                state.warn(f"{loc.path()}: No such file or directory")
        out.flush()
    state.finish()


def _runs(block: list[tuple[Loc, str, Loc]]) -> Iterator[tuple[Loc, list[str]]]:
    """Consecutive items of a block sharing a directory, as ``(directory, names)``."""
    for _key, run in itertools.groupby(block, key=lambda item: (item[0].path(), item[0].options)):
        members = list(run)
        yield members[0][0], [m[1] for m in members]


def _cat_range(state: State, loc: Loc, start: int, end: int | None) -> None:
    content = None
    if loc.key and not loc.slash:
        cf = loc.parent.cf()
        res = cf.get([{"path": loc.name, "start": start, "end": end}], raw=True, progress=False)[0]
        content = res["content"]
        if content is None or res["compress"] is not None:
            # Stored compressed (or only a compressed variant is served): ranges apply to the decoded
            # bytes (cloud-files failed to decode the compressed slice).
            whole = cf.get(loc.name)
            content = None if whole is None else whole[start:end]
    if content is None:
        state.report(f"{loc.arg}: No such file or directory", f"cloudfiles: {loc.path()} does not exist")
        return
    out = stdout_bytes()
    out.write(content)
    out.flush()


# -- head ---------------------------------------------------------------------------------------------------
@click.command()
@click.argument("paths", nargs=-1)
@click.option("--no-sign-request", is_flag=True, help="Unsigned s3 requests.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of Python's dict notation.")
def head(paths: tuple[str, ...], no_sign_request: bool, as_json: bool) -> None:
    """Print the metadata of files.

    One path: its metadata dict as Python prints it. Several (or a glob): {path: metadata}
    pretty-printed, None for missing files (globs key files by their name in the glob's
    directory). --json prints the same as JSON.
    """
    state = current_state()
    results: dict[str, Any] = {}
    for arg in paths:
        loc = locate(arg, no_sign_request=no_sign_request)
        if loc.is_glob:
            base = loc.parent
            names = list(listing_order(base, [n for n, _ in expand_glob(loc, recursive=False)]))
            metas = base.cf().head(names) if names else {}
            for name in names:
                results[name] = metas.get(name)
            continue
        results[arg] = loc.parent.cf().head(loc.name) if loc.key and not loc.slash else None

    single = len(paths) == 1 and len(results) == 1

    def show(value: Any) -> str:
        if as_json:
            return dumps(value)
        return str(value) if single else pprint.PrettyPrinter(indent=2).pformat(value)

    if single:
        value = next(iter(results.values()))
        if value is None:
            state.report(f"{paths[0]}: No such file or directory", f"cloudfiles: head: File not found: {paths[0]}")
        else:
            click.echo(show(value))
    elif paths:
        click.echo(show(results))
        for key, value in results.items():
            if value is None and state.strict:
                state.warn(f"{key}: No such file or directory")
    state.finish()


# -- du -----------------------------------------------------------------------------------------------------
@click.command()
@click.argument("paths", nargs=-1)
@click.option("-c", "--grand-total", is_flag=True, help="Also print the total of all arguments.")
@click.option("-s", "--summarize", is_flag=True, help="One total per argument instead of one line per file.")
@click.option("-h", "--human-readable", is_flag=True, help="Sizes in bytes, KiB, MiB, GiB, TiB, PiB, EiB.")
@click.option("-N", "--count-files", is_flag=True, help="Also print the number of files.")
@click.option("-e", "--group-by-ext", is_flag=True, help="Also print usage per file extension.")
def du(
    paths: tuple[str, ...], grand_total: bool, summarize: bool, human_readable: bool, count_files: bool,
    group_by_ext: bool,
) -> None:
    """Disk usage of files and directories (stored, i.e. compressed, sizes).

    Lines are 'SIZE<TAB>NAME': a file argument is named as given, the files of a directory (or a
    glob) by their path within it, -s totals by the argument. Every argument is looked up before
    anything is printed: a missing one prints 'cloudfiles: du: PATH does not exist' and nothing else
    (--strict: on stderr, exit 1, the others are still shown).
    """
    state = current_state()
    disp: Callable[[int], Any] = human_size if human_readable else (lambda n: n)
    # (argument, location, size of a file argument or None for a directory or glob)
    plan: list[tuple[str, Loc, int | None]] = []
    for arg in paths:
        loc = locate(arg)
        if loc.is_glob or named_as_dir(loc):
            plan.append((arg, loc, None))
            continue
        nbytes = loc.parent.cf().size(loc.name)
        if nbytes is None and loc.protocol != "file" and is_dir(loc):
            plan.append((arg, loc, None))  # a prefix given without its '/'
        elif nbytes is None:
            state.report(f"{arg}: No such file or directory", f"cloudfiles: du: {arg} does not exist", stop=True)
        else:
            plan.append((arg, loc, int(nbytes)))

    grand = 0
    nfiles = 0
    by_ext: dict[str, int] = defaultdict(int)
    for arg, loc, file_size in plan:
        entries: Iterable[tuple[str, Any]]
        if file_size is not None:
            entries = [(arg, file_size)]
        elif loc.is_glob:
            entries = listing_order(loc.parent, expand_glob(loc, recursive=False, size=True))
        else:
            entries = listing_order(loc, list_dir(loc, size=True))
        subtotal = 0
        lines = []
        for name, nbytes in entries:
            nbytes = int(nbytes or 0)
            subtotal += nbytes
            nfiles += 1
            if group_by_ext:
                by_ext[os.path.splitext(name)[1].lower() or "(no extension)"] += nbytes
            if not summarize:
                lines.append(f"{disp(nbytes)}\t{name}")
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
