"""Cloudpath parsing: ``[FORMAT://]PROTOCOL://PATH`` or ``PROTOCOL://PATH|FORMAT:`` -> ExtractedPath.

Pure string work. The alias registry (official, process and persistent aliases, and the protocol list
they extend) lives in :mod:`cloudfiles.aliases`; its names are re-exported here, where cloud-files had
them. The persistent alias file is loaded lazily the first time an unknown ``xxx://`` prefix is seen.

Examples::

    extract("gs://b/dataset/layer")
      -> ExtractedPath('precomputed', 'gs', 'b', 'dataset/layer', None, None)
    extract("s3://https://s3-hpcrc.rc.princeton.edu/hello/world")
      -> ExtractedPath('precomputed', 's3', 'hello', 'world', 'https://s3-hpcrc.rc.princeton.edu', None)
    extract("matrix://b/p")
      -> ExtractedPath('precomputed', 's3', 'b', 'p', 'https://s3-hpcrc.rc.princeton.edu', 'matrix')
    extract("graphene://http://localhost:8080/seg/1.0/v")
      -> ExtractedPath('graphene', 'http', None, 'seg/1.0/v', 'http://localhost:8080', None)

Also here: the helpers other layers use to build keys safely, :func:`join_key` (remote keys) and
:func:`safe_local_join` (file:// keys, with path-traversal protection).
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from . import aliases as _aliases
from . import secrets as _secrets
from .aliases import (
    ALIASES,
    ALLOWED_FORMATS,
    BASE_ALLOWED_PROTOCOLS,
    CLOUD_PROTOCOLS,
    OFFICIAL_ALIASES,
    add_alias,
    add_persistent_alias,
    alias_file,
    mkregexp,
    remove_alias,
    remove_persistent_alias,
    reset_aliases,
    update_aliases_from_file,
    update_persistent_aliases,
)
from .exceptions import UnsafePathError, UnsupportedProtocolError
from .lib import jsonify, mkdir, toabs, toiter, yellow
from .typing import GetPathType

__all__ = [
    "ALIASES",
    "ALIASES_FROM_FILE",  # noqa: F822 - provided by the module __getattr__
    "ALIAS_FILE",  # noqa: F822 - provided by the module __getattr__
    "ALLOWED_FORMATS",
    "ALLOWED_PROTOCOLS",  # noqa: F822 - provided by the module __getattr__
    "BASE_ALLOWED_PROTOCOLS",
    "BUCKET_RE",
    "CLOUDPATH_REGEXP",  # noqa: F822 - provided by the module __getattr__
    "CLOUD_FILES_DIR",  # noqa: F822 - provided by the module __getattr__
    "CLOUD_PROTOCOLS",
    "OFFICIAL_ALIASES",
    "PRECOMPUTED_SUFFIX",
    "TAIL_FORMAT_REGEXP",
    "ExtractedPath",
    "GetPathType",
    "UnsafePathError",
    "UnsupportedProtocolError",
    "add_alias",
    "add_persistent_alias",
    "alias_file",
    "asbucketpath",
    "ascloudpath",
    "asfilepath",
    "asprotocolpath",
    "basename",
    "cloudpath_error",
    "dirname",
    "extract",
    "extract_format_protocol",
    "find_common_buckets",
    "get_any_protocol",
    "get_protocol",
    "join_key",
    "jsonify",
    "mkdir",
    "mkregexp",
    "normalize",
    "pop_protocol",
    "remove_alias",
    "remove_persistent_alias",
    "reset_aliases",
    "resolve_alias",
    "safe_local_join",
    "service_provider",
    "to_https_protocol",
    "toabs",
    "toiter",
    "update_aliases_from_file",
    "update_persistent_aliases",
    "yellow",
]


class ExtractedPath(NamedTuple):
    """A parsed cloudpath. ``host`` is ``scheme://netloc`` for http(s) and custom S3 endpoints;
    ``alias`` names the alias the path was written with (its protocol is then the alias's)."""

    format: str | None
    protocol: str | None
    bucket: str | None
    path: str | None
    host: str | None = None
    alias: str | None = None


# UnsafePathError lives in exceptions (imported above) so every error shares one module.


PRECOMPUTED_SUFFIX = "|neuroglancer-precomputed:"

# posix /what/a/great/path ; a bucket may carry a :port (mem://localhost:8080 style names).
BUCKET_RE = re.compile(r"^(/?[~\d\w_\.\-]+(?::\d+)?)(?:/|$)")
# |neuroglancer-precomputed: or |zarr2: suffixes
TAIL_FORMAT_REGEXP = re.compile(r"\|(?P<fmt>[\w\d-]+):$")
# RFC 3986 scheme characters, e.g. "middleauth+https".
_SCHEME_RE = re.compile(r"^(?P<proto>[A-Za-z][A-Za-z0-9+.\-]*)://")
_WINDOWS_DRIVE_RE = re.compile(r"^[A-Za-z]:")
#: a key that is a single safe name: no separator, NUL, backslash or drive colon
_PLAIN_NAME_RE = re.compile(r"[^/\\\x00:]+")

# The alias registry rebinds these on every change: read them from cloudfiles.aliases at access time.
_ALIAS_STATE = ("ALIASES_FROM_FILE", "ALLOWED_PROTOCOLS", "CLOUDPATH_REGEXP")


def __getattr__(name: str) -> Any:
    # ALIAS_FILE and CLOUD_FILES_DIR follow $CLOUD_FILES_DIR at access time (PEP 562).
    if name == "ALIAS_FILE":
        return alias_file()
    if name == "CLOUD_FILES_DIR":
        return _secrets.cloud_files_dir()
    if name in _ALIAS_STATE:
        return getattr(_aliases, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"ALIAS_FILE", "CLOUD_FILES_DIR", *_ALIAS_STATE})


