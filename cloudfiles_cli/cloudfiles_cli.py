"""cloud-files' ``cloudfiles_cli.cloudfiles_cli`` module, mapped onto our command line (:mod:`cloudfiles.cli`).

``main`` is the ``cloudfiles`` click group and every command of cloud-files' CLI is here under its old
name (``ls``, ``cp``, ``xferinit``, ``aclgroup``, ``net_print``...), so scripts that invoke them with
``click.testing.CliRunner`` or import ``main`` keep working. The helper functions keep cloud-files'
behaviour. Unlike cloud-files, importing this module does not switch the process's multiprocessing
start method to "spawn" (our CLI asks for spawned workers where it starts them).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from typing import Any

import cloudfiles
from cloudfiles import CloudFile, CloudFiles, lib
from cloudfiles.cli import main
from cloudfiles.cli.admin import acl as aclgroup
from cloudfiles.cli.admin import acl_get as get_acl
from cloudfiles.cli.admin import alias as aliasgroup
from cloudfiles.cli.admin import alias_add, alias_ls, alias_rm
from cloudfiles.cli.admin import license_ as license  # cloud-files' name, shadowing the builtin
from cloudfiles.cli.admin import watch as iostatsgroup
from cloudfiles.cli.admin import watch_net as iostats_net_group
from cloudfiles.cli.admin import watch_net_histogram as net_histogram
from cloudfiles.cli.admin import watch_net_print as net_print
from cloudfiles.cli.checksums import verify
from cloudfiles.cli.jobs import xfer as xfergroup
from cloudfiles.cli.jobs import xfer_execute as xferexecute
from cloudfiles.cli.jobs import xfer_init as xferinit
from cloudfiles.cli.listing import cat, du, head, ls
from cloudfiles.cli.transfer import cp, mv, rm, touch
from cloudfiles.compression import transcode
from cloudfiles.lib import first, green, md5_equal, mkdir, red, sip, toabs, toiter
from cloudfiles.monitoring import IOEnum, IOSampler, TransmissionMonitor
from cloudfiles.paths import extract, find_common_buckets, get_protocol
from cloudfiles.resumable_tools import ResumableTransfer

from . import listing_db

__all__ = [
    "SI",
    "SUFFIX_REGEXP",
    "CloudFile",
    "CloudFiles",
    "IOEnum",
    "IOSampler",
    "ResumableTransfer",
    "TransmissionMonitor",
    "aclgroup",
    "alias_add",
    "alias_ls",
    "alias_rm",
    "aliasgroup",
    "cat",
    "cloudfiles",
    "cloudpathjoin",
    "cp",
    "du",
    "exprgen",
    "extract",
    "find_common_buckets",
    "first",
    "get_acl",
    "get_mfp",
    "get_protocol",
    "get_sep",
    "green",
    "head",
    "iostats_net_group",
    "iostatsgroup",
    "ispathdir",
    "license",
    "listing_db",
    "ls",
    "main",
    "md5_equal",
    "mkdir",
    "mv",
    "net_histogram",
    "net_print",
    "normalize_path",
    "populate_md5",
    "read_txt",
    "red",
    "rm",
    "sip",
    "toabs",
    "toiter",
    "touch",
    "transcode",
    "verify",
    "xferexecute",
    "xfergroup",
    "xferinit",
]

_SI_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def SI(val: int) -> str:  # cloud-files' name
    """A byte count in binary units: ``'512 bytes'``, ``'1.50 KiB'`` ... ``'EiB'`` (two decimals)."""
    if val < 1024:
        return f"{val} bytes"
    for power, unit in enumerate(_SI_UNITS, start=1):
        if val < 1024 ** (power + 1) or unit == "EiB":
            return f"{val / 1024**power:.2f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def normalize_path(cloudpath: str) -> str:
    """A bare local path as ``file://`` + its absolute path; a cloudpath unchanged."""
    if not get_protocol(cloudpath):
        return "file://" + toabs(cloudpath)
    return cloudpath


