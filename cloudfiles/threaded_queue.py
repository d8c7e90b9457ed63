"""ThreadedQueue: cloud-files' small task runner, a fixed set of worker threads fed from a queue.

Our own transfers never use it (the engine keeps many requests in flight on one thread); it is here for
code written against cloud-files that queues its own work::

    with ThreadedQueue(n_threads=8) as tq:
        for key in keys:
            tq.put(lambda iface, key=key: results.append(work(key)))

Each task is a function of one argument: the value :meth:`ThreadedQueue._initialize_interface` made
for the worker thread running it (None unless a subclass overrides it, e.g. to give each thread its own
client). ``with`` waits for every task and stops the threads; the first exception a task raised is then
re-raised (the remaining tasks are dropped).

Differences from cloud-files, which polled its queue every 10 ms and slept 100 ms between checks in
``wait``: workers block on a condition variable and ``wait`` wakes on each completion, so short task
lists finish without those delays; with ``n_threads=0`` the queued tasks run on the thread that calls
``wait`` (cloud-files left them queued, and refused ``with`` for that reason).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["ThreadedQueue"]

Task = Callable[[Any], Any]


class ThreadedQueue:
    """Run queued task functions on ``n_threads`` daemon worker threads.

    ``queue_size`` bounds the queue (``put`` blocks while it is full; 0 = unbounded). ``progress``
    (bool or str description) shows a tqdm bar in the ``wait`` done by ``with``.
    """

    def __init__(self, n_threads: int, queue_size: int = 0, progress: bool | str | None = None) -> None:
        if n_threads < 0:
            raise ValueError(f"n_threads must be >= 0. Got: {n_threads}")
        self._n_threads = n_threads
        self._maxsize = max(0, int(queue_size))
        self._tasks: collections.deque[Task] = collections.deque()
        self._cond = threading.Condition()
        self._unfinished = 0  # queued or running
        self._errors: list[BaseException] = []
        self._threads: tuple[threading.Thread, ...] = ()
        self._generation = 0  # bumped to retire the current workers
        self.processed = 0
        self._inserted = 0
        self.with_progress = progress
        self.start_threads(n_threads)

    # -- subclass hooks ----------------------------------------------------------------------------------
    def _initialize_interface(self) -> Any:
        """The value handed to every task a worker thread runs (made once per thread). Default None."""
        return None

    def _close_interface(self, interface: Any) -> None:
        """Release what :meth:`_initialize_interface` made, when its thread stops."""

    # -- queue ---------------------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Tasks queued and not yet started."""
        with self._cond:
            return len(self._tasks)

    def put(self, fn: Task) -> ThreadedQueue:
        """Queue ``fn`` (called as ``fn(interface)`` on a worker). Blocks while a bounded queue is full."""
        with self._cond:
            while self._maxsize and len(self._tasks) >= self._maxsize and self._threads:
                self._cond.wait()
            self._tasks.append(fn)
            self._unfinished += 1
            self._inserted += 1
            self._cond.notify_all()
        return self

    # -- threads -------------------------------------------------------------------------------------------
    def start_threads(self, n_threads: int) -> ThreadedQueue:
        """Run ``n_threads`` workers: replaces the current ones unless there are that many already."""
        if n_threads == len(self._threads) and all(t.is_alive() for t in self._threads):
            return self
        with self._cond:
            self._generation += 1
            generation = self._generation
            self._cond.notify_all()  # the previous workers finish their task and leave
        threads = []
        for i in range(n_threads):
            worker = threading.Thread(
                target=self._worker, args=(generation,), name=f"ThreadedQueue-{i}", daemon=True
            )
            worker.start()
            threads.append(worker)
        self._threads = tuple(threads)
        return self

    def are_threads_alive(self) -> bool:
        """True if any worker thread is running."""
        return any(t.is_alive() for t in self._threads)

    def kill_threads(self) -> ThreadedQueue:
        """Stop the workers after their current task (queued tasks stay queued) and wait for them."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()
        current = threading.current_thread()
        for t in self._threads:
            if t is not current:
                t.join()
        self._threads = ()
        return self

    def _next_task(self, generation: int) -> Task | None:
        with self._cond:
            while not self._tasks and self._generation == generation:
                self._cond.wait()
            if self._generation != generation:
                return None
            task = self._tasks.popleft()
            self._cond.notify_all()  # room in a bounded queue
            return task

    def _run(self, task: Task, interface: Any) -> None:
        try:
            task(interface)
        except BaseException as err:  # noqa: BLE001 - reported by wait(), like cloud-files
            with self._cond:
                self._errors.append(err)
        finally:
            with self._cond:
                self.processed += 1
                self._unfinished -= 1
                self._cond.notify_all()

    def _worker(self, generation: int) -> None:
        interface = self._initialize_interface()
        try:
            while True:
                task = self._next_task(generation)
                if task is None:
                    return
                self._run(task, interface)
        finally:
            self._close_interface(interface)

    # -- waiting -------------------------------------------------------------------------------------------
    def _raise_first_error(self) -> None:
        with self._cond:
            if not self._errors:
                return
            err = self._errors.pop(0)
            self._errors.clear()
            # Like cloud-files: the batch is abandoned on the first error.
            self._unfinished -= len(self._tasks)
            self._tasks.clear()
        self.kill_threads()
        raise err

    def wait(self, progress: bool | str | None = None) -> ThreadedQueue:
        """Block until every queued task has run, then re-raise the first exception a task raised.

        ``progress`` (bool or str description) shows a tqdm bar over the tasks queued so far. With no
        worker threads the queued tasks run here, on the calling thread.
        """
        from tqdm import tqdm

        desc = progress if isinstance(progress, str) else None
        with self._cond:
            start, outstanding = self.processed, self._unfinished
        with tqdm(total=outstanding, disable=not progress, desc=desc) as bar:
            if not self._threads:
                interface = self._initialize_interface()
                try:
                    while not self._errors:
                        with self._cond:
                            if not self._tasks:
                                break
                            task = self._tasks.popleft()
                        self._run(task, interface)
                        bar.update(1)
                finally:
                    self._close_interface(interface)
            else:
                shown = 0
                with self._cond:
                    while self._unfinished > 0 and not self._errors:
                        self._cond.wait()
                        done = self.processed - start
                        if done > shown:
                            bar.update(done - shown)
                            shown = done
            self._raise_first_error()
        with self._cond:
            if not self._tasks and self._unfinished == 0:
                self._inserted = 0
        return self

    # -- context manager -----------------------------------------------------------------------------------
    def __enter__(self) -> ThreadedQueue:
        self.start_threads(self._n_threads)
        return self

    def __exit__(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        try:
            if exception_type is None:
                self.wait(progress=self.with_progress)
        finally:
            self.kill_threads()