def cloudpath_error(cloudpath: str) -> str:
    """The (yellow) help text of an UnsupportedProtocolError for ``cloudpath``."""
    return yellow(
        f"""
    Cloud Path must conform to one of:
      (a) [FORMAT://]PROTOCOL://PATH
      (b) PROTOCOL://PATH|FORMAT:
    Examples:
      precomputed://gs://test_bucket/em
      gs://test_bucket/em
      graphene://https://example.com/image/em
      gs://text_bucket/em/|zarr2:

    Supported Formats: None (precomputed), {", ".join(ALLOWED_FORMATS)}
    Supported Protocols: {", ".join(_aliases.ALLOWED_PROTOCOLS)}

    Cloud Path Received: {cloudpath!r}
  """
    )


def _error(cloudpath: str) -> UnsupportedProtocolError:
    return UnsupportedProtocolError(cloudpath_error(cloudpath))


# ---------------------------------------------------------------------------------------------------------
# Protocol and format prefixes
# ---------------------------------------------------------------------------------------------------------


def _strip_tail_format(cloudpath: str) -> str:
    """``p|neuroglancer-precomputed:`` -> ``p``; ``p|zarr2:`` -> ``zarr2://p``."""
    if cloudpath.endswith(PRECOMPUTED_SUFFIX):
        cloudpath = cloudpath[: -len(PRECOMPUTED_SUFFIX)]
    m = TAIL_FORMAT_REGEXP.search(cloudpath)
    if m is not None:
        cloudpath = f"{m.group('fmt')}://{cloudpath[: m.start()]}"
    return cloudpath


def _split_prefixes(cloudpath: str) -> tuple[str | None, str | None, str]:
    """Split off a known ``format://`` then a known ``protocol://``: (fmt, proto, rest)."""
    fmt = proto = None
    rest = cloudpath
    m = _SCHEME_RE.match(rest)
    if m is not None and m.group("proto") in ALLOWED_FORMATS:
        fmt = m.group("proto")
        rest = rest[m.end() :]
        m = _SCHEME_RE.match(rest)
    if m is not None and m.group("proto") in _aliases.ALLOWED_PROTOCOLS:
        proto = m.group("proto")
        rest = rest[m.end() :]
    return fmt, proto, rest


def get_any_protocol(cloudpath: str) -> str | None:
    """The scheme in the protocol position, even if it is not a supported one (``None`` if absent)."""
    m = _SCHEME_RE.match(cloudpath)
    if m is None:
        return None
    proto = m.group("proto")
    if proto in ALLOWED_FORMATS:
        m = _SCHEME_RE.match(cloudpath[m.end() :])
        return m.group("proto") if m is not None else None
    return proto


def get_protocol(cloudpath: str) -> str | None:
    """The supported protocol (or alias) of ``cloudpath``, or None.

    Seeing an unknown ``xxx://`` prefix loads the persistent alias file (once per process).
    """
    _, proto, _ = _split_prefixes(cloudpath)
    if proto is None and _aliases.ALIASES_FROM_FILE is None and get_any_protocol(cloudpath) is not None:
        update_aliases_from_file()
        _, proto, _ = _split_prefixes(cloudpath)
    return proto


