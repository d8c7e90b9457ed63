"""Type stubs for the compiled `cloudfiles._loop` extension: the engine's socket loop in C."""

import pycurl
from typing_extensions import Self, disjoint_base

SWEEP_SECONDS: float

@disjoint_base
class SocketLoop:
    """Drives one pycurl ``CurlMulti`` with epoll and libcurl's socket and timer callbacks set in C."""

    def __new__(cls, multi: pycurl.CurlMulti) -> Self: ...
    def step(self, max_wait: float = -1.0, in_flight: int = 0) -> None:
        """Act on sockets and libcurl's timer until one of ``in_flight`` transfers finished or ``max_wait``."""
    @property
    def deadline(self) -> float | None:
        """libcurl's next timeout as ``time.monotonic()`` seconds, or None."""
    def watched(self) -> list[int]:
        """The sockets being watched (their removal not pending)."""
    def close(self) -> None:
        """Stop driving the multi: its callbacks are unset and the epoll descriptor closed."""
