"""Input shapes the facade accepts: scalar vs iterable, put items, transfer pairs, caller buffers.

Pure functions, no I/O: they turn what a caller may pass (a str, a dict, a ``(path, content)``
tuple, a generator...) into the one form the pipelines work on, and reject the rest early.
"""

from __future__ import annotations

import builtins
import collections.abc
from typing import Any, cast

from . import compression, paths
from .exceptions import UnsupportedProtocolError
from .lib import jsonify, toiter
from .lib import totalfn as lib_totalfn


def totalfn(files: Any, total: int | None) -> int | None:
    """:func:`cloudfiles.lib.totalfn` (``total`` if given, else ``len(files)`` when the input has a
    length, else None) for the facade, which rejects a negative ``total`` with ValueError. lib's
    keeps cloud-files 6.4.3's behaviour, passing any ``total`` through."""
    if total is not None and total < 0:
        raise ValueError(f"total must be >= 0. Got: {total}")
    return lib_totalfn(files, total)


def put_items(files: Any) -> tuple[Any, bool]:
    """``toiter(files, is_iter=True)`` for puts: a ``(path, content)`` tuple is one item, not two."""
    if isinstance(files, tuple) and len(files) == 2 and isinstance(files[0], str):
        return [files], False
    return cast("tuple[Any, bool]", toiter(files, is_iter=True))


def is_reiterable(obj: Any) -> bool:
    """True for collections that can be iterated twice (lists, tuples, sets, dict views...)."""
    return isinstance(obj, collections.abc.Collection) and not isinstance(obj, collections.abc.Iterator)


def item_dict(file: Any) -> dict[str, Any]:
    """A put item as a dict: ``(path, content)`` -> ``{'path', 'content'}``; dicts as they are."""
    if isinstance(file, dict):
        return file
    if isinstance(file, (tuple, builtins.list)) and len(file) == 2:
        return {"path": file[0], "content": file[1]}
    raise TypeError(f"a put item is a (path, content) tuple or a dict; got {type(file).__name__}")


def path_of_get(item: Any) -> tuple[str, int | None, int | None, Any]:
    """``(path, start, end, tags)`` of a get item: a str or a ``{'path', 'start', 'end', 'tags'}`` dict."""
    if isinstance(item, str):
        return item, None, None, None
    if isinstance(item, dict) and isinstance(item.get("path"), str):
        return item["path"], item.get("start"), item.get("end"), item.get("tags")
    raise TypeError(f"a get path is a str or a dict with 'path'; got {type(item).__name__}")


def transfer_pair(item: Any) -> tuple[str, str, int | None]:
    """``(source name, destination name, stored size or None)`` of one transfer path item."""
    if isinstance(item, str):
        return item, item, None
    if isinstance(item, dict):
        return item["path"], item.get("dest_path") or item["path"], item.get("size")
    if isinstance(item, (tuple, builtins.list)) and len(item) in (2, 3):
        return item[0], item[1], (item[2] if len(item) == 3 else None)
    raise TypeError(f"a transfer path is a str, (src, dest) or {{'path', 'dest_path'}}; got {item!r}")


def split_fullpath(fullpath: str) -> tuple[str, str]:
    """``'gs://b/dir/f'`` -> ``('gs://b/dir', 'f')``: the CloudFiles directory and the key."""
    norm = paths.normalize(fullpath)
    parent, _, name = norm.rstrip("/").rpartition("/")
    if parent.endswith("file://"):
        parent += "/"  # a file directly under the filesystem root
    if not name or not parent or parent.endswith(":/"):
        raise UnsupportedProtocolError(f"{fullpath!r} does not name a file")
    return parent, name


def normalize_compress(value: Any) -> str | None:
    """Validate a ``compress`` value and return the encoding name (None for identity).

    Raises UnsupportedCompressionType (a ValueError) for an unknown codec.
    """
    return compression.normalize_encoding(value)


def jsonify_item(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a put item dict with its content serialized as JSON bytes (the input is not modified)."""
    out = dict(spec)
    out["content"] = jsonify(spec["content"])
    return out


def to_bytes(content: Any) -> Any:
    """Downloaded content as ``bytes`` (None stays None; Python objects stored raw on mem:// as they are)."""
    if type(content) is bytes or content is None:
        return content
    if isinstance(content, (bytearray, memoryview)):
        return bytes(content)
    return content


def writable_view(out: Any) -> memoryview:
    """A flat byte view of a caller's output buffer (no copy); TypeError when it cannot be written."""
    if out is None:
        raise TypeError("get_into needs an output buffer (out=)")
    view = memoryview(out)
    if view.readonly:
        raise TypeError(f"the output buffer ({type(out).__name__}) is read-only")
    if not view.c_contiguous:
        raise TypeError(f"the output buffer ({type(out).__name__}) is not C-contiguous")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def snapshot(content: Any) -> Any:
    """A bytes copy of a buffer (the caller may change it later); other objects as they are."""
    try:
        return memoryview(content).tobytes()
    except TypeError:
        return content


def contiguous(content: Any) -> Any:
    """Buffer-protocol content (numpy arrays...) as-is when C-contiguous (sent without a copy); a strided
    view is copied once into bytes, the only way to send it as one body."""
    try:
        view = memoryview(content)
    except TypeError:
        return content  # a Python object stored raw on mem://
    return content if view.c_contiguous else view.tobytes()


__all__ = [
    "contiguous",
    "is_reiterable",
    "item_dict",
    "jsonify_item",
    "normalize_compress",
    "path_of_get",
    "put_items",
    "snapshot",
    "split_fullpath",
    "to_bytes",
    "totalfn",
    "transfer_pair",
    "writable_view",
]