def pop_protocol(cloudpath: str) -> tuple[str | None, str]:
    """Split a leading ``scheme://``: ``('gs', 'b/k')`` for ``gs://b/k``; ``(None, path)`` if absent."""
    m = _SCHEME_RE.match(cloudpath)
    if m is None:
        return None, cloudpath
    return m.group("proto"), cloudpath[m.end() :]


def resolve_alias(cloudpath: str) -> tuple[str | None, str]:
    """Expand a leading alias: ``('matrix', 's3://https://s3-hpcrc…/b/p')`` for ``matrix://b/p``.

    Returns ``(None, cloudpath)`` if the protocol is not an alias. A format prefix is kept.
    """
    proto = get_protocol(cloudpath)
    if proto is None or proto not in ALIASES:
        return None, cloudpath
    fmt, _, rest = _split_prefixes(cloudpath)
    # Rebuild positionally: a plain str.replace could hit the alias name inside the format prefix.
    prefix = f"{fmt}://" if fmt else ""
    return proto, prefix + ALIASES[proto] + rest


def _split_host(proto_for_url: str, rest: str) -> tuple[str, str]:
    """``('https', 'host:1/a/b')`` -> ``('https://host:1', 'a/b')``."""
    parsed = urllib.parse.urlsplit(f"{proto_for_url}://{rest}")
    host = f"{parsed.scheme}://{parsed.netloc}"
    path = rest[len(parsed.netloc) :]
    if path.startswith("/"):
        path = path[1:]
    return host, path


def extract_format_protocol(
    cloudpath: str, allow_defaults: bool = True
) -> tuple[str | None, str | None, str | None, str, str | None]:
    """Split ``cloudpath`` into ``(format, protocol, host, rest, alias)``.

    ``format`` defaults to ``'precomputed'`` when ``allow_defaults``. ``host`` is set for http(s),
    middleauth+https/ngauth+https and ``s3://http(s)://host/`` endpoints. Raises UnsupportedProtocolError
    only for non-string input; an unknown protocol leaves ``protocol`` None and ``rest`` untouched.
    """
    if not isinstance(cloudpath, str):
        raise UnsupportedProtocolError(cloudpath_error(repr(cloudpath)))
    cloudpath = _strip_tail_format(cloudpath)
    alias, cloudpath = resolve_alias(cloudpath)
    fmt, proto, rest = _split_prefixes(cloudpath)
    if fmt is None and allow_defaults:
        fmt = "precomputed"

    host = None
    if proto in ("http", "https", "middleauth+https", "ngauth+https"):
        url_proto = "https" if proto.endswith("https") else "http"
        host, rest = _split_host(url_proto, rest)
    elif proto == "s3":
        inner, after = pop_protocol(rest)
        if inner in ("http", "https"):
            host, rest = _split_host(inner, after)
    return fmt, proto, host, rest, alias


def extract(cloudpath: str, windows: bool | None = None) -> ExtractedPath:
    """Parse a cloudpath into an :class:`ExtractedPath`.

    ``cloudpath`` must name a protocol (use :func:`normalize` first for bare local paths).
    ``file://`` paths are made absolute (``~`` and relative paths expanded, trailing '/' dropped) unless
    ``windows`` (default: running on Windows), where they are kept untouched. Remote keys are kept
    verbatim, backslashes included. Raises UnsupportedProtocolError for anything unparseable,
    including ``''``.
    """
    if not isinstance(cloudpath, str) or cloudpath == "":
        raise _error(cloudpath if isinstance(cloudpath, str) else repr(cloudpath))

    fmt, protocol, host, rest, alias = extract_format_protocol(cloudpath)
    if protocol is None:
        raise _error(cloudpath)

    if windows is None:
        windows = sys.platform == "win32"

    if host is not None and host.endswith("://"):
        raise _error(cloudpath)  # a URL without a host name

    bucket = None
    if protocol == "file":
        if not windows:
            rest = toabs(rest)
    elif protocol in ("gs", "s3", "mem"):
        match = BUCKET_RE.match(rest)
        if match is None:
            raise _error(cloudpath)
        bucket = match.group(1).replace("/", "")
        rest = rest[match.end() :]
        if not bucket:
            raise _error(cloudpath)

    # A second protocol in the key position ("gs://gs://b", "https://h/s3://x") is a malformed path.
    if protocol != "file" and pop_protocol(rest)[0] is not None:
        raise _error(cloudpath)

    return ExtractedPath(fmt, protocol, bucket, rest, host, alias)


