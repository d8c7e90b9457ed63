"""Range coalescing: many small byte ranges of one object fetched as a few larger requests.

Sharded formats (neuroglancer precomputed shards read by CloudVolume) ask for thousands of small
ranges of the same few objects. On a network store each request costs a round trip and per-request
CPU (signing, a curl transfer, a result) far above the cost of reading a few hundred KiB more, so
nearby ranges are merged into one request and each caller's range is sliced back out of it.

:func:`plan_ranges` is the pure planner (ranges in, merged spans and who they serve out);
:func:`coalesced_gets` applies it to a stream of :class:`GetItem` around an interface's ``get_files``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from .interfaces.base import GetItem, GetResult

#: Merge two ranges when at most this many unrequested bytes lie between them (object_store's
#: coalesce_ranges default): reading 1 MiB more costs well under one request's round trip on S3/GCS.
MAX_GAP = 1 << 20
#: Largest merged request. Big enough that dense shards need few requests (a 64 MiB shard: 4), small
#: enough that one batch still spreads over several connections and one failure re-reads little,
#: and that the buffers of ``concurrency`` merged requests in flight stay a few hundred MiB at most.
MAX_SIZE = 16 << 20
#: Ranged items read from the input before they are planned: the merge only sees ranges of one window,
#: so a small window re-reads the same spans once per window (4096 read 3x the bytes of 16384 for
#: 10k ranges of 20 x 64 MiB). The items held cost ~100 bytes each; the first request waits for the
#: window to fill, which takes milliseconds for an in-memory list.
WINDOW = 16384


@dataclass(frozen=True, slots=True)
class Span:
    """One merged request ``[start, end)`` and the indices (into the planner's input) it serves."""

    start: int
    end: int
    members: tuple[int, ...]


def plan_ranges(
    ranges: Sequence[tuple[int, int]], *, max_gap: int = MAX_GAP, max_size: int = MAX_SIZE
) -> list[Span]:
    """Merge half-open ``(start, end)`` ranges (``0 <= start < end``) into spans, in start order.

    Consecutive ranges (sorted by start) join a span when the gap before them is at most ``max_gap``
    and the span would stay within ``max_size`` bytes. A range larger than ``max_size`` on its own
    is one span (never split). Overlapping and duplicate ranges are served by one span where the cap
    allows. Every input index appears in exactly one span.
    """
    order = sorted(range(len(ranges)), key=lambda i: ranges[i])
    spans: list[Span] = []
    members: list[int] = []
    lo = hi = 0
    for i in order:
        start, end = ranges[i]
        if members and start - hi <= max_gap and max(hi, end) - lo <= max_size:
            members.append(i)
            hi = max(hi, end)
            continue
        if members:
            spans.append(Span(lo, hi, tuple(members)))
        members = [i]
        lo, hi = start, end
    if members:
        spans.append(Span(lo, hi, tuple(members)))
    return spans


def byte_span(item: GetItem) -> tuple[int, int] | None:
    """``(start, end)`` of a bounded, non-empty range that can be cut out of a larger one; else None.

    Whole objects, open ends (the object's size is unknown), suffix ranges (negative start) and empty
    or invalid ranges are sent as they are, so they keep their own answers.
    """
    end = item.end
    if end is None:
        return None
    start = 0 if item.start is None else item.start
    if start < 0 or end <= start:
        return None
    return start, end


def split_result(res: GetResult, start: int, originals: Sequence[GetItem]) -> Iterator[GetResult]:
    """The result of each original range, cut from the result of the merged request at ``start``.

    A failed merged request fails each range with its error; a missing object is missing for each.
    Bytes past the object's end are absent from the merged body exactly as from a single ranged GET
    (a short slice, or ``b""`` when the range starts past the end).
    """
    content = res.content
    if res.error is not None or content is None:
        for item in originals:
            yield GetResult(item=item, error=res.error)
        return
    view = memoryview(content)
    for item in originals:
        lo, hi = byte_span(item) or (0, 0)
        yield GetResult(item=item, content=view[lo - start : hi - start], encoding=res.encoding)


def coalesced_gets(
    get_files: Callable[[Iterable[GetItem]], Iterator[GetResult]],
    items: Iterable[GetItem],
    *,
    window: int = WINDOW,
    max_gap: int = MAX_GAP,
    max_size: int = MAX_SIZE,
) -> Iterator[GetResult]:
    """``get_files(items)`` with nearby ranges of one path merged; one result per input item.

    Items that cannot be cut from a larger range go out as soon as they are read; ranged ones are
    gathered ``window`` at a time, grouped by path and ``part_size`` and planned. Results come in
    completion order (the ranges of one merged request together).
    """
    # merged item's id -> (the merged item, kept alive so the id stays its own; the ranges it serves)
    pending: dict[int, tuple[GetItem, list[GetItem]]] = {}

    def plan_window(ranged: dict[tuple[str, int | None], list[GetItem]]) -> Iterator[GetItem]:
        for (path, part_size), group in ranged.items():
            spans = plan_ranges([byte_span(item) or (0, 0) for item in group], max_gap=max_gap, max_size=max_size)
            for span in spans:
                if len(span.members) == 1:
                    yield group[span.members[0]]  # nothing merged: the caller's own request
                    continue
                merged = GetItem(path=path, start=span.start, end=span.end, part_size=part_size)
                pending[id(merged)] = (merged, [group[m] for m in span.members])
                yield merged

    def requests() -> Iterator[GetItem]:
        ranged: dict[tuple[str, int | None], list[GetItem]] = {}
        held = 0
        for item in items:
            if byte_span(item) is None:
                yield item
                continue
            ranged.setdefault((item.path, item.part_size), []).append(item)
            held += 1
            if held >= window:
                yield from plan_window(ranged)
                ranged, held = {}, 0
        yield from plan_window(ranged)

    results = get_files(requests())
    try:
        for res in results:
            entry = pending.pop(id(res.item), None)
            if entry is None:
                yield res
                continue
            yield from split_result(res, res.item.start or 0, entry[1])
    finally:
        # Closed early (an error raised by the caller): stop the transfers in flight now.
        close = getattr(results, "close", None)
        if close is not None:
            close()


__all__ = ["MAX_GAP", "MAX_SIZE", "WINDOW", "Span", "byte_span", "coalesced_gets", "plan_ranges", "split_result"]
