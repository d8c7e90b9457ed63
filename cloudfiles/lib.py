"""Small helpers shared by every layer: colours, retry decorator, JSON, human sizes, and the re-exported
names of :mod:`cloudfiles.checksums`, :mod:`cloudfiles.iterables` and :mod:`cloudfiles.localfs`.

The names match ``cloudfiles.lib`` of cloud-files 6.4.3 where users plausibly import them (``md5``,
``crc32c``, ``md5_equal``, ``calc_s3_multipart_etag``, ``toiter``, ``sip``, ``mkdir``, ``touch``,
``jsonify``, ``first``, ``nvl``, ``duplicates``, ``scatter``, ``colorize``...), so ``from cloudfiles.lib
import X`` keeps working for all of them.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import orjson

from .checksums import (
    COMMON_S3_PART_SIZES,
    CRC32C_BACKEND,
    PARALLEL_MD5_MIN,
    calc_s3_multipart_etag,
    crc32c,
    crc32c_combine,
    crc32c_to_b64,
    decode_crc32c_b64,
    encode_crc32c_b64,
    md5,
    md5_equal,
    validate_s3_multipart_etag,
)
from .iterables import (
    duplicates,
    first,
    floating,
    nvl,
    path_to_byte_range_tags,
    scatter,
    sip,
    toiter,
    totalfn,
)
from .localfs import mkdir, toabs, touch

__all__ = [
    "COLORS",
    "COMMON_S3_PART_SIZES",
    "CRC32C_BACKEND",
    "PARALLEL_MD5_MIN",
    "STRING_TYPES",
    "calc_s3_multipart_etag",
    "colorize",
    "crc32c",
    "crc32c_combine",
    "crc32c_to_b64",
    "decode_crc32c_b64",
    "duplicates",
    "encode_crc32c_b64",
    "first",
    "floating",
    "green",
    "human_size",
    "jsonify",
    "md5",
    "md5_equal",
    "mkdir",
    "nvl",
    "path_to_byte_range_tags",
    "red",
    "retry",
    "retrying",
    "scatter",
    "sip",
    "toabs",
    "toiter",
    "totalfn",
    "touch",
    "validate_s3_multipart_etag",
    "yellow",
]

F = TypeVar("F", bound=Callable[..., Any])

# Kept for compatibility with code written against cloud-files (it tested ``isinstance(x, STRING_TYPES)``).
STRING_TYPES = (str,)

COLORS = {
    "RESET": "\033[m",
    "YELLOW": "\033[1;93m",
    "RED": "\033[1;91m",
    "GREEN": "\033[1;92m",
}


def colorize(color: str, text: str) -> str:
    """Wrap ``text`` in the ANSI escape codes of ``color`` (red, green or yellow)."""
    return COLORS[color.upper()] + text + COLORS["RESET"]


def green(text: str) -> str:
    """``text`` in bold green."""
    return colorize("green", text)


def yellow(text: str) -> str:
    """``text`` in bold yellow."""
    return colorize("yellow", text)


def red(text: str) -> str:
    """``text`` in bold red."""
    return colorize("red", text)


#: cloud-files' retry policy for these helpers: 7 tries, waits drawn from [0, 0.5 * 2**n] (max 60 s).
RETRY_ATTEMPTS = 7
RETRY_BASE_SEC = 0.5
RETRY_MAX_SEC = 60.0


def retrying(
    no_retry: tuple[type[BaseException], ...] = (), attempts: int = RETRY_ATTEMPTS
) -> Callable[[F], F]:
    """A decorator that calls the function again when it raises, up to ``attempts`` tries in all.

    Waits before retry n (0-based) are drawn uniformly from ``[0, min(60, 0.5 * 2**n)]`` (full-jitter
    exponential backoff). Exceptions of the ``no_retry`` types are raised at once; after the last try
    the last exception is raised as is.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(attempts):
                try:
                    return fn(*args, **kwargs)
                except no_retry:
                    raise
                except Exception:
                    if attempt + 1 >= attempts:
                        raise
                    # Jitter only spreads retries out; it needs no cryptographic randomness.
                    wait = random.uniform(0.0, min(RETRY_MAX_SEC, RETRY_BASE_SEC * 2**attempt))  # noqa: S311
                    time.sleep(wait)
            raise AssertionError("unreachable")  # pragma: no cover

        return cast(F, wrapper)

    return decorate


def retry(f: F) -> F:
    """cloud-files' ``@retry``: retry ``f`` on any exception (7 tries, jittered exponential backoff)."""
    return retrying()(f)


def human_size(num_bytes: float, binary: bool = True, precision: int = 2) -> str:
    """Format a byte count for people: ``1536 -> '1.50 KiB'`` (``binary=False``: powers of 1000, kB...)."""
    base = 1024.0 if binary else 1000.0
    units = (
        ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
        if binary
        else ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    )
    value = float(num_bytes)
    if abs(value) < base:
        return f"{int(value)} B" if value == int(value) else f"{value:.{precision}f} B"
    for unit in units[1:]:
        value /= base
        if abs(value) < base or unit == units[-1]:
            return f"{value:.{precision}f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def jsonify(obj: Any, **kwargs: Any) -> bytes:
    """Serialise ``obj`` to JSON with orjson, numpy arrays/scalars and non-string keys allowed.

    Returns ``bytes`` (UTF-8), as cloud-files 6.4.3 does (it returns ``orjson.dumps`` output directly).
    Extra orjson options may be passed as ``option=`` and are OR-ed in; ``default=`` is forwarded.
    """
    option = _JSON_OPTIONS | int(kwargs.pop("option", 0) or 0)
    return orjson.dumps(obj, option=option, **kwargs)