def normalize(path: str) -> str:
    """Canonical cloudpath: bare local paths become ``file:///abs``; ``p|fmt:`` becomes ``fmt://p``.

    Paths that already name a protocol (or alias) are returned with only the tail format moved.
    An unknown ``xxx://`` prefix raises UnsupportedProtocolError (cloud-files turned it into a bogus
    local path).
    """
    if not isinstance(path, str) or path == "":
        raise _error(path if isinstance(path, str) else repr(path))
    path = _strip_tail_format(path)
    fmt, proto, _ = _split_prefixes(path)
    if proto is None:
        proto = get_protocol(path)
    if proto is not None:
        return path
    rest = path
    if fmt is not None:
        rest = path[len(fmt) + 3 :]
    if pop_protocol(rest)[0] is not None and not _WINDOWS_DRIVE_RE.match(rest):
        raise _error(path)
    prefix = f"{fmt}://" if fmt else ""
    return f"{prefix}file://{toabs(rest)}"


# ---------------------------------------------------------------------------------------------------------
# Rebuilding paths
# ---------------------------------------------------------------------------------------------------------


def _join_parts(parts: Iterable[str | None]) -> str:
    out = ""
    for part in parts:
        if not part:
            continue
        if not out:
            out = part
        elif out.endswith("/"):
            out += part
        else:
            out += "/" + part
    return out


def asprotocolpath(epath: ExtractedPath) -> str:
    """``protocol://[host/]bucket/path`` (``alias://bucket/path`` for alias paths), without format."""
    host = None if epath.alias else epath.host
    pth = _join_parts((host, epath.bucket, epath.path))
    if epath.alias:
        return f"{epath.alias}://{pth}"
    proto = epath.protocol or ""
    if proto in ("http", "https") and host:
        return pth
    if proto in ("middleauth+https", "ngauth+https") and host:
        return f"{proto.split('+')[0]}+{pth}"
    return f"{proto}://{pth}"


def ascloudpath(epath: ExtractedPath) -> str:
    """The full cloudpath of ``epath``, ``format://`` prefix included when ``epath.format`` is set."""
    pth = asprotocolpath(epath)
    if epath.format:
        return f"{epath.format}://{pth}"
    return pth


def asbucketpath(cloudpath: str | ExtractedPath) -> str:
    """The cloudpath of the bucket (service, host and bucket, no key) of ``cloudpath``."""
    if isinstance(cloudpath, ExtractedPath):
        epath = cloudpath
    elif isinstance(cloudpath, str):
        epath = extract(cloudpath)
    else:
        raise TypeError(f"Input must be str or ExtractedPath. Got: {cloudpath!r}")
    return ascloudpath(epath._replace(path=None))


def asfilepath(epath: str | ExtractedPath) -> str:
    """The local filesystem path of a ``file://`` cloudpath. ValueError for other protocols."""
    if isinstance(epath, str):
        epath = extract(epath)
    if epath.protocol != "file":
        raise ValueError(f'{epath.protocol} protocol must be "file".')
    parts = [p for p in (epath.bucket, epath.path) if p]
    return os.path.join(*parts) if parts else ""


def dirname(path: str) -> str:
    """``os.path.dirname`` for local paths, ``posixpath.dirname`` for remote ones."""
    proto = get_protocol(path) or "file"
    if proto == "file":
        return os.path.dirname(path)
    return posixpath.dirname(path)


def basename(path: str) -> str:
    """``os.path.basename`` for local paths, ``posixpath.basename`` for remote ones."""
    proto = get_protocol(path) or "file"
    if proto == "file":
        return os.path.basename(path)
    return posixpath.basename(path)


def to_https_protocol(cloudpath: str | ExtractedPath) -> Any:
    """Rewrite a gs/s3/alias path to its public HTTPS form (same type out as in).

    ``gs://b/k`` -> ``https://storage.googleapis.com/b/k``; ``s3://b/k`` -> ``https://s3.amazonaws.com/b/k``;
    ``s3://https://host/b/k`` -> ``https://host/b/k``; ``matrix://b/k`` -> ``https://s3-hpcrc…/b/k``.
    Other paths are returned unchanged; a format prefix is kept.
    """
    if isinstance(cloudpath, ExtractedPath):
        if cloudpath.protocol in ("gs", "s3") or cloudpath.alias:
            return extract(to_https_protocol(ascloudpath(cloudpath)))
        return cloudpath

    proto = get_protocol(cloudpath)  # also loads persistent aliases if needed
    if proto is None:
        return cloudpath
    fmt, _, rest = _split_prefixes(cloudpath)
    prefix = f"{fmt}://" if fmt else ""

    if proto in ALIASES:
        _, resolved = resolve_alias(f"{proto}://{rest}")
        inner, after = pop_protocol(resolved)
        if inner == "s3" and pop_protocol(after)[0] in ("http", "https"):
            return prefix + after
        if inner == "s3":
            return prefix + "https://s3.amazonaws.com/" + after
        if inner == "gs":
            return prefix + "https://storage.googleapis.com/" + after
        return prefix + resolved
    if proto == "gs":
        return prefix + "https://storage.googleapis.com/" + rest
    if proto == "s3":
        if pop_protocol(rest)[0] in ("http", "https"):
            return prefix + rest
        return prefix + "https://s3.amazonaws.com/" + rest
    return cloudpath


