"""cloudfiles.coalesce: the range planner, and merged results sliced back per range (no sockets)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudfiles import coalesce
from cloudfiles.coalesce import Span, byte_span, coalesced_gets, plan_ranges
from cloudfiles.exceptions import CloudFilesError
from cloudfiles.interfaces.base import GetItem, GetResult

KiB = 1 << 10
MiB = 1 << 20


# -- planner -----------------------------------------------------------------------------------------
def test_small_gaps_merge_large_gaps_do_not() -> None:
    spans = plan_ranges([(0, 10), (20, 30), (30 + MiB + 1, 30 + MiB + 5)], max_gap=MiB)
    assert spans == [Span(0, 30, (0, 1)), Span(30 + MiB + 1, 30 + MiB + 5, (2,))]


def test_gap_exactly_max_gap_merges() -> None:
    assert plan_ranges([(0, 10), (10 + MiB, 20 + MiB)], max_gap=MiB) == [Span(0, 20 + MiB, (0, 1))]


def test_input_order_does_not_matter() -> None:
    assert plan_ranges([(100, 200), (0, 50)]) == [Span(0, 200, (1, 0))]


def test_overlaps_and_duplicates_share_a_span() -> None:
    spans = plan_ranges([(0, 100), (50, 80), (0, 100), (90, 300)])
    assert spans == [Span(0, 300, (0, 2, 1, 3))]


def test_size_cap_starts_a_new_span() -> None:
    spans = plan_ranges([(0, 4 * KiB), (8 * KiB, 12 * KiB), (16 * KiB, 20 * KiB)], max_size=12 * KiB)
    assert spans == [Span(0, 12 * KiB, (0, 1)), Span(16 * KiB, 20 * KiB, (2,))]


def test_a_range_over_the_cap_is_one_span_never_split() -> None:
    assert plan_ranges([(0, 100), (10, 50)], max_size=40) == [Span(0, 100, (0,)), Span(10, 50, (1,))]


def test_empty_input() -> None:
    assert plan_ranges([]) == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5000), st.integers(1, 600)), max_size=60),
    st.integers(0, 2000),
    st.integers(1, 4000),
)
def test_plan_properties(raw: list[tuple[int, int]], gap: int, cap: int) -> None:
    ranges = [(s, s + n) for s, n in raw]
    spans = plan_ranges(ranges, max_gap=gap, max_size=cap)
    served = sorted(i for span in spans for i in span.members)
    assert served == list(range(len(ranges)))  # each range once
    for span in spans:
        for i in span.members:
            assert span.start <= ranges[i][0] and ranges[i][1] <= span.end  # covered
        assert span.end - span.start <= cap or len(span.members) == 1  # capped unless one big range
        assert span.start == min(ranges[i][0] for i in span.members)
        assert span.end == max(ranges[i][1] for i in span.members)


@pytest.mark.parametrize(
    ("start", "end", "span"),
    [
        (None, None, None),  # whole object
        (5, None, None),  # open end: the size is unknown
        (-10, None, None),  # suffix range
        (10, 10, None),  # empty: answered without a request
        (10, 5, None),
        (None, 7, (0, 7)),  # start None means 0
        (3, 7, (3, 7)),
    ],
)
def test_byte_span(start: int | None, end: int | None, span: tuple[int, int] | None) -> None:
    assert byte_span(GetItem("k", start, end)) == span


# -- merged results sliced back --------------------------------------------------------------------
class FakeStore:
    """A get_files over in-memory objects answering ranges like an HTTP store; counts requests."""

    def __init__(self, objects: dict[str, bytes], fail: frozenset[str] = frozenset()) -> None:
        self.objects = objects
        self.fail = fail
        self.requests: list[GetItem] = []

    def get_files(self, items: Iterable[GetItem]) -> Iterator[GetResult]:
        for item in items:
            self.requests.append(item)
            if item.path in self.fail:
                yield GetResult(item=item, error=CloudFilesError(f"boom {item.path}"))
                continue
            data = self.objects.get(item.path)
            if data is None:
                yield GetResult(item=item)
                continue
            yield GetResult(item=item, content=bytearray(data[item.start : item.end]), encoding="gzip")


def _as_dicts(results: Iterable[GetResult]) -> list[tuple[int, bytes | None, str | None, str | None]]:
    out = []
    for r in results:
        content = None if r.content is None else bytes(r.content)
        out.append((r.item.tags, content, r.encoding, None if r.error is None else str(r.error)))
    return sorted(out, key=lambda t: t[0])


def test_results_equal_single_ranged_gets() -> None:
    rng = random.Random(7)
    objects = {f"s{i}": rng.randbytes(200 * KiB) for i in range(3)}
    items = []
    for i in range(300):
        path = f"s{rng.randrange(4)}"  # s3 is missing
        start = rng.randrange(-10, 210 * KiB)
        end = rng.choice([None, start + rng.randrange(0, 4 * KiB), start - 1])
        if rng.random() < 0.05:
            start = None
        items.append(GetItem(path, start, end, tags=i))
    items += [GetItem("s0", 100, 200, tags=1000), GetItem("s0", 100, 200, tags=1001)]  # duplicates

    direct = FakeStore(objects)
    merged = FakeStore(objects)
    want = _as_dicts(direct.get_files(items))
    got = _as_dicts(coalesced_gets(merged.get_files, items, max_gap=16 * KiB, max_size=64 * KiB))
    assert got == want
    alone = sum(byte_span(item) is None for item in items)  # whole, open, suffix, empty: sent as they are
    assert len(direct.requests) - alone > 80
    assert len(merged.requests) - alone <= 30  # 4 paths x ~210 KiB in spans of at most 64 KiB


def test_a_failed_merged_request_fails_each_range() -> None:
    store = FakeStore({"a": b"x" * 1000}, fail=frozenset({"a"}))
    items = [GetItem("a", i * 10, i * 10 + 5, tags=i) for i in range(5)]
    got = _as_dicts(coalesced_gets(store.get_files, items))
    assert len(store.requests) == 1
    assert got == [(i, None, None, "boom a") for i in range(5)]


def test_window_bounds_what_is_held() -> None:
    store = FakeStore({"a": bytes(range(256)) * 40})
    items = [GetItem("a", i, i + 3, tags=i) for i in range(10)]
    got = _as_dicts(coalesced_gets(store.get_files, items, window=4))
    assert [c for _, c, _, _ in got] == [bytes(range(i, i + 3)) for i in range(10)]
    assert len(store.requests) == 3  # windows of 4, 4, 2


def test_defaults_are_sane() -> None:
    assert MiB == coalesce.MAX_GAP
    assert MiB < coalesce.MAX_SIZE <= 64 * MiB
