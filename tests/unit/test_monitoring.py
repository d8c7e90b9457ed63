"""cloudfiles.monitoring: TransmissionMonitor totals/histograms/merge/pickle and a brief IOSampler run."""

from __future__ import annotations

import importlib.util
import pickle
import threading
import time

import numpy as np
import pytest

from cloudfiles.monitoring import IOEnum, IOSampler, TransmissionMonitor

HAS_MPL = importlib.util.find_spec("matplotlib") is not None


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_GCE_CHECK", "True")


def _aligned_base() -> float:
    """A whole monotonic second about 1000 s ago (histogram bins start on whole monotonic seconds)."""
    return float(int(time.monotonic()) - 1000)


def test_ioenum() -> None:
    assert IOEnum.RX.value == 1 and IOEnum.TX.value == 2


def test_empty_monitor() -> None:
    tm = TransmissionMonitor(IOEnum.RX)
    assert tm.total_bytes() == 0
    assert tm.total_bps() == 0.0
    assert tm.current_bps() == 0.0
    assert tm.peak_bps() == 0.0
    assert tm.histogram().size == 0
    assert tm.start_unix_time() == 0.0 and tm.end_unix_time() == 0.0
    assert len(tm) == 0


def test_totals_and_units() -> None:
    tm = TransmissionMonitor(IOEnum.TX)
    t0 = _aligned_base()
    tm.record(1_000_000, t0, t0 + 1.0)
    tm.record(3_000_000, t0 + 1.0, t0 + 2.0)
    assert tm.total_bytes() == 4_000_000
    assert tm.total_bps() == pytest.approx(16e6)
    assert tm.total_Mbps() == pytest.approx(16.0)
    assert tm.total_Gbps() == pytest.approx(0.016)
    assert tm.total_MBps() == pytest.approx(2.0)
    assert tm.total_GBps() == pytest.approx(0.002)
    assert tm.end_unix_time() - tm.start_unix_time() == pytest.approx(2.0)
    assert tm.start_unix_time() == pytest.approx(time.time() - 1000, abs=2)
    assert tm.direction == IOEnum.TX


def test_histogram_spreads_bytes_over_duration() -> None:
    tm = TransmissionMonitor(IOEnum.RX)
    t0 = _aligned_base()
    tm.record(400, t0 + 0.5, t0 + 2.5)  # 200 B/s over [0.5, 2.5)
    tm.record(50, t0 + 3.0, t0 + 3.0)  # instantaneous: lasts 1 µs, lands in the bin of its start
    hist = tm.histogram(1.0)
    assert hist.dtype == np.uint64
    assert hist.tolist() == [100, 200, 100, 50]
    assert int(hist.sum()) == tm.total_bytes()
    assert tm.peak_bps() == pytest.approx(200 * 8)
    half = tm.histogram(0.5)
    assert half.tolist() == [0, 100, 100, 100, 100, 0, 50, 0]  # bins up to the whole second after
    with pytest.raises(ValueError):
        tm.histogram(0)


def test_histogram_conserves_bytes_random() -> None:
    rng = np.random.default_rng(0)
    tm = TransmissionMonitor(IOEnum.RX)
    t0 = _aligned_base()
    total = 0
    for _ in range(500):
        start = t0 + float(rng.uniform(0, 30))
        n = int(rng.integers(0, 10_000_000))
        tm.record(n, start, start + float(rng.exponential(2.0)))
        total += n
    for res in (0.1, 1.0, 7.0):
        hist = tm.histogram(res)
        assert abs(int(hist.sum()) - total) <= hist.size  # rounding only


