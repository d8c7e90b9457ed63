"""Input-shape rules of the facade: scalar vs iterable, and lazy consumption of generators."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from cloudfiles import CloudFiles
from cloudfiles.cloudfiles import RESULT_KEYS, totalfn
from cloudfiles.exceptions import UnsupportedProtocolError
from cloudfiles.lib import toiter

_counter = itertools.count()


@pytest.fixture
def cf() -> CloudFiles:
    return CloudFiles(f"mem://shapes-{next(_counter)}")


# -- toiter ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scalar", ["path", {"path": "p", "start": 0}])
def test_toiter_scalars(scalar: Any) -> None:
    items, multiple = toiter(scalar, is_iter=True)
    assert multiple is False and list(items) == [scalar]


@pytest.mark.parametrize("value", [["a"], ("a",), {"a"}, iter(["a"]), (x for x in ["a"])])
def test_toiter_iterables(value: Any) -> None:
    items, multiple = toiter(value, is_iter=True)
    assert multiple is True and items is value


def test_totalfn() -> None:
    assert totalfn([1, 2], None) == 2
    assert totalfn(iter([1]), None) is None
    assert totalfn(iter([1]), 5) == 5
    with pytest.raises(ValueError):
        totalfn([], -1)


# -- scalar in, scalar out -----------------------------------------------------------------------------
def test_scalar_vs_multiple_returns(cf: CloudFiles) -> None:
    cf.put("a", b"1")
    assert cf.get("a") == b"1"
    assert cf.get({"path": "a"}) == b"1"
    assert isinstance(cf.get(["a"]), list)
    assert set(cf.get(["a"])[0]) == set(RESULT_KEYS)
    assert cf.exists("a") is True and cf.exists(["a"]) == {"a": True}
    assert cf.size("a") == 1 and cf.size(["a"]) == {"a": 1}
    assert isinstance(cf.head("a"), dict) and set(cf.head(["a"])) == {"a"}
    assert cf.get_acl("a") == {"a": None} and cf.get_acl(["a"]) == {"a": None}  # as cloud-files
    assert CloudFiles(cf.cloudpath, consistent_shapes=True).get_acl("a") is None
    assert cf.get_json(["a"]) == [1] and cf.get_json("a") == 1
    assert cf.delete("a") == 1


def test_whole_object_results_are_not_tracked_by_the_cyclic_gc(cf: CloudFiles) -> None:
    # A result dict of atomic values (str, bytes, None, one shared tuple of None) is never walked by the
    # cyclic GC, so a list of a million results adds nothing to its collections; a fresh (None, None) per
    # result made every one a tracked container.
    cf.puts([(f"plain{i}", b"x" * i) for i in range(20)], compress=None)
    cf.puts([(f"gz{i}", b"y" * i) for i in range(20)], compress="gzip")
    results = cf.get([*(f"plain{i}" for i in range(20)), *(f"gz{i}" for i in range(20)), "missing"])
    assert len(results) == 41
    assert [r for r in results if gc.is_tracked(r)] == []
    assert {r["byte_range"] for r in results} == {(None, None)}
    assert {r["path"]: r["content"] for r in results}["gz7"] == b"y" * 7
    ranged = cf.get([{"path": "plain10", "start": 2, "end": 5}, {"path": "gz9", "start": None, "end": None}])
    assert sorted((r["path"], r["byte_range"], r["content"]) for r in ranged) == [
        ("gz9", (None, None), b"y" * 9),
        ("plain10", (2, 5), b"xxx"),
    ]


def test_empty_iterables(cf: CloudFiles) -> None:
    assert cf.get([]) == []
    assert cf.get([], return_dict=True) == {}
    assert cf.exists([]) == {}
    assert cf.size([], return_sum=True) == 0
    assert cf.puts([]) == 0
    assert cf.delete([]) == 0
    assert cf.get_json([]) == []


def test_return_recording_shapes(cf: CloudFiles) -> None:
    from cloudfiles.monitoring import TransmissionMonitor

    count, tm = cf.puts([("r", b"12345")], return_recording=True)
    assert count == 1 and isinstance(tm, TransmissionMonitor)
    data, tm = cf.get("r", return_recording=True)
    assert data == b"12345" and isinstance(tm, TransmissionMonitor)


def test_constructor_options() -> None:
    cf = CloudFiles("mem://opts", progress="label", num_threads=7, parallel=3)
    assert cf.num_threads == 0  # mem runs inline
    assert cf.parallel == 3 and cf.progress == "label" and cf.protocol == "mem" and cf.sep == "/"
    with pytest.raises(TypeError):
        CloudFiles("mem://opts", False)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        CloudFiles("mem://opts", request_payer="me")
    with pytest.raises(ValueError):
        CloudFiles("mem://opts", parallel=-1)
    with pytest.raises(UnsupportedProtocolError):
        CloudFiles("nosuchscheme://bucket/x")


def test_path_helpers(cf: CloudFiles) -> None:
    assert cf.join("a", "b", "c") == "a/b/c" and cf.join() == ""
    assert cf.dirname("a/b/c") == "a/b" and cf.basename("a/b/c") == "c"
    assert cf.abspath("k") == f"{cf.cloudpath.rstrip('/')}/k"


def test_pickle_round_trip(cf: CloudFiles) -> None:
    import pickle

    cf.put("p", b"1")
    clone = pickle.loads(pickle.dumps(cf))
    assert clone.get("p") == b"1" and clone.cloudpath == cf.cloudpath


def test_puts_does_not_consume_plain_iterators_for_the_duplicate_check(cf: CloudFiles) -> None:
    # cloud-files materialized any non-generator to look for duplicates, emptying map()/iter() inputs.
    assert cf.puts(map(lambda i: (f"m{i}", b"x"), range(5))) == 5
    assert cf.puts(iter([("i1", b"x"), ("i1", b"y")])) == 2  # not checkable without materializing


def test_puts_validates_whole_list_before_writing(cf: CloudFiles) -> None:
    with pytest.raises(ValueError):
        cf.puts([("a", b"1"), {"path": "b", "content": b"2", "compress": "nope"}])
    assert cf.exists(["a", "b"]) == {"a": False, "b": False}


# -- laziness ---------------------------------------------------------------------------------------------
class Gauge:
    """Counts items produced by an input generator and results consumed from the interface."""

    def __init__(self, limit: int) -> None:
        self.produced = 0
        self.finished = 0
        self.limit = limit
        self.max_ahead = 0

    def paths(self, n: int, make: Any = lambda i: f"k{i}") -> Iterator[Any]:
        for i in range(n):
            ahead = self.produced - self.finished
            self.max_ahead = max(self.max_ahead, ahead)
            if ahead > self.limit:
                raise AssertionError(f"input consumed {ahead} items ahead of the results")
            self.produced += 1
            yield make(i)

    def wrap(self, method: Any) -> Any:
        def spy(items: Iterable[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
            for res in method(items, *args, **kwargs):
                self.finished += 1
                yield res

        return spy


@pytest.mark.parametrize(
    "method", ["get", "exists", "head", "size", "delete"],
)
def test_generators_are_consumed_lazily(cf: CloudFiles, method: str) -> None:
    gauge = Gauge(limit=16)
    iface = cf.interface
    name = {
        "get": "get_files", "exists": "exists_files", "head": "head_files",
        "size": "size_files", "delete": "delete_files",
    }[method]
    setattr(iface, name, gauge.wrap(getattr(iface, name)))
    n = 5000
    result = getattr(cf, method)(gauge.paths(n))
    assert gauge.produced == n
    if method == "delete":
        assert result == n
    else:
        assert len(result) == n


def test_puts_generator_consumed_lazily(cf: CloudFiles) -> None:
    gauge = Gauge(limit=16)
    iface = cf.interface
    iface.put_files = gauge.wrap(iface.put_files)  # type: ignore[method-assign]
    assert cf.puts(gauge.paths(3000, lambda i: (f"k{i}", b"x" * 10)), compress="gzip") == 3000
    assert gauge.produced == 3000


def test_get_stops_consuming_after_an_error(cf: CloudFiles) -> None:
    cf.puts([("bad", b"not gzip")], raw=True, compress="gzip")
    pulled: list[str] = []

    def paths() -> Iterator[str]:
        for i in itertools.count():
            name = "bad" if i == 3 else f"ok{i}"
            pulled.append(name)
            yield name
            if i > 10000:
                raise AssertionError("kept consuming after the error")

    with pytest.raises(ValueError):
        cf.get(paths())
    assert len(pulled) < 100


def test_list_is_lazy(cf: CloudFiles) -> None:
    cf.puts([(f"l{i}", b"") for i in range(10)])
    gen = cf.list()
    assert next(gen).startswith("l")
    gen.close()


# -- codec pool -------------------------------------------------------------------------------------------
def test_imap_ordered_keeps_order_and_bounds_lookahead() -> None:
    from cloudfiles import codecpool

    pulled = 0

    def items() -> Iterator[int]:
        nonlocal pulled
        for i in range(200):
            pulled += 1
            yield i

    out = []
    for i, value in enumerate(
        codecpool.imap_ordered(lambda x: x * 2, items(), size_of=lambda x: 10**6 if x % 3 else 0, ahead=4)
    ):
        assert pulled - i <= 6
        out.append(value)
    assert out == [2 * i for i in range(200)]


def test_completion_queue_returns_everything() -> None:
    from cloudfiles import codecpool

    queue: codecpool.CompletionQueue[int] = codecpool.CompletionQueue(max_pending=3)
    got: list[int] = []
    for i in range(50):
        queue.submit(lambda i=i: i, nbytes=10**6 if i % 2 else 0)  # type: ignore[misc]
        got.extend(queue.ready())
    got.extend(queue.drain())
    assert sorted(got) == list(range(50))
