"""The engine's state of one request across its attempts (:class:`Transfer`), and of a large GET fetched
as ranged parts into one buffer (:class:`Split`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._sink import BodySink, BufferSource, FileSource
from .exceptions import CloudFilesError
from .messages import Request, header_value

if TYPE_CHECKING:
    from .congestion import HostWindow


class Split:
    """A large GET being fetched as ranged parts into one buffer."""

    __slots__ = ("error", "etag", "header_lines", "remaining", "sink", "size", "transfer")

    def __init__(self, transfer: Transfer, size: int, header_lines: list[bytes]) -> None:
        self.transfer = transfer
        self.sink = BodySink()
        self.sink.allocate(size)
        self.header_lines = header_lines
        self.size = size
        #: the first response's strong ETag: every part is fetched If-Match it and must carry it
        self.etag = header_value(header_lines, b"etag")
        self.remaining = 0
        #: the first failure; once set, parts not yet sent are dropped and the prefault work stops
        self.error: CloudFilesError | None = None


class Transfer:
    """Engine-side state of one request across its attempts."""

    __slots__ = (
        "attempt",
        "file_pos",
        "load",
        "range",
        "request",
        "requeues",
        "sink",
        "source",
        "split",
        "start",
        "waited",
        "whole",
        "window",
    )

    def __init__(
        self,
        request: Request,
        split: Split | None = None,
        byte_range: tuple[int, int] | None = None,
        *,
        whole: bool = False,
    ) -> None:
        self.request = request
        self.sink = BodySink()
        self.attempt = 0
        self.waited = 0.0
        self.start = 0.0
        self.split = split  # set on the parts of a split GET
        #: the body source libcurl reads from (it holds only a pointer to it): a buffer's is kept for
        #: retries, a file's is made per attempt
        self.source: BufferSource | FileSource | None = None
        self.file_pos: int | None = None
        self.range = byte_range  # a split part's [start, end)
        self.whole = whole  # a split GET fetched again in one piece (its object changed mid-download)
        self.window: HostWindow | None = None  # its host's window, when that host has one
        self.requeues = 0  # congestion requeues not counted as attempts (see congestion.FREE_REQUEUES)
        self.load = 0  # transfers in flight (to its host when windowed), itself included, when it started
