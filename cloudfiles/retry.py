"""Retry and timeout policy as small value objects.

The wait before retry ``n`` (0-based) is drawn uniformly from ``[0, min(cap, base * 2**n)]``: the
"full jitter" exponential window cloud-files used (tenacity's ``wait_random_exponential``), but with a
per-wait cap and a total budget so a dead server costs seconds, not minutes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pycurl

# libcurl result codes worth another attempt: the network or the server hiccupped, the request was fine.
RETRYABLE_CURL_CODES: frozenset[int] = frozenset(
    {
        pycurl.E_COULDNT_RESOLVE_HOST,  # 6: transient resolver failures happen
        pycurl.E_COULDNT_CONNECT,  # 7
        pycurl.E_PARTIAL_FILE,  # 18: body shorter than Content-Length
        pycurl.E_OPERATION_TIMEDOUT,  # 28
        pycurl.E_SSL_CONNECT_ERROR,  # 35
        pycurl.E_GOT_NOTHING,  # 52: server closed without answering
        pycurl.E_SEND_ERROR,  # 55
        pycurl.E_RECV_ERROR,  # 56: connection reset
        65,  # CURLE_SEND_FAIL_REWIND: a reused connection dropped mid-upload; we resend from the start
        16,  # CURLE_HTTP2: stream errors
        92,  # CURLE_HTTP2_STREAM
    }
)

TIMEOUT_CURL_CODES: frozenset[int] = frozenset({pycurl.E_OPERATION_TIMEDOUT})


@dataclass(frozen=True, slots=True)
class Retry:
    """How often and how patiently to retry one request."""

    #: total tries, the first included (cloud-files: 7)
    attempts: int = 7
    #: first window in seconds; doubles each retry
    base: float = 0.5
    #: no single wait is longer than this
    cap: float = 10.0
    #: stop retrying once this many seconds have been spent waiting on one request
    budget: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def retryable_status(self, status: int) -> bool:
        """408 Request Timeout, 429 Too Many Requests and every 5xx are retried; other 4xx are not."""
        return status >= 500 or status in (408, 429)

    def retryable_curl(self, code: int) -> bool:
        return code in RETRYABLE_CURL_CODES

    def wait(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (0 for the first retry)."""
        window = min(self.cap, self.base * (2**retry_number))
        delay = self.rng.uniform(0.0, window)
        if retry_after is not None:
            # The server said when; honour it, but never beyond our own cap.
            delay = max(delay, min(retry_after, self.cap))
        return delay

    def allows(self, attempt: int, waited: float, next_wait: float) -> bool:
        """May attempt number ``attempt + 1`` happen, given the time already spent waiting?"""
        return attempt < self.attempts and waited + next_wait <= self.budget


NO_RETRY = Retry(attempts=1)


@dataclass(frozen=True, slots=True)
class Timeout:
    """Every request has a connect timeout and a stall (low-speed) timeout: nothing hangs forever."""

    #: seconds to establish the connection (TCP + TLS)
    connect: float = 10.0
    #: abort when fewer than ``low_speed_bytes`` per second arrive for this many seconds
    read: float = 30.0
    low_speed_bytes: int = 1
    #: optional cap on a whole request, seconds (None: unlimited, large objects may take long)
    total: float | None = None