def test_current_bps_prorates_recent_flights() -> None:
    tm = TransmissionMonitor(IOEnum.RX)
    now = time.monotonic()
    tm.record(10_000, now - 100, now - 90)  # long ago: ignored
    tm.record(1_000, now - 1.0, now)  # fully inside a 2 s window
    tm.record(2_000, now - 3.0, now - 1.0)  # half inside
    bps = tm.current_bps(look_back_sec=2.0)
    assert bps == pytest.approx((1_000 + 1_000) / 2.0 * 8, rel=0.05)
    assert tm.current_Mbps(2.0) == pytest.approx(bps / 1e6, rel=0.05)
    assert tm.current_MBps(2.0) == pytest.approx(bps / 8e6, rel=0.05)
    assert tm.current_Gbps(2.0) == pytest.approx(bps / 1e9, rel=0.05)
    assert tm.current_GBps(2.0) == pytest.approx(bps / 8e9, rel=0.05)


def test_start_end_io_flow() -> None:
    tm = TransmissionMonitor(IOEnum.TX)
    a = tm.start_io(100)
    b = tm.start_io(50)
    assert tm.num_in_flight() == 2 and tm.in_flight_bytes() == 150
    tm.end_io(a, 100)
    tm.end_error(b)
    assert tm.num_in_flight() == 0 and tm.in_flight_bytes() == 0
    assert tm.total_bytes() == 100 and len(tm) == 2  # closed by the error with 0 bytes
    tm.end_io(b, 50)  # ...and completed by a later end_io, as cloud-files' get does
    assert tm.total_bytes() == 150 and len(tm) == 2
    with pytest.raises(KeyError):
        tm.end_io(b, 50)  # but only once
    with pytest.raises(KeyError):
        tm.end_io("unknown", 1)


def test_start_io_with_explicit_start_time() -> None:
    tm = TransmissionMonitor(IOEnum.RX)
    fid = tm.start_io(0, start_time=time.monotonic() - 4.0)
    tm.end_io(fid, 4_000)
    assert tm.total_bps() == pytest.approx(8_000, rel=0.05)


def test_merge() -> None:
    t0 = _aligned_base()
    a = TransmissionMonitor(IOEnum.RX)
    a.record(100, t0, t0 + 1)
    b = TransmissionMonitor(IOEnum.RX)
    b.record(300, t0 + 1, t0 + 2)
    b.record(0, t0 + 1, t0 + 1.5, error=True)
    merged = TransmissionMonitor.merge([a, b])
    assert merged.total_bytes() == 400
    assert len(merged) == 3
    assert merged.direction == IOEnum.RX
    assert merged.total_bps() == pytest.approx(400 * 8 / 2)
    assert merged.histogram().tolist() == [100, 300]
    assert a.total_bytes() == 100 and b.total_bytes() == 300  # inputs untouched
    assert TransmissionMonitor.merge([]).direction == IOEnum.TX
    assert a.merge([a, a]).total_bytes() == 200  # classmethod callable on an instance too


def test_pickle_roundtrip() -> None:
    t0 = _aligned_base()
    tm = TransmissionMonitor(IOEnum.TX)
    tm.record(123, t0, t0 + 1)
    pending = tm.start_io(7)
    clone = pickle.loads(pickle.dumps(tm))
    assert clone.total_bytes() == 123
    assert clone.histogram().tolist() == tm.histogram().tolist()
    assert clone.direction == IOEnum.TX
    clone.end_io(pending, 7)  # the lock and in-flight table survive pickling
    assert clone.total_bytes() == 130 and tm.total_bytes() == 123
    assert "TransmissionMonitor(TX" in repr(clone)


