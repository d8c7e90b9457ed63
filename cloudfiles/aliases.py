"""The alias registry: ``alias://bucket/key`` names for S3-compatible endpoints.

Official aliases ship with the library; process aliases come from :func:`add_alias`; persistent ones
live in ``$CLOUD_FILES_DIR/aliases.json``, read lazily (once per process) the first time a path names
an unknown ``xxx://`` prefix. Changing an alias rebinds :data:`ALLOWED_PROTOCOLS` and
:data:`CLOUDPATH_REGEXP` (never mutates them), so readers must look them up on this module each time
(``cloudfiles.paths`` forwards its names of them here).
"""

from __future__ import annotations

import os
import re
import threading
import warnings
from typing import Any

import orjson

from . import forksafe
from . import secrets as _secrets
from .localfs import mkdir

__all__ = [
    "ALIASES",
    "ALIASES_FROM_FILE",
    "ALLOWED_FORMATS",
    "ALLOWED_PROTOCOLS",
    "BASE_ALLOWED_PROTOCOLS",
    "CLOUDPATH_REGEXP",
    "CLOUD_PROTOCOLS",
    "OFFICIAL_ALIASES",
    "add_alias",
    "add_persistent_alias",
    "alias_file",
    "mkregexp",
    "remove_alias",
    "remove_persistent_alias",
    "reset_aliases",
    "update_aliases_from_file",
    "update_persistent_aliases",
]

BASE_ALLOWED_PROTOCOLS: list[str] = [
    "gs",
    "file",
    "s3",
    "http",
    "https",
    "mem",
    "middleauth+https",
    "ngauth+https",
]
ALLOWED_FORMATS: list[str] = [
    "graphene",
    "precomputed",
    "boss",
    "n5",
    "zarr",
    "zarr2",
    "zarr3",
    "brainmaps",
    "deepzoom",
    "nggraph",
    "render",
    "vtk",
    "nifti",
    "dvid",
]

# Official aliases ship with the library and can be neither overridden nor removed.
OFFICIAL_ALIASES: dict[str, str] = {
    "nokura": "s3://https://c10s.pni.princeton.edu/",
    "matrix": "s3://https://s3-hpcrc.rc.princeton.edu/",
    "tigerdata": "s3://https://td.princeton.edu/",
}

# Protocols served by an object store with buckets (used to decide on https rewriting).
CLOUD_PROTOCOLS: list[str] = ["gs", "s3", *OFFICIAL_ALIASES]

# name -> host ("s3://https://host/"); official + process + persistent aliases.
ALIASES: dict[str, str] = {}
ALLOWED_PROTOCOLS: list[str] = list(BASE_ALLOWED_PROTOCOLS)
# Aliases read from the alias file: name -> {"host": host}. None until the file has been loaded.
ALIASES_FROM_FILE: dict[str, dict[str, str]] | None = None
# Matches the FORMAT:// and PROTOCOL:// prefixes (see mkregexp); rebuilt with the protocol list.
CLOUDPATH_REGEXP: re.Pattern[str] = re.compile("")

_ALIAS_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")

_alias_lock = forksafe.new_rlock()


def alias_file() -> str:
    """Path of the persistent alias file: ``$CLOUD_FILES_DIR/aliases.json``."""
    return os.path.join(_secrets.cloud_files_dir(), "aliases.json")


def mkregexp() -> str:
    """The regexp text of an optional ``FORMAT://`` then an optional ``PROTOCOL://`` prefix.

    Built from ALLOWED_FORMATS and ALLOWED_PROTOCOLS (aliases included) as they are now; groups ``fmt``
    and ``proto``. :data:`CLOUDPATH_REGEXP` is its compiled form, rebuilt whenever an alias changes.
    """
    formats = "|".join(ALLOWED_FORMATS)
    protocols = "|".join(proto.replace("+", r"\+") for proto in ALLOWED_PROTOCOLS)
    return f"(?:(?P<fmt>{formats})://)?(?:(?P<proto>{protocols})://)?"


def _refresh_protocols() -> None:
    global ALLOWED_PROTOCOLS, CLOUDPATH_REGEXP
    # Rebind (not mutate) so code iterating the old list is never disturbed mid-loop.
    ALLOWED_PROTOCOLS = BASE_ALLOWED_PROTOCOLS + list(ALIASES.keys())
    CLOUDPATH_REGEXP = re.compile(mkregexp())


def _check_alias_name(alias: str) -> None:
    if not isinstance(alias, str) or not _ALIAS_NAME_RE.match(alias):
        raise ValueError(f"Invalid alias name {alias!r}: use letters, digits, '+', '-' or '.'.")
    if alias in BASE_ALLOWED_PROTOCOLS:
        raise ValueError(f"Unable to override base protocols with alias {alias}")
    if alias in ALLOWED_FORMATS:
        raise ValueError(f"Naming collision between protocols and formats with alias {alias}")


