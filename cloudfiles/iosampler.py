"""Machine network sampling: :class:`IOSampler` reads the NIC byte counters (psutil) on a daemon thread
into a circular buffer and reports rates, peaks and histograms from them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

from . import rateplots

if TYPE_CHECKING:  # numpy is imported where it is used: `import cloudfiles` stays light
    import numpy as np
    import numpy.typing as npt

__all__ = ["IOSampler"]


class IOSampler:
    """Samples the machine's network byte counters (psutil) every ``interval`` seconds.

    Keeps the last ``buffer_sec`` seconds in a circular buffer. Use as a context manager or with
    :meth:`start_sampling` / :meth:`stop_sampling`. Rates are in bits per second.
    """

    def __init__(self, buffer_sec: float = 600.0, interval: float = 0.25) -> None:
        if buffer_sec <= 0 or interval <= 0:
            raise ValueError(
                f"Buffer and interval must be positive. buffer sec: {buffer_sec}, interval: {interval}"
            )
        self._interval = interval
        self._buffer_sec = buffer_sec
        self._terminate = threading.Event()
        self._thread: threading.Thread | None = None
        self._sample_lock = threading.Lock()
        self._init_sample_buffers()

    def _init_sample_buffers(self) -> None:
        import numpy as np

        size = int(max(np.ceil(self._buffer_sec / self._interval) + 1, 2))
        self._samples_bytes_rx = np.zeros(size, dtype=np.int64)
        self._samples_bytes_tx = np.zeros(size, dtype=np.int64)
        self._samples_time = np.zeros(size, dtype=np.float64)
        self._cursor = 0  # next slot to write
        self._num_samples = 0  # total ever taken (may exceed the buffer size)

    # -- sampling thread ----------------------------------------------------------------------------------

    def start_sampling(self, force: bool = False) -> None:
        """Start the sampling thread (restart with fresh buffers if ``force``; else no-op if running)."""
        if not force and self.is_sampling():
            return
        self.stop_sampling()
        import psutil  # imported here: monitoring is optional, and psutil import costs ~10 ms

        self._init_sample_buffers()
        self._terminate = threading.Event()
        # Prime the counters so the first sample is taken immediately and is consistent.
        psutil.net_io_counters(nowrap=True)
        self._do_sample(psutil)
        self._thread = threading.Thread(
            target=self._sample_loop,
            args=(self._terminate, self._interval, psutil),
            name="cloudfiles-iosampler",
            daemon=True,
        )
        self._thread.start()

    def stop_sampling(self) -> None:
        """Stop the sampling thread (takes one final sample). Safe to call when not sampling."""
        self._terminate.set()
        thread = self._thread
        if thread is not None:
            thread.join()
        self._thread = None

    def is_sampling(self) -> bool:
        """True while the sampling thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _do_sample(self, psutil: Any) -> None:
        net = psutil.net_io_counters(nowrap=True)
        t = time.monotonic()
        with self._sample_lock:
            i = self._cursor
            self._samples_bytes_rx[i] = net.bytes_recv
            self._samples_bytes_tx[i] = net.bytes_sent
            self._samples_time[i] = t
            self._cursor = (i + 1) % self._samples_time.size
            self._num_samples += 1

    def sample_loop(self, terminate_evt: threading.Event, interval: float) -> None:
        """Sample every ``interval`` seconds until ``terminate_evt`` is set, then once more.

        The body of the sampling thread (cloud-files' name); :meth:`start_sampling` runs it on a
        daemon thread. Blocks the caller when called directly.
        """
        import psutil

        self._sample_loop(terminate_evt, interval, psutil)

    def _sample_loop(self, terminate: threading.Event, interval: float, psutil: Any) -> None:
        next_t = time.monotonic() + interval
        # Event.wait doubles as the sleep, so stop_sampling returns within one interval at most.
        while not terminate.wait(max(0.0, next_t - time.monotonic())):
            self._do_sample(psutil)
            next_t += interval
            now = time.monotonic()
            if next_t < now:  # fell behind (suspended process): don't burst to catch up
                next_t = now + interval
        self._do_sample(psutil)

    # -- data ---------------------------------------------------------------------------------------------

    def num_samples(self) -> int:
        """Samples taken since sampling started (as in cloud-files; once the circular buffer has
        wrapped, :meth:`samples` holds only the newest ``buffer_sec / interval + 1`` of them)."""
        with self._sample_lock:
            return self._num_samples

    def samples(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """``(rx_bytes, tx_bytes, monotonic_times)`` in time order (cumulative counters)."""
        import numpy as np

        with self._sample_lock:
            rx = self._samples_bytes_rx.copy()
            tx = self._samples_bytes_tx.copy()
            ts = self._samples_time.copy()
            cursor, n = self._cursor, self._num_samples
        if n < ts.size:
            return rx[:cursor], tx[:cursor], ts[:cursor]
        return (
            np.concatenate([rx[cursor:], rx[:cursor]]),
            np.concatenate([tx[cursor:], tx[:cursor]]),
            np.concatenate([ts[cursor:], ts[:cursor]]),
        )

    def start_time(self) -> float:
        """Monotonic time of the oldest held sample (0.0 if none)."""
        _, _, ts = self.samples()
        return float(ts[0]) if ts.size else 0.0

    def end_time(self) -> float:
        """Monotonic time of the newest sample (0.0 if none)."""
        _, _, ts = self.samples()
        return float(ts[-1]) if ts.size else 0.0

    def current_bps(self, look_back_sec: float = 2.0) -> tuple[float, float]:
        """``(rx_bps, tx_bps)`` over (about) the last ``look_back_sec`` seconds."""
        import numpy as np

        rx, tx, ts = self.samples()
        if ts.size <= 1:
            return (0.0, 0.0)
        t = ts[-1]
        # The newest sample at least look_back_sec old; else the oldest one held.
        candidates = np.nonzero(t - ts[:-1] >= look_back_sec)[0]
        i = int(candidates[-1]) if candidates.size else 0
        elapsed = float(t - ts[i])
        if elapsed < 1e-4:
            return (0.0, 0.0)
        return (float(rx[-1] - rx[i]) / elapsed * 8, float(tx[-1] - tx[i]) / elapsed * 8)

    def peak_bps(self, window: float = 1.0) -> tuple[float, float]:
        """Highest ``(rx_bps, tx_bps)`` over any span of at least ``window`` seconds (or up to the
        newest sample, for spans starting less than ``window`` before it)."""
        import numpy as np

        rx, tx, ts = self.samples()
        if ts.size <= 1:
            return (0.0, 0.0)
        n = ts.size
        j = np.searchsorted(ts, ts + window, side="left")
        starts = np.arange(n - 1)
        j = j[:-1]
        valid = j < n

        def peak(data: npt.NDArray[np.int64]) -> float:
            best = 0.0
            if valid.any():
                i1, j1 = starts[valid], j[valid]
                best = max(best, float(((data[j1] - data[i1]) / (ts[j1] - ts[i1])).max()) * 8)
            span = ts[-1] - ts[starts]
            ok = span > 0
            if ok.any():
                best = max(best, float(((data[-1] - data[starts[ok]]) / span[ok]).max()) * 8)
            return best

        return (peak(rx), peak(tx))

    def _histogram(
        self, resolution: float, counters: npt.NDArray[np.int64], ts: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.uint64]:
        import numpy as np

        if resolution <= 0:
            raise ValueError(f"Resolution must be positive. Got: {resolution}")
        if ts.size <= 1:
            return np.array([], dtype=np.uint64)
        deltas = np.clip(np.diff(counters), 0, None)
        num_bins = max(1, int(np.ceil((ts[-1] - ts[0]) / resolution)))
        which = np.minimum(((ts[:-1] - ts[0]) / resolution).astype(np.int64), num_bins - 1)
        counts = np.bincount(which, weights=deltas, minlength=num_bins)
        return np.asarray(counts.round(), dtype=np.uint64)

    def histogram_rx(self, resolution: float = 1.0) -> npt.NDArray[np.uint64]:
        """Bytes received per ``resolution``-second bin."""
        rx, _, ts = self.samples()
        return self._histogram(resolution, rx, ts)

    def histogram_tx(self, resolution: float = 1.0) -> npt.NDArray[np.uint64]:
        """Bytes sent per ``resolution``-second bin."""
        _, tx, ts = self.samples()
        return self._histogram(resolution, tx, ts)

    def plot_histogram(self, resolution: float | None = None, filename: str | None = None) -> None:
        """Plot measured download and upload rates over time (needs matplotlib)."""
        import numpy as np

        if resolution is None:
            resolution = 1.0
        elif resolution < self._interval:
            raise ValueError(
                "Can't create histogram bins at a higher resolution than the sample rate. "
                f"Got: {resolution} Sample Rate: {self._interval}"
            )
        down = self.histogram_rx(resolution).astype(np.float64) * 8 / resolution
        up = self.histogram_tx(resolution).astype(np.float64) * 8 / resolution
        rateplots.plot_rates(
            [(down, "dodgerblue", "Download"), (up, "salmon", "Upload")],
            resolution,
            "Measured Data Transfer Rate",
            filename,
        )

    # -- lifecycle ----------------------------------------------------------------------------------------

    def __enter__(self) -> IOSampler:
        self.start_sampling()
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.stop_sampling()

    def __del__(self) -> None:
        with contextlib.suppress(AttributeError):  # partially constructed
            self._terminate.set()

    def __getstate__(self) -> dict[str, Any]:
        with self._sample_lock:
            state = self.__dict__.copy()
        for key in ("_sample_lock", "_terminate", "_thread"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._sample_lock = threading.Lock()
        self._terminate = threading.Event()
        self._thread = None