def service_provider(epath: str | ExtractedPath) -> str | None:
    """Who serves ``epath`` (an ExtractedPath or a cloudpath): the alias name for alias paths, else
    the protocol."""
    if not isinstance(epath, ExtractedPath):
        epath = extract(epath)
    return epath.alias or epath.protocol


def find_common_buckets(cloudpaths: Any) -> defaultdict[str, list[dict[str, Any]]]:
    """Group full cloudpaths by bucket: ``{bucketpath: [{'path', 'start', 'end'}, ...]}``.

    Items are strings or dicts with ``path`` and an optional ``byte_range: (start, end)`` (or
    ``start``/``end``). For ``file://`` paths the "bucket" is the first directory component.
    """
    items, _ = toiter(cloudpaths, is_iter=True)
    clustered: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)

    for item in items:
        start = end = None
        pth = item
        if isinstance(item, dict):
            pth = item["path"]
            byte_range = item.get("byte_range")
            if byte_range:
                start, end = byte_range[0], byte_range[1]
            else:
                start, end = item.get("start"), item.get("end")

        epath = extract(pth)
        if epath.protocol == "file":
            parts = asfilepath(epath).split(os.sep)
            key = os.sep.join(parts[2:])
            bucketpath = "file://" + os.sep.join(parts[:2])
        else:
            key = epath.path or ""
            bucketpath = asbucketpath(epath)

        clustered[bucketpath].append({"path": key, "start": start, "end": end})

    return clustered


# ---------------------------------------------------------------------------------------------------------
# Key joining (used by the interfaces)
# ---------------------------------------------------------------------------------------------------------


def join_key(base_path: str, key: str) -> str:
    """Join a remote prefix and a key with exactly one '/' between them.

    Only the junction is normalised (``'a/' + '/b' -> 'a/b'``); slashes inside either part are kept,
    since object stores treat ``a//b`` as a distinct key. An empty side returns the other side.
    """
    if not base_path:
        return key
    if not key:
        return base_path
    return base_path.rstrip("/") + "/" + key.lstrip("/")


def safe_local_join(root: str, key: str) -> str:
    """``os.path.join(root, key)`` for a key that is guaranteed to stay inside ``root``.

    Raises :class:`UnsafePathError` (a ValueError) if ``key`` is absolute, starts with a drive letter,
    contains a backslash or a NUL byte, or has a ``..`` component. ``'.'`` components and repeated
    slashes are harmless and allowed. The check is lexical: symlinks inside ``root`` are not resolved.
    """
    if not isinstance(key, str):
        raise TypeError(f"key must be a str. Got: {type(key).__name__}")
    if key == "":
        return root
    if _PLAIN_NAME_RE.fullmatch(key) and key != "..":
        return os.path.join(root, key)  # one plain name (the common key): nothing below can apply
    if "\x00" in key:
        raise UnsafePathError(f"Unsafe key {key!r}: it contains a NUL byte.")
    if "\\" in key:
        raise UnsafePathError(f"Unsafe key {key!r}: backslashes are not allowed in keys.")
    if key.startswith("/") or os.path.isabs(key) or _WINDOWS_DRIVE_RE.match(key):
        raise UnsafePathError(f"Unsafe key {key!r}: absolute paths are not allowed.")
    if any(part == ".." for part in key.split("/")):
        raise UnsafePathError(f"Unsafe key {key!r}: '..' would escape the root directory.")
    joined = os.path.join(root, *key.split("/"))
    # Belt and braces: the normalised result must still be under the normalised root.
    norm_root = os.path.normpath(root)
    norm = os.path.normpath(joined)
    if norm != norm_root and not norm.startswith(norm_root.rstrip(os.sep) + os.sep):
        raise UnsafePathError(f"Unsafe key {key!r}: it resolves outside {root!r}.")  # pragma: no cover
    return joined
