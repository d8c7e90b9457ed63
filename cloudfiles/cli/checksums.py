"""Checksums: the hash and verify commands and the digest helpers sync shares."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import click

from .. import lib, paths
from .common import (
    READ_BLOCK,
    CLIError,
    Loc,
    current_state,
    exists,
    expand_glob,
    is_dir,
    list_dir,
    local_path,
    locate,
    ordered_get,
)

# -- hash ---------------------------------------------------------------------------------------------------
HASH_ALGORITHMS = ("md5", "crc32c")
#: Objects larger than this are hashed from ranged reads of this size.
HASH_CHUNK = 64 * 1024 * 1024
#: Most bytes of small objects held at once while hashing.
HASH_BUDGET = 256 * 1024 * 1024
_MD5_HEX = re.compile(r"^[0-9a-fA-F]{32}$")


def _b64decode(value: str) -> bytes:
    return base64.b64decode(value + "=" * (-len(value) % 4))


def server_hashes(protocol: str, meta: Mapping[str, Any] | None) -> dict[str, bytes]:
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
        self.md5 = hashlib.md5(usedforsecurity=False) if "md5" in algorithms else None
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
    from ..interfaces.file import ENCODING_SUFFIXES

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
            digests = pool.map(lambda n: _hash_local_file(base, n, algorithms), todo)
            out.update(zip(todo, digests, strict=True))
        return out
    if content:  # decoding needs whole objects
        for block in lib.sip(todo, READ_BLOCK):
            for name, res in zip(block, ordered_get(cf, block), strict=True):
                out[name] = None if res["content"] is None else _digest_of(res["content"], algorithms)
        return out
    # Stored bytes: small objects are fetched many at a time, large ones in ranges, so memory stays
    # bounded by HASH_BUDGET whatever the object sizes.
    sizes = cf.size(todo) if todo else {}
    small: list[str] = []
    for name in todo:
        size = sizes.get(name)
        if size is None:
            out[name] = None
        elif size > HASH_CHUNK:
            out[name] = _hash_in_ranges(cf, name, size, algorithms)
        else:
            small.append(name)
    for block in _byte_blocks(small, sizes, HASH_BUDGET):
        for name, res in zip(block, ordered_get(cf, block, raw=True), strict=True):
            out[name] = None if res["content"] is None else _digest_of(res["content"], algorithms)
    return out


def _digest_of(data: Any, algorithms: Sequence[str]) -> dict[str, bytes]:
    hasher = _Hasher(algorithms)
    hasher.update(data)
    return hasher.digests()


def _byte_blocks(names: Sequence[str], sizes: dict[str, Any], budget: int) -> Iterator[list[str]]:
    """Consecutive runs of names holding at most READ_BLOCK files and ``budget`` bytes."""
    block: list[str] = []
    nbytes = 0
    for name in names:
        size = int(sizes.get(name) or 0)
        if block and (len(block) >= READ_BLOCK or nbytes + size > budget):
            yield block
            block, nbytes = [], 0
        block.append(name)
        nbytes += size
    if block:
        yield block


def _hash_in_ranges(cf: Any, name: str, size: int, algorithms: Sequence[str]) -> dict[str, bytes] | None:
    hasher = _Hasher(algorithms)
    for start in range(0, size, HASH_CHUNK):
        end = min(size, start + HASH_CHUNK)
        res = cf.get([{"path": name, "start": start, "end": end}], raw=True, progress=False)[0]
        if res["content"] is None:
            return None
        if len(res["content"]) != end - start:
            raise CLIError(f"{cf.abspath(name)} changed while it was being read")
        hasher.update(res["content"])
    return hasher.digests()


def _format_digest(algorithm: str, digest: bytes, b64: bool) -> str:
    if b64:
        return base64.b64encode(digest).decode("ascii")
    return digest.hex()


@click.command("hash")
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
    state = current_state()
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
            base, names = loc, (n for n, _ in list_dir(loc))
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


# -- verify -------------------------------------------------------------------------------------------------
@click.command()
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

    Prints 'success. ...' or 'failed. ...'. Local files carry no checksums: use --md5 with them.
    The exit status is 0 either way, as with cloud-files; --strict exits 1 on any difference.
    """
    state = current_state()
    src = locate(source)
    dst = locate(target)
    src_dir, dst_dir = is_dir(src), is_dir(dst)
    if src_dir != dst_dir:
        state.report(
            "SOURCE and TARGET must both be files or both be directories",
            "cloudfiles: verify source and target must both be files or directories.", stop=True,
        )
        state.finish()
        return
    if not md5 and "file" in (src.protocol, dst.protocol):
        state.report(
            "local files store no checksums: use --md5 (computes md5 of both sides)",
            "cloudfiles: verify source and target must be object storage without --md5 option. "
            "The filesystem does not store hash information.", stop=True,
        )
        state.finish()
        return
    if src_dir:
        src_base, dst_base = src, dst
        src_names = {n for n, _ in list_dir(src)}
        dst_names = {n for n, _ in list_dir(dst)}
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
        _verify_failed()
        return
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
    if any(reason.startswith("no checksum") for _a, _b, reason in failed):
        click.echo("hint: some files have no stored checksum (mem://, web servers): rerun with --md5")
    _verify_failed()


def _verify_failed() -> None:
    """A failed verify exits 0 as in cloud-files (the 'failed.' line says it), 1 with --strict."""
    if current_state().strict:
        raise click.exceptions.Exit(1)


def _multipart_match(
    src_base: Loc, a: str, sm: Mapping[str, Any], dst_base: Loc, b: str, tm: Mapping[str, Any],
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


