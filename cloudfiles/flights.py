"""Transfer recording: :class:`TransmissionMonitor` keeps every transfer ("flight") as an interval
``[begin, end)`` with a byte count, and answers rate questions about them (totals, current rate, peak,
per-second histogram, Gantt chart). See :mod:`cloudfiles.monitoring` for the design notes and the
deliberate differences from cloud-files.
"""

from __future__ import annotations

import enum
import threading
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import rateplots

if TYPE_CHECKING:  # numpy is imported where it is used: `import cloudfiles` stays light
    import numpy as np
    import numpy.typing as npt

__all__ = ["IOEnum", "TransmissionMonitor"]

# monotonic seconds + _MONO_TO_UNIX = unix seconds (fixed per process).
_MONO_TO_UNIX = time.time() - time.monotonic()
_MONO_TO_UNIX_US = round(_MONO_TO_UNIX * 1e6)


def _mono_us(t: float) -> int:
    """Monotonic seconds -> integer microseconds, truncated (cloud-files' quantisation)."""
    return int(t * 1e6)


class IOEnum(enum.Enum):
    """Direction of a transfer: RX = download, TX = upload."""

    RX = 1
    TX = 2


class TransmissionMonitor:
    """Records transfers and reports their rates. Thread-safe and picklable.

    Usage::

        tm = TransmissionMonitor(IOEnum.RX)
        flight = tm.start_io(0)
        ...  # transfer
        tm.end_io(flight, num_bytes)
        tm.total_Mbps()

    A failed flight is marked with :meth:`end_error`, before or after its :meth:`end_io` (both orders
    occur in cloud-files' callers); the Gantt chart draws it red.
    """

    def __init__(self, direction: IOEnum) -> None:
        self._direction = direction
        self._lock = threading.Lock()
        self._in_flight: dict[Any, tuple[float, int]] = {}
        # Bytes announced by start_io for flights not yet landed (uploads know their size up front).
        self._in_flight_bytes = 0
        # Finished flights: begin/end in monotonic microseconds of this monitor's clock.
        self._begin_us: list[int] = []
        self._end_us: list[int] = []
        self._nbytes: list[int] = []
        self._ids: list[Any] = []
        self._errors: set[Any] = set()
        # Flights closed by end_error alone: a later end_io completes them (the facade's get pattern).
        self._closed_by_error: set[Any] = set()
        self._total_bytes_landed = 0
        # Unix microseconds minus monotonic microseconds of the process whose clock the times use.
        self._unix_offset_us = _MONO_TO_UNIX_US

    @property
    def direction(self) -> IOEnum:
        """RX (download) or TX (upload)."""
        return self._direction

    # -- recording ----------------------------------------------------------------------------------------

    def start_io(self, num_bytes: int, start_time: float | None = None) -> uuid.UUID:
        """Open a flight of (expected) ``num_bytes``; returns its id for :meth:`end_io`.

        ``start_time`` is a ``time.monotonic()`` value (default: now).
        """
        flight_id = uuid.uuid4()
        if start_time is None:
            start_time = time.monotonic()
        with self._lock:
            self._in_flight[flight_id] = (start_time, num_bytes)
            self._in_flight_bytes += num_bytes
        return flight_id

    def end_io(self, flight_id: Any, num_bytes: int) -> None:
        """Close a flight that moved ``num_bytes`` (now). An unknown or already closed id raises KeyError.

        A flight already closed by :meth:`end_error` is completed instead: its end and byte count
        become these (so ``end_error`` then ``end_io`` records what cloud-files records).
        """
        end = time.monotonic()
        with self._lock:
            entry = self._in_flight.pop(flight_id, None)
            if entry is None:
                if flight_id not in self._closed_by_error:
                    raise KeyError(flight_id)
                self._closed_by_error.discard(flight_id)
                self._complete(flight_id, end, num_bytes)
                return
            start, announced = entry
            self._in_flight_bytes -= announced
            self._append(flight_id, start, end, num_bytes)

    def end_error(self, flight_id: Any) -> None:
        """Mark a flight as failed (red in the Gantt chart).

        A flight still in flight is closed now with 0 bytes; a later :meth:`end_io` for it sets its
        real end and byte count. Marking a flight that already landed only marks it.
        """
        end = time.monotonic()
        with self._lock:
            self._errors.add(flight_id)
            entry = self._in_flight.pop(flight_id, None)
            if entry is not None:
                start, announced = entry
                self._in_flight_bytes -= announced
                self._append(flight_id, start, end, 0)
                self._closed_by_error.add(flight_id)

    def record(
        self, num_bytes: int, start_time: float, end_time: float | None = None, error: bool = False
    ) -> None:
        """Record a finished flight in one call (``time.monotonic()`` times; end defaults to now).

        For engines that learn a transfer's timing only when it completes.
        """
        if end_time is None:
            end_time = time.monotonic()
        flight_id = uuid.uuid4()
        with self._lock:
            if error:
                self._errors.add(flight_id)
            self._append(flight_id, start_time, end_time, 0 if error else num_bytes)

    def _append(self, flight_id: Any, start: float, end: float, num_bytes: int) -> None:
        begin_us = _mono_us(start) + _MONO_TO_UNIX_US - self._unix_offset_us
        end_us = _mono_us(end) + _MONO_TO_UNIX_US - self._unix_offset_us
        if end_us <= begin_us:
            end_us = begin_us + 1  # same clock tick: a 1 µs flight, never an empty interval
        self._begin_us.append(begin_us)
        self._end_us.append(end_us)
        self._nbytes.append(int(num_bytes))
        self._ids.append(flight_id)
        self._total_bytes_landed += int(num_bytes)

    def _complete(self, flight_id: Any, end: float, num_bytes: int) -> None:
        # Errors are rare and the flight was closed recently: search from the newest.
        for i in range(len(self._ids) - 1, -1, -1):
            if self._ids[i] == flight_id:
                end_us = _mono_us(end) + _MONO_TO_UNIX_US - self._unix_offset_us
                self._end_us[i] = max(end_us, self._begin_us[i] + 1)
                self._total_bytes_landed += int(num_bytes) - self._nbytes[i]
                self._nbytes[i] = int(num_bytes)
                return

    @classmethod
    def merge(cls, tms: Iterable[TransmissionMonitor]) -> TransmissionMonitor:
        """A new monitor holding the flights of all ``tms`` (direction of the first; TX if empty).

        Flights, error marks and byte totals all carry over; monitors recorded in other processes are
        placed on this process's time line.
        """
        tms = list(tms)
        if not tms:
            return cls(IOEnum.TX)
        out = cls(tms[0]._direction)
        for other in tms:
            with other._lock:
                shift = getattr(other, "_unix_offset_us", _MONO_TO_UNIX_US) - out._unix_offset_us
                if shift:
                    out._begin_us.extend(b + shift for b in other._begin_us)
                    out._end_us.extend(e + shift for e in other._end_us)
                else:
                    out._begin_us.extend(other._begin_us)
                    out._end_us.extend(other._end_us)
                out._nbytes.extend(other._nbytes)
                out._ids.extend(other._ids)
                out._errors.update(other._errors)
                out._total_bytes_landed += other._total_bytes_landed
        return out

    def _now_us(self) -> int:
        """Now, in microseconds of this monitor's clock."""
        return _mono_us(time.monotonic()) + _MONO_TO_UNIX_US - self._unix_offset_us

    # -- queries ------------------------------------------------------------------------------------------

    def _snapshot(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        import numpy as np

        with self._lock:
            begin = np.array(self._begin_us, dtype=np.int64)
            end = np.array(self._end_us, dtype=np.int64)
            nbytes = np.array(self._nbytes, dtype=np.int64)
        return begin, end, nbytes

    def __len__(self) -> int:
        """Number of finished flights."""
        with self._lock:
            return len(self._nbytes)

    def num_in_flight(self) -> int:
        """Flights started and not yet ended."""
        with self._lock:
            return len(self._in_flight)

    def in_flight_bytes(self) -> int:
        """Bytes announced by :meth:`start_io` for flights not yet ended."""
        with self._lock:
            return self._in_flight_bytes

    def total_bytes(self) -> int:
        """Sum of all bytes landed."""
        with self._lock:
            return self._total_bytes_landed

    def total_bps(self) -> float:
        """Average bits per second over the whole recording (first begin to last end); 0 if empty."""
        with self._lock:
            if not self._begin_us:
                return 0.0
            span_us = max(self._end_us) - min(self._begin_us)
            total = self._total_bytes_landed
        if span_us <= 0:
            return 0.0
        return total / (span_us / 1e6) * 8

    def total_Mbps(self) -> float:
        """Average rate in megabits per second."""
        return self.total_bps() / 1e6

    def total_Gbps(self) -> float:
        """Average rate in gigabits per second."""
        return self.total_bps() / 1e9

    def total_MBps(self) -> float:
        """Average rate in megabytes per second."""
        return self.total_Mbps() / 8.0

    def total_GBps(self) -> float:
        """Average rate in gigabytes per second."""
        return self.total_Gbps() / 8.0

    def current_bps(self, look_back_sec: float = 2.0) -> float:
        """Bits per second over the last ``look_back_sec`` seconds (flights prorated by overlap)."""
        import numpy as np

        look_back_us = int(look_back_sec * 1e6)
        now_us = self._now_us()
        begin, end, nbytes = self._snapshot()
        if begin.size == 0 or look_back_us <= 0:
            return 0.0
        query_us = now_us - look_back_us
        sel = end > query_us
        b, e, n = begin[sel], end[sel], nbytes[sel].astype(np.float64)
        dur = (e - b).astype(np.float64)
        inside = b >= query_us
        frac = np.where(inside | (dur <= 0), 1.0, (e - query_us) / np.where(dur > 0, dur, 1.0))
        num_bytes = float(np.round(n * frac).sum())
        window_us = min(look_back_us, now_us - int(begin.min()))
        if window_us <= 0:
            return 0.0
        return num_bytes / (window_us / 1e6) * 8

    def current_Mbps(self, look_back_sec: float = 2.0) -> float:
        """Current rate in megabits per second."""
        return self.current_bps(look_back_sec) / 1e6

    def current_Gbps(self, look_back_sec: float = 2.0) -> float:
        """Current rate in gigabits per second."""
        return self.current_bps(look_back_sec) / 1e9

    def current_MBps(self, look_back_sec: float = 2.0) -> float:
        """Current rate in megabytes per second."""
        return self.current_Mbps(look_back_sec) / 8.0

    def current_GBps(self, look_back_sec: float = 2.0) -> float:
        """Current rate in gigabytes per second."""
        return self.current_Gbps(look_back_sec) / 8.0

    def start_unix_time(self) -> float:
        """Unix time (seconds) the first flight began; 0.0 if nothing was recorded."""
        with self._lock:
            return (min(self._begin_us) + self._unix_offset_us) / 1e6 if self._begin_us else 0.0

    def end_unix_time(self) -> float:
        """Unix time (seconds) the last flight ended; 0.0 if nothing was recorded."""
        with self._lock:
            return (max(self._end_us) + self._unix_offset_us) / 1e6 if self._end_us else 0.0

    def peak_bps(self) -> float:
        """Highest one-second rate (bits per second) in the :meth:`histogram`; 0 if empty."""
        hist = self.histogram(resolution=1.0)
        return float(hist.max()) * 8 if hist.size else 0.0

    def histogram(self, resolution: float = 1.0) -> npt.NDArray[np.uint64]:
        """Bytes landed per time bin of ``resolution`` seconds, each flight spread evenly over its
        duration. Bins start at the whole (monotonic-clock) second before the first flight, as in
        cloud-files. Empty array if no flights.
        """
        import numpy as np

        if resolution <= 0:
            raise ValueError(f"Resolution must be positive. Got: {resolution}")
        begin, end, nbytes = self._snapshot()
        if begin.size == 0:
            return np.array([], dtype=np.uint64)

        # Subtract in integer microseconds first: epoch-sized floats would lose sub-microsecond precision.
        origin_us = (int(begin.min()) // 1_000_000) * 1_000_000
        b = (begin - origin_us) / 1e6
        e = (end - origin_us) / 1e6
        last = float(np.ceil(e.max()))
        num_bins = max(1, int(np.ceil(last / resolution)))
        dur = e - b
        ramp = dur > 0
        if not ramp.all():
            # An instantaneous flight exactly on the final edge still needs a bin of its own.
            num_bins = max(num_bins, int(np.floor(b[~ramp].max() / resolution)) + 1)
        # Exact integration of a piecewise-linear "bytes landed by time t" curve: each flight adds slope
        # n/d over [b, e); zero-length flights add a step at b.
        rate = np.where(ramp, nbytes / np.where(ramp, dur, 1.0), 0.0)
        times = np.concatenate([b[ramp], e[ramp], b[~ramp]])
        dslope = np.concatenate([rate[ramp], -rate[ramp], np.zeros(int((~ramp).sum()))])
        jump = np.concatenate([np.zeros(2 * int(ramp.sum())), nbytes[~ramp].astype(np.float64)])
        order = np.argsort(times, kind="stable")
        times, dslope, jump = times[order], dslope[order], jump[order]
        slope_after = np.cumsum(dslope)
        gaps = np.diff(times, prepend=times[0])
        slope_before = np.concatenate([[0.0], slope_after[:-1]])
        cum = np.cumsum(slope_before * gaps + jump)  # F at each event (right-continuous)

        edges = np.arange(num_bins + 1, dtype=np.float64) * resolution
        # Left limits, so a step exactly on an edge lands in the bin that starts there.
        idx = np.searchsorted(times, edges, side="left") - 1
        safe = np.clip(idx, 0, None)
        # idx is the last event strictly before the edge (and the last of its ties), so cum/slope there
        # give the curve's value just left of the edge.
        f_edges = np.where(idx >= 0, cum[safe] + slope_after[safe] * (edges - times[safe]), 0.0)
        f_edges[-1] = float(nbytes.sum())
        bins = np.diff(f_edges)
        return np.clip(np.round(bins), 0, None).astype(np.uint64)

    # -- plots --------------------------------------------------------------------------------------------

    def plot_histogram(self, resolution: float = 1.0, filename: str | None = None) -> None:
        """Plot the transfer rate over time (needs matplotlib). Saves to ``filename`` or shows it."""
        import numpy as np

        xfer = self.histogram(resolution).astype(np.float64) * 8 / resolution
        direction = "Upload" if self._direction == IOEnum.TX else "Download"
        rateplots.plot_rates(
            [(xfer, "dodgerblue", None)], resolution, f"Estimated Data {direction} Rate", filename
        )

    def plot_gantt(
        self,
        filename: str | None = None,
        title: str | None = None,
        show_size_labels: bool | None = None,
    ) -> None:
        """One bar per flight over time, coloured by size (errors in red). Needs matplotlib."""
        with self._lock:
            begin = list(self._begin_us)
            end = list(self._end_us)
            sizes = list(self._nbytes)
            failed = [flight_id in self._errors for flight_id in self._ids]
        direction = "Upload" if self._direction == IOEnum.TX else "Download"
        rateplots.plot_gantt(
            begin,
            end,
            sizes,
            failed,
            title=title if title is not None else f"File {direction} Recording",
            show_size_labels=show_size_labels,
            filename=filename,
        )

    # -- pickling -----------------------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            state = self.__dict__.copy()
            state["_in_flight"] = dict(self._in_flight)
            for key in ("_begin_us", "_end_us", "_nbytes", "_ids"):
                state[key] = list(state[key])
            state["_errors"] = set(self._errors)
            state["_closed_by_error"] = set(self._closed_by_error)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_closed_by_error", set())
        self.__dict__.setdefault("_unix_offset_us", _MONO_TO_UNIX_US)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"TransmissionMonitor({self._direction.name}, flights={len(self)}, "
            f"bytes={self.total_bytes()}, errors={len(self._errors)})"
        )
