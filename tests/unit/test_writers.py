"""cloudfiles.interfaces.writers.threaded: a lazy completion-ordered map on a few threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from cloudfiles.interfaces import writers
from cloudfiles.interfaces.writers import threaded


def _names() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name == "cloudfiles-file"}


@pytest.mark.parametrize("workers", [1, 2, 8])
def test_every_item_once(workers: int) -> None:
    assert sorted(threaded(lambda x: x * 2, range(1000), workers)) == [x * 2 for x in range(1000)]
    assert not _names()


def test_one_item_or_one_worker_runs_inline() -> None:
    me = threading.get_ident()
    assert list(threaded(lambda _: threading.get_ident(), [1], 8)) == [me]
    assert set(threaded(lambda _: threading.get_ident(), range(5), 1)) == {me}


def _first_result_after_pulling(workers: int, cost: int | None) -> tuple[int, list[int]]:
    """How many items the caller had read from its input when the first result came back (the
    workers are held until then), and every result."""
    gate = threading.Event()
    pulled: list[int] = []

    def source() -> Iterator[int]:
        for i in range(100):
            pulled.append(i)
            yield i

    def blocked(x: int) -> int:
        gate.wait()
        return x

    it = threaded(blocked, source(), workers, cost=None if cost is None else (lambda _: cost))
    # The caller fills its window, then waits for a result; the workers are let go meanwhile.
    releaser = threading.Timer(0.05, gate.set)
    releaser.start()
    first = next(it)
    n = len(pulled)  # the generator is suspended: nothing more is read until it resumes
    rest = [first, *it]
    releaser.join()
    return n, rest


def test_input_is_read_at_most_a_window_ahead() -> None:
    n, results = _first_result_after_pulling(2, None)
    assert n == writers.WINDOW_PER_WORKER * 2
    assert sorted(results) == list(range(100))


def test_cost_bounds_the_bytes_read_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers, "WINDOW_BYTES", 10)
    n, results = _first_result_after_pulling(2, 100)
    assert n == 3  # one item per worker, plus the one that went over the byte window
    assert sorted(results) == list(range(100))


def test_an_exception_is_raised_in_the_caller_and_threads_end() -> None:
    def fn(x: int) -> int:
        if x == 7:
            raise KeyError(x)
        return x

    with pytest.raises(KeyError):
        list(threaded(fn, range(100), 4))
    assert not _names()


def test_closing_early_skips_what_was_not_started() -> None:
    ran: list[int] = []

    def fn(x: int) -> int:
        ran.append(x)
        return x

    it = threaded(fn, range(10_000), 2)
    next(it)
    it.close()  # type: ignore[attr-defined]
    assert not _names()
    assert len(ran) < 10_000