def cloudpathjoin(cloudpath: str, *args: str) -> str:
    """Join path components onto a cloudpath (with ``os.path`` rules on file://, ``/`` elsewhere)."""
    cloudpath = normalize_path(cloudpath)
    if get_protocol(cloudpath) == "file":
        return "file://" + os.path.join(cloudpath.removeprefix("file://"), *args)
    return posixpath.join(cloudpath, *args)


def get_sep(cloudpath: str) -> str:
    """The path separator of the cloudpath's scheme: ``os.sep`` for file://, ``/`` otherwise."""
    return os.path.sep if get_protocol(cloudpath) == "file" else "/"


def ispathdir(cloudpath: str) -> bool:
    """Does ``cloudpath`` name a directory? file://: ends in the separator or is a directory on
    disk; elsewhere: ends in ``/`` or is a bare bucket."""
    expath = extract(normalize_path(cloudpath))
    if expath.protocol == "file":
        return cloudpath.endswith(os.path.sep) or os.path.isdir(expath.path or "")
    return cloudpath.endswith("/") or (expath.path == "" and expath.bucket != "")


def exprgen(prefix: str, matches: list[str]) -> list[str]:
    """Expand each ``[chars]`` group of ``prefix`` (given in ``matches``, in order) into one prefix per
    character: ``exprgen("a[xy]", ["xy"]) == ["ax", "ay"]``; groups multiply."""
    out = [prefix]
    for match in matches:
        out = [pfx.replace(f"[{match}]", char, 1) for pfx in out for char in match]
    return out


#: A trailing ``*suffix`` of a glob path (``dir/*.json``): the part after the star.
SUFFIX_REGEXP = re.compile(r"\*([\w\d\-\._]+)$")


def get_mfp(path: str, recursive: bool) -> tuple[bool, bool, str, str]:
    """``(many, flat, prefix, suffix)`` of a CLI path: ``dir/**`` lists recursively, ``dir/*`` one
    level, ``dir/abc*`` names starting with ``abc``, ``*.ext`` names ending in ``.ext``; without a
    glob, ``recursive`` decides between one object (flat) and a whole tree."""
    path = normalize_path(path)
    many, flat, prefix, suffix = recursive, not recursive, "", ""
    found = SUFFIX_REGEXP.search(path)
    if found is not None:
        suffix = found.group(1)
        path = path.removesuffix(suffix)
    if path.endswith("**"):
        many, flat, prefix = True, False, os.path.basename(path[:-2])
    elif path.endswith("*"):
        many, flat, prefix = True, True, os.path.basename(path[:-1])
    return many, flat, prefix, suffix


def read_txt(text_file: str) -> Iterator[str]:
    """The lines of a text file, without their line endings."""
    with open(text_file, encoding="utf8") as f:
        for line in f:
            yield line.rstrip("\r\n")


def populate_md5(
    cf: CloudFiles,
    metadata: dict[str, dict[str, Any]],
    threshold: float = 1e9,
    multipart_threshold: int | None = None,
    part_size: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Fill in ``ETag`` and ``Content-Md5`` (base64 MD5) of the files in ``metadata`` (``{name: head
    dict}``) that have neither, by downloading them, at most ``threshold`` bytes at a time. On s3://,
    files larger than ``multipart_threshold`` get the multipart ETag for ``part_size`` parts instead.
    Returns ``metadata`` (updated in place)."""
    pending = [name for name, meta in metadata.items() if not meta.get("ETag") and not meta.get("Content-Md5")]
    multipart = multipart_threshold is not None and part_size is not None and cf.protocol == "s3"
    while pending:
        block = [pending.pop()]
        nbytes = metadata[block[0]].get("Content-Length") or 0
        while pending and nbytes + (metadata[pending[-1]].get("Content-Length") or 0) <= threshold:
            block.append(pending.pop())
            nbytes += metadata[block[-1]].get("Content-Length") or 0
        for res in cf.get(block, raw=True):
            content = res["content"]
            if content is None:
                continue
            if multipart and part_size is not None and len(content) > (multipart_threshold or 0):
                digest = lib.calc_s3_multipart_etag(content, part_size)
            else:
                digest = lib.md5(content, base=64)
            metadata[res["path"]]["ETag"] = digest
            metadata[res["path"]]["Content-Md5"] = digest
    return metadata