def add_alias(alias: str, host: str) -> None:
    """Make ``alias://bucket/key`` mean ``host + bucket/key`` in this process.

    ``host`` is a cloudpath prefix such as ``s3://https://s3.example.org/`` (a trailing '/' is added).
    Raises ValueError for names that collide with a protocol, a format or an official alias.
    """
    _check_alias_name(alias)
    if not host:
        raise ValueError(f"Alias {alias} needs a host.")
    if host[-1] != "/":
        host += "/"
    with _alias_lock:
        if alias in OFFICIAL_ALIASES and ALIASES.get(alias) is not None and host != OFFICIAL_ALIASES[alias]:
            raise ValueError(f"{alias} is an official alias and cannot be overridden.")
        ALIASES[alias] = host
        _refresh_protocols()


def remove_alias(alias: str) -> None:
    """Forget the process alias ``alias`` (no-op if unknown). Official aliases cannot be removed."""
    if alias in OFFICIAL_ALIASES:
        raise ValueError(f"{alias} is an official alias and cannot be removed.")
    with _alias_lock:
        ALIASES.pop(alias, None)
        _refresh_protocols()


def update_aliases_from_file() -> None:
    """Load ``$CLOUD_FILES_DIR/aliases.json`` once per process (later calls are no-ops).

    Entries that are malformed or collide with protocols, formats or official aliases are skipped
    with a warning rather than breaking every path parse.
    """
    global ALIASES_FROM_FILE
    with _alias_lock:
        if ALIASES_FROM_FILE is not None:
            return
        path = alias_file()
        data: Any = {}
        try:
            with open(path, "rb") as f:
                raw = f.read()
            if raw.strip():
                data = orjson.loads(raw)
        except FileNotFoundError:
            data = {}
        except (OSError, orjson.JSONDecodeError) as err:
            warnings.warn(f"Ignoring unreadable alias file {path}: {err}", stacklevel=2)
            data = {}
        if not isinstance(data, dict):
            warnings.warn(f"Ignoring alias file {path}: it must hold a JSON object.", stacklevel=2)
            data = {}

        loaded: dict[str, dict[str, str]] = {}
        for alias, value in data.items():
            host = value.get("host") if isinstance(value, dict) else None
            if not isinstance(host, str) or alias in OFFICIAL_ALIASES:
                warnings.warn(f"Skipping alias {alias!r} in {path}.", stacklevel=2)
                continue
            try:
                add_alias(alias, host)
            except ValueError as err:
                warnings.warn(f"Skipping alias {alias!r} in {path}: {err}", stacklevel=2)
                continue
            loaded[alias] = {"host": ALIASES[alias]}
        ALIASES_FROM_FILE = loaded


def _write_alias_file(aliases: dict[str, dict[str, str]]) -> None:
    path = alias_file()
    mkdir(os.path.dirname(path))
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(aliases, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    # Atomic replace: a concurrent reader sees the old or the new file, never half of one.
    os.replace(tmp, path)


def _file_aliases() -> dict[str, dict[str, str]]:
    """``ALIASES_FROM_FILE``, loading the alias file first if needed (callers hold ``_alias_lock``)."""
    update_aliases_from_file()
    if ALIASES_FROM_FILE is None:  # pragma: no cover - update_aliases_from_file always sets it
        raise RuntimeError("the alias file was not loaded")
    return ALIASES_FROM_FILE


def add_persistent_alias(alias: str, host: str) -> None:
    """Add ``alias`` for this process and record it in the alias file for future ones."""
    if alias in OFFICIAL_ALIASES:
        raise ValueError(f"{alias} is an official alias and cannot be overridden.")
    with _alias_lock:
        from_file = _file_aliases()
        add_alias(alias, host)
        from_file[alias] = {"host": ALIASES[alias]}
        update_persistent_aliases()


def remove_persistent_alias(alias: str) -> None:
    """Remove ``alias`` from this process and from the alias file."""
    with _alias_lock:
        from_file = _file_aliases()
        remove_alias(alias)
        from_file.pop(alias, None)
        update_persistent_aliases()


def update_persistent_aliases() -> None:
    """Write the persistent aliases (``ALIASES_FROM_FILE``) to the alias file.

    The file is loaded first when it has not been yet, so its other entries are kept.
    """
    with _alias_lock:
        _write_alias_file(_file_aliases())


def reset_aliases() -> None:
    """Back to the official aliases only; the alias file will be re-read when next needed (tests)."""
    global ALIASES_FROM_FILE
    with _alias_lock:
        ALIASES.clear()
        ALIASES.update(OFFICIAL_ALIASES)
        ALIASES_FROM_FILE = None
        _refresh_protocols()


reset_aliases()
