"""The per-host window policy (cloudfiles.congestion) and the connection-cap setting, without sockets.

Times are passed in, so nothing here sleeps or depends on the machine's speed.
"""

from __future__ import annotations

from typing import Any

import pycurl
import pytest

from cloudfiles import congestion
from cloudfiles.congestion import GROW_EVERY, PROBE_EVERY, SLOW_CONNECT, HostWindow, congestion_signal, origin
from cloudfiles.engine import MAX_HOST_CONNECTIONS_ENV, max_host_connections_from_env


def test_origin_is_scheme_host_and_port() -> None:
    assert origin("http://127.0.0.1:8080/storage/v1/b/x/o/a%2Fb?fields=name") == "http://127.0.0.1:8080"
    assert origin("https://storage.googleapis.com/b/o") == "https://storage.googleapis.com"
    assert origin("http://host") == "http://host"


def test_a_cut_halves_the_load_once_per_congestion_event() -> None:
    w = HostWindow(20, in_flight=20)
    assert w.congested(load=20, started=0.0, now=1.0)
    assert (w.size, w.ceiling, w.cuts) == (10, 20, 1)
    # Transfers started before the cut report the same event: no second cut.
    assert not w.congested(load=15, started=0.5, now=1.1)
    assert w.size == 10
    # One started after it is a new event.
    assert w.congested(load=10, started=1.2, now=2.3)
    assert (w.size, w.ceiling, w.cuts) == (5, 10, 2)


def test_a_lone_transfer_is_no_congestion_signal() -> None:
    w = HostWindow(20)
    assert not w.congested(load=1, started=0.0, now=1.0)
    assert (w.size, w.cuts) == (20, 0)


def test_the_window_never_goes_below_one() -> None:
    w = HostWindow(4)
    for i in range(5):
        w.congested(load=2, started=float(i), now=i + 0.5)
    assert w.size == 1


def test_growth_needs_a_window_of_successes_and_time() -> None:
    w = HostWindow(20)
    w.congested(load=12, started=0.0, now=0.0)
    assert w.size == 6
    # Many successes at once do not grow it: congestion is reported one SYN resend late.
    for _ in range(100):
        w.succeeded(now=GROW_EVERY / 2)
    assert w.size == 6
    w.succeeded(now=GROW_EVERY)
    assert w.size == 7
    # The next step needs another interval and another window's worth.
    w.succeeded(now=GROW_EVERY + 0.1)
    assert w.size == 7


def test_growth_stops_below_the_ceiling_then_probes_rarely() -> None:
    w = HostWindow(20)
    w.congested(load=8, started=0.0, now=0.0)
    now = 0.0
    for _ in range(10):  # plenty of intervals with plenty of successes
        now += GROW_EVERY
        for _ in range(20):
            w.succeeded(now)
    assert (w.size, w.ceiling) == (7, 8)  # just below the load that overflowed
    for _ in range(20):
        w.succeeded(now + PROBE_EVERY)
    assert (w.size, w.ceiling) == (8, 9)  # one probe


def test_a_recovered_window_can_be_dropped() -> None:
    w = HostWindow(4)
    w.congested(load=4, started=0.0, now=0.0)
    assert w.size == 2 and not w.recovered
    now = 0.0
    for _ in range(2):
        now += PROBE_EVERY
        for _ in range(4):
            w.succeeded(now)
    assert w.size == 4 and w.recovered


class FakeHandle:
    """What congestion_signal reads of a finished pycurl handle."""

    def __init__(self, **info: int) -> None:
        self.info = {
            pycurl.PRETRANSFER_TIME_T: 0, pycurl.NUM_CONNECTS: 1, pycurl.CONNECT_TIME_T: 0,
            **{getattr(pycurl, name): value for name, value in info.items()},
        }
        if congestion._QUEUE_TIME is not None:
            self.info.setdefault(congestion._QUEUE_TIME, 0)

    def getinfo(self, option: int) -> Any:
        return self.info[option]


@pytest.mark.parametrize(
    ("code", "status", "info", "signal"),
    [
        (pycurl.E_COULDNT_CONNECT, 0, {}, True),  # refused
        (pycurl.E_OPERATION_TIMEDOUT, 0, {}, True),  # connect timed out: nothing sent
        (pycurl.E_OPERATION_TIMEDOUT, 0, {"PRETRANSFER_TIME_T": 500}, False),  # slow answer: not a connect
        (pycurl.E_RECV_ERROR, 0, {}, True),  # a fresh connection reset before any answer
        (pycurl.E_RECV_ERROR, 0, {"NUM_CONNECTS": 0}, False),  # a reused keep-alive connection reset
        (pycurl.E_GOT_NOTHING, 0, {}, False),  # closed without an answer: the server's choice, not load
        (pycurl.E_RECV_ERROR, 200, {}, False),  # cut mid-body: an answer came
        (pycurl.E_PARTIAL_FILE, 200, {}, False),
    ],
)
def test_which_failures_signal_congestion(code: int, status: int, info: dict[str, int], signal: bool) -> None:
    assert congestion_signal(FakeHandle(**info), code, status, elapsed=0.01) is signal


def test_a_slow_connect_signals_congestion() -> None:
    slow = int(SLOW_CONNECT * 1e6) + 1
    assert congestion_signal(FakeHandle(CONNECT_TIME_T=slow), 0, 200, elapsed=1.5)
    assert not congestion_signal(FakeHandle(CONNECT_TIME_T=1000), 0, 200, elapsed=1.5)  # a slow body
    if congestion._QUEUE_TIME is not None:  # waiting for a connection slot is not the server's doing
        queued = FakeHandle(CONNECT_TIME_T=slow)
        queued.info[congestion._QUEUE_TIME] = slow - 1000
        assert not congestion_signal(queued, 0, 200, elapsed=1.5)


def test_max_host_connections_from_the_environment() -> None:
    assert max_host_connections_from_env({}) == 0
    assert max_host_connections_from_env({MAX_HOST_CONNECTIONS_ENV: " 4 "}) == 4
    for bad in ("four", "-1"):
        with pytest.raises(ValueError, match=MAX_HOST_CONNECTIONS_ENV):
            max_host_connections_from_env({MAX_HOST_CONNECTIONS_ENV: bad})
