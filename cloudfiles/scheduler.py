"""cloud-files' job scheduler: run a list of zero-argument functions concurrently, collect their results.

``schedule_jobs(fns, concurrency)`` picks the runner: inline for ``concurrency == 0`` or a single job,
gevent greenlets when asked for (``green=True``) or when gevent has monkey-patched the process
(``green=None``), else a :class:`~cloudfiles.threaded_queue.ThreadedQueue` of ``concurrency`` threads
(never more threads than jobs). Results come back in completion order, as in cloud-files.

Our own CloudFiles methods do not use it (their transfers run through the engine); it is kept for code
that schedules its own work with these functions.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable
from typing import Any

from .lib import totalfn
from .threaded_queue import ThreadedQueue

__all__ = [
    "ThreadedQueue",
    "raise_multiple",
    "schedule_green_jobs",
    "schedule_jobs",
    "schedule_single_threaded_jobs",
    "schedule_threaded_jobs",
    "totalfn",
]

Job = Callable[[], Any]


class _Results:
    """Collects job results and advances the progress bar (the caller's tqdm, or one made here and
    closed on exit). ``count_return``: each job returns how many items it handled."""

    def __init__(self, progress: Any, total: int | None, count_return: bool) -> None:
        from tqdm import tqdm

        self.owned = not isinstance(progress, tqdm)
        desc = progress if isinstance(progress, str) else None
        self.bar = tqdm(total=total, desc=desc, disable=not progress) if self.owned else progress
        self.count_return = count_return
        self.results: list[Any] = []

    def add(self, result: Any) -> None:
        self.bar.update(result if self.count_return else 1)
        self.results.append(result)

    def __enter__(self) -> _Results:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.bar.close()


def raise_multiple(errors: list[BaseException]) -> None:
    """Raise the first of ``errors`` with the others chained behind it as its ``__context__``.

    Does nothing for an empty list. Like cloud-files, the list is emptied.
    """
    if not errors:
        return
    chain = list(errors)
    errors.clear()
    for err, following in itertools.pairwise(chain):
        if err is not following and err.__context__ is None:
            err.__context__ = following
    raise chain[0]


def schedule_single_threaded_jobs(
    fns: Iterable[Job], progress: Any = None, total: int | None = None, count_return: bool = False
) -> list[Any]:
    """Run the jobs one after the other on this thread; results in order."""
    with _Results(progress, totalfn(fns, total), count_return) as out:
        for fn in fns:
            out.add(fn())
    return out.results


def schedule_threaded_jobs(
    fns: Iterable[Job],
    concurrency: int,
    progress: Any = None,
    total: int | None = None,
    count_return: bool = False,
) -> list[Any]:
    """Run the jobs on ``concurrency`` threads; results in completion order. The first job error is
    re-raised once the running jobs finish (jobs not yet started are dropped)."""
    with _Results(progress, totalfn(fns, total), count_return) as out:

        def task(fn: Job) -> Callable[[Any], None]:
            return lambda _interface: out.add(fn())

        # A bounded queue: a generator of jobs is consumed as the threads make room, not all at once.
        with ThreadedQueue(n_threads=concurrency, queue_size=max(1, 2 * concurrency)) as tq:
            for fn in fns:
                tq.put(task(fn))
    return out.results


def schedule_green_jobs(
    fns: Iterable[Job],
    concurrency: int,
    progress: Any = None,
    total: int | None = None,
    count_return: bool = False,
) -> list[Any]:
    """Run the jobs on a gevent pool of ``concurrency`` greenlets (needs gevent); results in completion
    order. Every job runs; then all their errors are raised together (see :func:`raise_multiple`)."""
    import gevent.pool

    errors: list[BaseException] = []
    with _Results(progress, totalfn(fns, total), count_return) as out:

        def run(fn: Job) -> None:
            try:
                res = fn()
            except Exception as err:  # noqa: BLE001 - every job runs; the errors are raised together after
                errors.append(err)
                return
            out.add(res)

        pool = gevent.pool.Pool(concurrency)
        try:
            for fn in fns:
                pool.spawn(run, fn)
            pool.join()
        finally:
            pool.kill()
    raise_multiple(errors)
    return out.results


def _gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and getattr(monkey, "saved", None))


def schedule_jobs(
    fns: Iterable[Job],
    concurrency: int,
    progress: Any = None,
    total: int | None = None,
    green: bool | None = None,
    count_return: bool = False,
) -> list[Any]:
    """Run ``fns`` (zero-argument functions) with up to ``concurrency`` at a time; return their results.

    ``progress``: falsy (no bar), True, a str (bar description) or a tqdm instance to advance.
    ``total``: the number of jobs when ``fns`` has no ``len`` (sizes the bar; ``total <= 1`` runs inline).
    ``green``: True for gevent greenlets; None uses them only if gevent monkey-patched this process.
    ``count_return``: jobs return how many items they handled, and the bar advances by that.
    """
    if concurrency < 0:
        raise ValueError(f"concurrency value cannot be negative: {concurrency}")
    known = totalfn(fns, total)
    if concurrency == 0 or (known is not None and known <= 1):
        return schedule_single_threaded_jobs(fns, progress, total, count_return)
    if known is not None:
        concurrency = min(concurrency, known)
    if green or (green is None and _gevent_patched()):
        return schedule_green_jobs(fns, concurrency, progress, total, count_return)
    return schedule_threaded_jobs(fns, concurrency, progress, total, count_return)
