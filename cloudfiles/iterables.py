"""Iteration helpers: scalar-or-iterable inputs, batching, first/duplicates/scatter, progress totals."""

from __future__ import annotations

import itertools
import types
from collections.abc import Generator, Iterable, Sequence
from typing import Any, TypeVar, cast

__all__ = [
    "duplicates",
    "first",
    "floating",
    "nvl",
    "path_to_byte_range_tags",
    "scatter",
    "sip",
    "toiter",
    "totalfn",
]

T = TypeVar("T")


def nvl(*args: Any) -> Any:
    """Return the leftmost argument that is not None (the last argument if all are None)."""
    if len(args) < 2:
        raise IndexError("nvl takes at least two arguments.")
    for arg in args:
        if arg is not None:
            return arg
    return args[-1]


def sip(iterable: Iterable[T], block_size: int | None) -> Generator[list[T], None, None]:
    """Lazily cut ``iterable`` into lists of ``block_size`` items (the last one may be shorter).

    Only one block is held in memory at a time, so generators of any length can be streamed. A
    ``block_size`` that is None or below 1 yields everything as one block, as cloud-files' ``sip`` does
    (CloudVolume passes ``block_size=None`` through ``transfer_to`` for sharded volumes).
    """
    if block_size is None or block_size < 1:
        whole = list(iterable)
        if whole:
            yield whole
        return
    iterator = iter(iterable)
    while True:
        block = list(itertools.islice(iterator, block_size))
        if not block:
            return
        yield block


def first(lst: Iterable[T]) -> T | None:
    """The first element of a sequence, iterator or generator (consumed from generators); None if empty."""
    if isinstance(lst, types.GeneratorType):
        return cast(T, next(lst, None))
    try:
        return cast(Sequence[T], lst)[0]
    except IndexError:
        return None
    except (TypeError, KeyError):
        return next(iter(lst), None)


def toiter(obj: Any, is_iter: bool = False) -> Any:
    """Turn a scalar into a one-element list and leave iterables alone.

    ``str`` and ``dict`` count as scalars (a path, or a ``{'path': ..}`` item); anything else iterable
    (list, tuple, set, generator, iterator, a CloudFiles listing...) counts as multiple items.

    With ``is_iter=True`` returns ``(iterable, is_multiple)`` where ``is_multiple`` is False for a
    scalar input, exactly as cloud-files does; otherwise just the iterable.
    """
    if isinstance(obj, (str, dict)):
        return ([obj], False) if is_iter else [obj]
    try:
        iter(obj)
    except TypeError:
        return ([obj], False) if is_iter else [obj]
    return (obj, True) if is_iter else obj


def path_to_byte_range_tags(path: str | dict[str, Any]) -> tuple[str, int | None, int | None, Any]:
    """A ``get`` item as ``(path, start, end, tags)``: a str is the whole object, a dict may carry
    ``start``/``end`` (end exclusive) and ``tags``."""
    if isinstance(path, str):
        return (path, None, None, None)
    return (path["path"], path.get("start"), path.get("end"), path.get("tags"))


def duplicates(lst: Iterable[T]) -> set[T]:
    """The set of elements that occur more than once in ``lst``."""
    seen: set[T] = set()
    dupes: set[T] = set()
    for elem in lst:
        if elem in seen:
            dupes.add(elem)
        else:
            seen.add(elem)
    return dupes


def scatter(sequence: Iterable[T], n: int) -> Generator[list[T], None, None]:
    """Deal the elements of ``sequence`` round-robin into ``n`` lists (a generator of ``n`` lists)."""
    if n < 1:
        raise ValueError(f"n cannot be less than one. Got: {n}")
    items = list(sequence)
    for i in range(n):
        yield items[i::n]


def totalfn(files: Any, total: int | None) -> int | None:
    """``total`` if given, else ``len(files)`` if it has a length, else None (for progress bars)."""
    if total is not None:
        return total
    try:
        return len(files)
    except TypeError:
        return None


def floating(lst: Iterable[Any]) -> bool:
    """True if any element of ``lst`` is a float."""
    return any(isinstance(x, float) for x in lst)