def test_thread_safety() -> None:
    tm = TransmissionMonitor(IOEnum.RX)

    def worker() -> None:
        for _ in range(2000):
            fid = tm.start_io(1)
            tm.end_io(fid, 1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        tm.histogram(0.01)
        tm.current_bps()
    for t in threads:
        t.join()
    assert tm.total_bytes() == 16_000
    assert len(tm) == 16_000
    assert tm.num_in_flight() == 0


def test_recording_is_cheap() -> None:
    tm = TransmissionMonitor(IOEnum.RX)
    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        tm.end_io(tm.start_io(10), 10)
    per_call = (time.perf_counter() - start) / n
    assert per_call < 50e-6
    start = time.perf_counter()
    tm.histogram(0.001)
    tm.peak_bps()
    assert time.perf_counter() - start < 1.0


def test_plots_need_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate a machine without matplotlib: a None entry makes its import fail.
    import sys

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    tm = TransmissionMonitor(IOEnum.RX)
    with pytest.raises(ImportError):
        tm.plot_histogram()
    with pytest.raises(ImportError):
        tm.plot_gantt()
    with pytest.raises(ImportError):
        IOSampler().plot_histogram()


@pytest.mark.skipif(not HAS_MPL, reason="matplotlib not installed")
def test_plots_write_files(tmp_path: object) -> None:  # pragma: no cover - optional dependency
    import matplotlib

    matplotlib.use("Agg")
    t0 = _aligned_base()
    tm = TransmissionMonitor(IOEnum.RX)
    tm.record(1000, t0, t0 + 1)
    tm.record(0, t0, t0 + 0.5, error=True)
    tm.plot_histogram(filename=f"{tmp_path}/h.png")
    tm.plot_gantt(filename=f"{tmp_path}/g.png")


# --------------------------------------------------------------------------------------------------------
# IOSampler
# --------------------------------------------------------------------------------------------------------


def _fake_samples(sampler: IOSampler, ts: list[float], rx: list[int], tx: list[int]) -> None:
    n = len(ts)
    sampler._samples_time[:n] = ts
    sampler._samples_bytes_rx[:n] = rx
    sampler._samples_bytes_tx[:n] = tx
    sampler._cursor = n % sampler._samples_time.size
    sampler._num_samples = n


def test_iosampler_validation() -> None:
    with pytest.raises(ValueError):
        IOSampler(buffer_sec=0)
    with pytest.raises(ValueError):
        IOSampler(interval=-1)


def test_iosampler_empty() -> None:
    s = IOSampler()
    assert s.num_samples() == 0
    assert s.peak_bps() == (0.0, 0.0)
    assert s.current_bps() == (0.0, 0.0)
    assert s.histogram_rx().size == 0 and s.histogram_tx().size == 0
    assert s.start_time() == 0.0 and s.end_time() == 0.0
    assert not s.is_sampling()
    s.stop_sampling()  # harmless when not running


def test_iosampler_rates_on_synthetic_samples() -> None:
    s = IOSampler(buffer_sec=100, interval=1.0)
    ts = [0.0, 1.0, 2.0, 3.0, 4.0]
    rx = [0, 100, 300, 300, 1300]
    tx = [0, 10, 20, 30, 40]
    _fake_samples(s, ts, rx, tx)
    assert s.num_samples() == 5
    assert s.histogram_rx(1.0).tolist() == [100, 200, 0, 1000]
    assert s.histogram_tx(2.0).tolist() == [20, 20]
    assert s.peak_bps(window=1.0) == (pytest.approx(8000.0), pytest.approx(80.0))
    assert s.current_bps(look_back_sec=2.0) == (pytest.approx(1000 / 2 * 8), pytest.approx(80.0))
    assert s.start_time() == 0.0 and s.end_time() == 4.0


def test_iosampler_runs_briefly() -> None:
    with IOSampler(buffer_sec=5, interval=0.01) as s:
        assert s.is_sampling()
        time.sleep(0.15)
        s.start_sampling()  # no-op while running
    assert not s.is_sampling()
    n = s.num_samples()
    assert n >= 3
    rx, tx, ts = s.samples()  # 5 s of 10 ms slots: nothing wrapped yet
    assert rx.size == tx.size == ts.size == n
    assert np.all(np.diff(ts) > 0)
    assert np.all(np.diff(rx) >= 0) and np.all(np.diff(tx) >= 0)
    assert int(s.histogram_rx(0.05).sum()) == int(rx[-1] - rx[0])
    down, up = s.current_bps()
    assert down >= 0 and up >= 0
    assert s.end_time() >= s.start_time()


def test_iosampler_circular_buffer_wraps() -> None:
    s = IOSampler(buffer_sec=0.05, interval=0.01)  # 6 slots
    s.start_sampling()
    time.sleep(0.15)
    s.stop_sampling()
    size = s._samples_time.size
    assert s.num_samples() == s._num_samples > size  # samples taken, as in cloud-files
    _, _, ts = s.samples()
    assert ts.size == size and np.all(np.diff(ts) > 0)


def test_iosampler_restart_and_pickle() -> None:
    s = IOSampler(buffer_sec=1, interval=0.01)
    s.start_sampling()
    time.sleep(0.03)
    s.start_sampling(force=True)  # restarts with fresh buffers
    assert s.is_sampling()
    s.stop_sampling()
    clone = pickle.loads(pickle.dumps(s))
    assert not clone.is_sampling()
    assert clone.num_samples() == s.num_samples()
    clone.start_sampling()
    clone.stop_sampling()


# --------------------------------------------------------------------------------------------------------
# Parity with cloud-files 6.4.3: the numbers below were produced by its TransmissionMonitor for the same
# script of calls under the same fake clock (/work/oracle's venv; see ci/gen-public-names.py).
# --------------------------------------------------------------------------------------------------------


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _scripted_monitor(monkeypatch: pytest.MonkeyPatch) -> tuple[TransmissionMonitor, _Clock]:
    clock = _Clock(1000.25)
    monkeypatch.setattr(time, "monotonic", clock)
    tm = TransmissionMonitor(IOEnum.RX)
    a = tm.start_io(100, start_time=1000.25)
    clock.t = 1002.75
    tm.end_io(a, 1000)
    b = tm.start_io(0)  # starts and ends on the same clock tick: a 1 µs flight
    tm.end_io(b, 50)
    c = tm.start_io(0, start_time=1001.0)
    clock.t = 1003.5
    tm.end_error(c)  # error first, then end_io: cloud-files' get
    clock.t = 1004.2
    tm.end_io(c, 300)
    d = tm.start_io(0, start_time=1003.0)
    clock.t = 1003.9
    tm.end_io(d, 77)
    tm.end_error(d)  # end_io first, then the error: cloud-files' transfers
    return tm, clock


def test_numbers_match_cloud_files(monkeypatch: pytest.MonkeyPatch) -> None:
    tm, clock = _scripted_monitor(monkeypatch)
    assert tm.total_bytes() == 1427
    assert tm.total_bps() == pytest.approx(2890.126582278481)
    assert tm.histogram(1.0).tolist() == [300, 494, 444, 171, 19]
    assert tm.histogram(0.5).tolist() == [100, 200, 247, 247, 247, 197, 90, 81, 19, 0]
    assert tm.histogram(2.0).tolist() == [794, 614, 19]
    assert tm.peak_bps() == pytest.approx(3952.0)
    assert [tm.total_Mbps(), tm.total_Gbps(), tm.total_MBps(), tm.total_GBps()] == pytest.approx(
        [0.002890126582278481, 2.890126582278481e-06, 0.0003612658227848101, 3.612658227848101e-07]
    )
    assert tm.end_unix_time() - tm.start_unix_time() == pytest.approx(3.95, abs=2e-6)
    assert len(tm._errors) == 2
    clock.t = 1004.5
    assert tm.current_bps() == pytest.approx(1544.0)
    assert tm.current_bps(1.0) == pytest.approx(800.0)
    assert tm.current_bps(10) == pytest.approx(2686.1176470588234)
    assert [tm.current_Mbps(1.0), tm.current_Gbps(1.0), tm.current_MBps(1.0), tm.current_GBps(1.0)] == (
        pytest.approx([0.0008, 8e-07, 0.0001, 1e-07])
    )
    with pytest.raises(KeyError):
        tm.end_io(tm._ids[0], 5)  # already landed


def test_pickle_and_merge_match_cloud_files(monkeypatch: pytest.MonkeyPatch) -> None:
    tm, clock = _scripted_monitor(monkeypatch)
    clock.t = 1004.5
    clone = pickle.loads(pickle.dumps(tm))
    assert clone.total_bytes() == 1427
    assert clone.histogram(1.0).tolist() == [300, 494, 444, 171, 19]
    e = clone.start_io(0)
    clock.t = 1005.0
    clone.end_io(e, 5)
    assert clone.total_bytes() == 1432 and tm.total_bytes() == 1427

    other = TransmissionMonitor(IOEnum.TX)
    f = other.start_io(0, start_time=1010.0)
    clock.t = 1011.3
    other.end_io(f, 4000)
    merged = TransmissionMonitor.merge([tm, other])
    assert merged.total_bytes() == 5427
    assert merged.histogram(1.0).tolist() == [300, 494, 444, 171, 19, 0, 0, 0, 0, 0, 3077, 923]
    assert merged.direction == IOEnum.RX
    assert TransmissionMonitor.merge([]).direction == IOEnum.TX
    # Not copied: cloud-files' merged monitor lost the error marks and reported total_bps() == 0.
    assert len(merged._errors) == 2
    assert merged.total_bps() == pytest.approx(5427 * 8 / 11.05)


def test_merge_across_processes_uses_unix_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A monitor from a process (or machine) whose monotonic clock is 500 s ahead lands on our time line."""
    tm, _clock = _scripted_monitor(monkeypatch)
    remote = TransmissionMonitor(IOEnum.RX)
    remote.record(4000, 1010.0, 1011.3)
    # As recorded where the monotonic clock reads 500 s more for the same instant:
    remote._begin_us = [b + 500_000_000 for b in remote._begin_us]
    remote._end_us = [e + 500_000_000 for e in remote._end_us]
    remote._unix_offset_us -= 500_000_000
    remote = pickle.loads(pickle.dumps(remote))
    merged = TransmissionMonitor.merge([tm, remote])
    assert merged.histogram(1.0).tolist() == [300, 494, 444, 171, 19, 0, 0, 0, 0, 0, 3077, 923]
    assert merged.end_unix_time() - merged.start_unix_time() == pytest.approx(11.05, abs=2e-6)


def test_empty_monitor_does_not_raise() -> None:
    """cloud-files raised ZeroDivisionError (total_bps) and ValueError (peak_bps) here."""
    tm = TransmissionMonitor(IOEnum.RX)
    assert tm.total_bps() == 0.0 and tm.peak_bps() == 0.0


def test_histogram_flight_ending_on_last_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    """cloud-files raised IndexError when a flight ended exactly on a whole second."""
    clock = _Clock(10.5)
    monkeypatch.setattr(time, "monotonic", clock)
    tm = TransmissionMonitor(IOEnum.RX)
    fid = tm.start_io(0)
    clock.t = 12.0
    tm.end_io(fid, 300)
    assert tm.histogram(1.0).tolist() == [100, 200]


def test_iosampler_numbers_match_cloud_files() -> None:
    """Rates and histograms of cloud-files 6.4.3's IOSampler for the same samples (oracle run)."""
    s = IOSampler(buffer_sec=100, interval=0.25)
    _fake_samples(
        s,
        [0.0, 0.25, 0.5, 0.8, 1.0, 1.3, 2.0, 2.2, 3.9],
        [0, 100, 300, 300, 1300, 1400, 5000, 5100, 9000],
        [0, 10, 20, 30, 40, 45, 60, 61, 99],
    )
    assert s.peak_bps(1.0) == (pytest.approx(31333.333333333336), pytest.approx(320.0))
    assert s.peak_bps(0.3) == (pytest.approx(41142.857142857145), pytest.approx(320.0))
    assert s.current_bps(0.5) == (pytest.approx(18352.94117647059), pytest.approx(178.82352941176472))
    assert s.current_bps(10.0) == (pytest.approx(18461.53846153846), pytest.approx(203.0769230769231))
    assert s.histogram_rx(1.0).tolist() == [1300, 3700, 4000, 0]
    assert s.histogram_tx(0.5).tolist() == [20, 20, 20, 0, 39, 0, 0, 0]
    assert s.end_time() == 3.9 and s.start_time() == 0.0  # cloud-files: -1.0 and TypeError
