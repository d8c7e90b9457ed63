"""Transfer recording and machine network sampling.

:class:`TransmissionMonitor` records every transfer ("flight") as an interval ``[begin, end)`` with a
byte count, and answers rate questions about them (totals, current rate, peak, per-second histogram,
Gantt chart). :class:`IOSampler` samples the machine's NIC byte counters (psutil) on a daemon thread
into a circular buffer.

Design notes:

* Flights are kept in plain parallel lists, not an interval tree: recording is an O(1) append under a
  lock (the engine calls it once per completed transfer, on its hot path), and every query is a
  vectorised numpy pass over all intervals, which beats tree walks for the query sizes seen here.
* Times are integer microseconds of ``time.monotonic()`` (immune to wall-clock jumps), truncated like
  cloud-files does, so histogram bins fall on the same whole monotonic seconds and every query gives
  cloud-files' numbers. Each monitor also carries its process's monotonic-to-Unix offset: it makes
  ``start_unix_time()`` a real Unix time, and lets monitors pickled in other processes (or on other
  machines, whose monotonic clocks differ) merge onto one time line.
* A flight whose end falls on the same microsecond tick as its start lasts 1 µs (a coarse clock must
  not produce empty intervals).
* matplotlib is optional and imported only inside the plot methods.

Deliberate differences from cloud-files 6.4.3, whose versions of these fail or mislead: an empty monitor
reports 0 for ``total_bps``/``peak_bps`` (not ZeroDivisionError/ValueError); ``merge`` keeps the error
marks and byte totals of its inputs (cloud-files' merged monitor reported ``total_bps() == 0``);
``histogram`` counts in uint64 (uint32 wrapped above 4 GiB per bin) and accepts a flight ending exactly
on the last bin edge (an IndexError there); ``start_unix_time``/``end_unix_time`` are Unix times
(cloud-files returned monotonic-clock seconds); a flight ended only by ``end_error`` is recorded with
0 bytes (cloud-files left it in flight, invisible to every query). ``IOSampler.start_time`` works
(cloud-files raised TypeError) and ``end_time`` is the newest sample's time (cloud-files read the slot
about to be written).
"""

from __future__ import annotations

from .flights import IOEnum, TransmissionMonitor
from .iosampler import IOSampler

__all__ = ["EPSILON_SEC", "IOEnum", "IOSampler", "TransmissionMonitor"]

#: The smallest time step the samplers use in place of a zero duration (seconds).
EPSILON_SEC = 1e-7
