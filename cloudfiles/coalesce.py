"""Range coalescing: many small byte ranges of one object fetched as a few larger requests.

Sharded formats (neuroglancer precomputed shards read by CloudVolume) ask for thousands of small
ranges of the same few objects. On a network store each request costs a round trip and per-request
CPU (signing, a curl transfer, a result) far above the cost of reading a few hundred KiB more, so
nearby ranges are merged into one request and each caller's range is sliced back out of it.

:func:`plan_ranges` is the pure planner (ranges in, merged spans and who they serve out);
:func:`coalesced_gets` applies it to a stream of :class:`GetItem` around an interface's ``get_files``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from .interfaces.base import GetItem, GetResult

#: Merge two ranges when at most this many unrequested bytes lie between them (``coalesce_gap``).
#:
#: Cost model: merging a gap of G bytes costs G / B of one connection's time (B: its throughput) plus
#: the CPU to receive G; a separate request costs T (request setup + time to first byte) of a
#: connection plus per-request CPU on both ends and the store's request fee. Merge while G < T * B
#: (Arrow's pre-buffer cache derives its hole size limit the same way). On S3/GCS in-region, T is
#: ~20-100 ms and B ~50-100 MB/s per connection, so the break-even gap is 1-10 MB, and in-region
#: bytes are free while requests are billed: 1 MiB (object_store's default) is on the safe side.
#: Measured on a local SeaweedFS (``bench/bench_shard.py``: 10k random 1-4 KiB ranges of 20 x 64 MiB,
#: ~0.5 ms of server CPU per request, ~2 ns per byte on both ends together): 256 KiB-1 MiB were alike
#: in ranges/s (within the noise of a shared machine) at 83-115 client CPU-µs per range, while 0-64 KiB
#: sent 6-10k requests and cost more CPU on both ends. Lower it when bytes are dear: reading across
#: regions or the internet is billed $0.02-0.09/GB, so a 1 MiB gap costs as much as 50-200 GET fees
#: ($0.0004 per 1,000) and the money break-even gap is ~4-20 KB.
MAX_GAP = 1 << 20
#: Largest merged request (AWS suggests 8-16 MB byte-range fetches). Big enough that dense shards
#: need few requests (a 64 MiB shard: 4; at T * B ~2 MB a request costs ~12% of its transfer), small
#: enough that one batch still spreads over several connections and one failure re-reads little,
#: and that the buffers of ``concurrency`` merged requests in flight stay a few hundred MiB at most.
MAX_SIZE = 16 << 20
#: Ranged items read from the input before they are planned: the merge only sees ranges of one window,
#: so a small window re-reads the same spans once per window (4096 read 3x the bytes of 16384 for
#: 10k ranges of 20 x 64 MiB). The items held cost ~100 bytes each; the first request waits for the
#: window to fill, which takes milliseconds for an in-memory list.
WINDOW = 16384
#: names the merge gap (bytes) used when ``CloudFiles(coalesce_gap=None)``
GAP_ENV = "CLOUDFILES_COALESCE_GAP"


def max_gap_for(option: int | None, environ: Mapping[str, str] | None = None) -> int:
    """The merge gap in bytes: ``option`` when given, else ``$CLOUDFILES_COALESCE_GAP``, else :data:`MAX_GAP`.

    ``0`` merges only ranges that touch or overlap. Raises ValueError for a negative or non-integer value.
    """
    if option is None:
        value = (os.environ if environ is None else environ).get(GAP_ENV, "").strip()
        if not value:
            return MAX_GAP
        try:
            option = int(value)
        except ValueError:
            raise ValueError(f"{GAP_ENV} must be a whole number of bytes, got {value!r}") from None
        source = GAP_ENV
    else:
        source = "coalesce_gap"
    if isinstance(option, bool) or not isinstance(option, int):
        raise TypeError(f"{source} must be an int (bytes) or None, got {type(option).__name__}")
    if option < 0:
        raise ValueError(f"{source} must be >= 0, got {option}")
    return option


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
            if item.end is None or byte_span(item) is None:  # (an open end: the common whole GET, checked first)
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
            entry = pending.pop(id(res.item), None) if pending else None
            if entry is None:
                yield res
                continue
            yield from split_result(res, res.item.start or 0, entry[1])
    finally:
        # Closed early (an error raised by the caller): stop the transfers in flight now.
        close = getattr(results, "close", None)
        if close is not None:
            close()


__all__ = ["GAP_ENV", "MAX_GAP", "MAX_SIZE", "WINDOW", "Span", "byte_span", "coalesced_gets", "max_gap_for", "plan_ranges", "split_result"]
