"""Process-level parallelism in cloud-files' shape: ``parallel_execute`` and the ``@parallelize`` decorator.

``parallel_execute(fn, inputs, parallel, ...)`` cuts ``inputs`` into blocks and runs ``fn(block)`` in
``parallel`` worker processes, collecting the blocks' results as they complete. ``@parallelize`` gives
a method ``f(self, items, **kwargs)`` a ``parallel=`` keyword (default ``self.parallel``) that does this.

Workers start by the process's default start method, as cloud-files' pathos pool's did: on Linux they
are forked (before Python 3.14), so a script with no ``if __name__ == "__main__":`` guard works as it did
there. A forked worker starts with no engines and unlocked module locks (see :mod:`cloudfiles.enginecache`
and :mod:`cloudfiles.forksafe`); it never touches the parent's connections. A program that wants
spawned workers says so once, ``multiprocessing.set_start_method("spawn")``. Either way ``fn`` and the
blocks travel by pickle: module-level functions (a script's own included), methods of picklable objects
and ``functools.partial`` of those work; lambdas do not (cloud-files shipped them with dill).
"""

from __future__ import annotations

import functools
import math
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar, cast

from .lib import nvl, sip, totalfn

__all__ = ["block_size", "parallel_execute", "parallelize", "run_blocks", "run_facade"]

F = TypeVar("F", bound=Callable[..., Any])


def _block_count(res: Any, block: list[Any]) -> int:
    """How far a block's result advances the progress bar (cloud-files' rules)."""
    update = res[0] if isinstance(res, tuple) and res else res
    if isinstance(update, int) and not isinstance(update, bool):
        return update
    if isinstance(update, list):
        return len(update)
    return len(block)


def block_size(total: int | None, parallel: int) -> int:
    """Items per block: ``ceil(total / parallel)`` kept between 20 and 1250 (250 when the total is unknown)."""
    return 250 if total is None else min(1250, max(20, math.ceil(total / parallel)))


def run_blocks(
    call: Callable[[list[Any]], tuple[Any, ...]], inputs: Iterable[Any], parallel: int, size: int
) -> Iterator[tuple[list[Any], Any]]:
    """``(block, result)`` of each block of ``inputs``, in completion order, from ``parallel`` worker
    processes; ``call(block)`` is ``(fn, *args)`` submitted for it. At most ``2 * parallel`` blocks are
    pending, so a generator is read only as workers free up."""
    with ProcessPoolExecutor(max_workers=parallel, mp_context=multiprocessing.get_context()) as pool:
        pending: dict[Future[Any], list[Any]] = {}
        for block in sip(inputs, size):
            pending[pool.submit(*call(block))] = block
            while len(pending) >= 2 * parallel:
                yield from _harvest(pending)
        while pending:
            yield from _harvest(pending)


def _harvest(pending: dict[Future[Any], list[Any]]) -> Iterator[tuple[list[Any], Any]]:
    done, _ = wait(pending, return_when=FIRST_COMPLETED)
    for fut in done:
        yield pending.pop(fut), fut.result()


def run_facade(cf: Any, method: str, items: Iterable[Any], parallel: int, total: int | None, bar: Any,
               kwargs: dict[str, Any]) -> list[Any]:
    """``cf.<method>(block, parallel=1, progress=False, **kwargs)`` over blocks of ``items`` in
    ``parallel`` processes (a CloudFiles' own ``parallel=``); the blocks' results in completion order.

    ``cf`` travels by pickle (its ``__getstate__`` leaves the interface behind), so items must be
    picklable too: file handles cannot be sent.
    """
    kwargs = dict(kwargs, parallel=1, progress=False)
    results: list[Any] = []
    recording = bool(kwargs.get("return_recording"))
    for _block, res in run_blocks(
        lambda block: (_facade_worker, cf, method, list(block), kwargs), items, parallel, block_size(total, parallel)
    ):
        results.append(res)
        done = res[0] if recording else res
        bar.update(done if isinstance(done, int) else len(done))
    return results


def _facade_worker(cf: Any, method: str, block: list[Any], kwargs: dict[str, Any]) -> Any:
    """Runs in a worker process: one block through the unpickled CloudFiles, serially."""
    return getattr(cf, method)(block, **kwargs)


def parallel_execute(
    fn: Callable[[list[Any]], Any],
    inputs: Iterable[Any],
    parallel: int,
    total: int | None,
    progress: Any,
    desc: str | None,
    returns_list: bool,
) -> Any:
    """Run ``fn`` over blocks of ``inputs`` in ``parallel`` processes (0 = one per core).

    Blocks hold :func:`block_size` items. ``progress`` is a bool or a tqdm instance to advance. With ``returns_list`` the blocks'
    list results are concatenated (completion order) and returned; blocks returning
    ``(list, TransmissionMonitor)`` give ``(list, merged monitor)``. Otherwise returns None.
    """
    if parallel == 0:
        parallel = multiprocessing.cpu_count()
    elif parallel < 0:
        raise ValueError(f"parallel must be >= 0. Got: {parallel}")
    total = totalfn(inputs, total)
    if total is not None and total < 0:
        raise ValueError(f"total must be positive. Got: {total}")

    from tqdm import tqdm

    owned = not isinstance(progress, tqdm)
    bar = tqdm(desc=desc, total=total, disable=not progress) if owned else progress
    results: list[Any] = []
    monitors: list[Any] = []
    try:
        for block, res in run_blocks(lambda block: (fn, block), inputs, parallel, block_size(total, parallel)):
            bar.update(_block_count(res, block))
            if returns_list:
                if isinstance(res, tuple):
                    results.extend(res[0])
                    monitors.append(res[1])
                else:
                    results.extend(res)
    finally:
        if owned:
            bar.close()

    if not returns_list:
        return None
    if monitors:
        from .monitoring import TransmissionMonitor

        return results, TransmissionMonitor.merge(monitors)
    return results


class _BlockCall:
    """``method(owner, block, *args, parallel=1, **kwargs)``: one worker's share (picklable)."""

    def __init__(self, method: Callable[..., Any], owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.method = method
        self.owner = owner
        self.args = args
        self.kwargs = kwargs

    def __call__(self, block: list[Any]) -> Any:
        return self.method(self.owner, block, *self.args, parallel=1, **self.kwargs)


def parallelize(desc: str | None = None, returns_list: bool = False) -> Callable[[F], F]:
    """Give a method ``f(self, items, *args, **kwargs)`` a ``parallel=`` keyword argument.

    ``parallel`` defaults to ``self.parallel`` (then 1). At 1 the method runs as is; otherwise its
    items are spread over processes by :func:`parallel_execute` (``progress``/``total`` keywords
    size the bar there; the workers run with ``parallel=1`` and no bar of their own).
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: Any, items: Any, *args: Any, **kwargs: Any) -> Any:
            parallel = nvl(kwargs.pop("parallel", None), getattr(self, "parallel", None), 1)
            if parallel == 1:
                return fn(self, items, *args, **kwargs)
            progress = kwargs.get("progress", False)
            kwargs["progress"] = False
            total = kwargs.get("total")
            # The workers call this wrapper again with parallel=1 (the wrapper, not fn, is what
            # pickle finds under the method's name).
            work = _BlockCall(wrapper, self, args, kwargs)
            if not isinstance(items, (list, tuple)) and not hasattr(items, "__next__"):
                items = [items]
            return parallel_execute(work, items, parallel, total, progress, desc, returns_list)

        return cast(F, wrapper)

    return decorate
