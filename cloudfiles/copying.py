"""The client-side copy behind ``transfer_from``: blocks of objects moved with bounded memory.

One block at a time (``block_size`` objects): sizes are known from the listing or looked up in one
batch; small objects go through one pipelined download -> upload pass, large ones are streamed one by
one (see :mod:`cloudfiles.streaming`). Nothing here knows a scheme: it drives the interfaces' batch
calls and the destination facade's ``puts``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from . import streaming
from .interfaces.base import GetItem
from .monitoring import IOEnum, TransmissionMonitor
from .reads import finish_get
from .streaming import (
    Planned,
    RangedReader,
    bounded_uploads,
    transcode,
    upload_part_bytes,
)


class BlockCopier:
    """Copies planned objects from ``src`` to ``dest`` (both CloudFiles facades)."""

    def __init__(
        self,
        src: Any,
        dest: Any,
        *,
        reencode: bool,
        target: str | None,
        content_type: str | None,
        allow_missing: bool,
        threshold: int | None = None,
    ) -> None:
        self.src = src
        self.dest = dest
        self.reencode = reencode
        self.target = target
        self.content_type = content_type
        self.allow_missing = allow_missing
        self.threshold = streaming.STREAM_THRESHOLD if threshold is None else threshold
        self.recordings: list[TransmissionMonitor] = []
        self.rx = TransmissionMonitor(IOEnum.RX)
        self.recordings.append(self.rx)
        # A store of local files hands its objects over open (the destination streams from them).
        self._open = src.interface.stored_opener()
        self._local = self._open is not None
        # Objects of an in-process store are in memory already: streaming them saves nothing.
        self._streamable = not src.interface.in_process
        self._dest_sep = dest.protocol != "file" and os.sep != "/"

    def copy(self, block: list[Planned]) -> None:
        """Copy one block: small objects pipelined in one pass, then the large ones streamed."""
        small: list[Planned] = []
        large: list[Planned] = []
        for p in block:
            big = self._streamable and p.size is not None and p.size > self.threshold
            (large if big else small).append(p)
        if small:
            handles: list[Any] = []
            try:
                self._put(self._small_items(small, handles))
            finally:
                for fh in handles:  # closed only once every upload reading them has finished
                    fh.close()
        for planned in large:
            self._copy_large(planned)

    # -- small objects -----------------------------------------------------------------------------
    def _small_items(self, block: list[Planned], handles: list[Any]) -> Iterator[dict[str, Any]]:
        if self._local and not self.reencode:
            yield from self._local_items(block, handles)
            return
        items = (GetItem(p.src, tags=p.dest) for p in block)
        for res in self.src.interface.get_files(items):
            flight = self.rx.start_io(0)
            got = finish_get(res, raw=True)
            if got["error"] is not None:
                self.rx.end_error(flight)
                raise got["error"]
            content = got["content"]
            self.rx.end_io(flight, 0 if content is None else len(content))
            yield self._item(got["path"], got["tags"], content, got["compress"])

    def _local_items(self, block: list[Planned], handles: list[Any]) -> Iterator[dict[str, Any]]:
        """Local files (see ``stored_opener``) are handed over open: the destination streams from the descriptor."""
        for p in block:
            found = self._open(p.src)
            if found is None:
                yield self._item(p.src, p.dest, None, None)
                continue
            fh, encoding = found
            handles.append(fh)
            yield self._item(p.src, p.dest, fh, encoding)

    def _item(self, src: str, dest: str, content: Any, encoding: str | None) -> dict[str, Any]:
        if content is None:
            if not self.allow_missing:
                raise FileNotFoundError(f"{self.src.abspath(src)} does not exist in the source")
            content, encoding = b"", None
        elif self.reencode:
            content, encoding = transcode(content, encoding, self.target, src)
        if self._dest_sep:
            dest = dest.replace(os.sep, "/")
        return {"path": dest, "content": content, "compress": encoding, "content_type": self.content_type}

    def _put(self, items: Iterable[dict[str, Any]]) -> None:
        _count, tx = self.dest.puts(items, raw=True, progress=False, parallel=1, return_recording=True)
        self.recordings.append(tx)

    # -- large objects -----------------------------------------------------------------------------
    def _copy_large(self, planned: Planned) -> None:
        if self._local:
            found = self._open(planned.src)
            if found is None:
                self._put([self._item(planned.src, planned.dest, None, None)])
                return
            fh, encoding = found
            with fh:
                if self.reencode and encoding != self.target:
                    # Re-encoding needs the whole object (no streaming encoders yet).
                    self._put([self._item(planned.src, planned.dest, fh.read(), encoding)])
                else:
                    self._upload_stream(planned, fh, encoding)
            return
        try:
            reader = RangedReader.open(self.src.interface, planned.src)
        except FileNotFoundError:
            self._put([self._item(planned.src, planned.dest, None, None)])
            return
        with reader:
            if self.reencode and reader.encoding != self.target:
                self._put([self._item(planned.src, planned.dest, reader.read(), reader.encoding)])
            else:
                self._upload_stream(planned, reader, reader.encoding)

    def _upload_stream(self, planned: Planned, stream: Any, encoding: str | None) -> None:
        started = time.monotonic()
        dest_iface = self.dest.interface
        with bounded_uploads(dest_iface, upload_part_bytes(dest_iface)):
            self._put([self._item(planned.src, planned.dest, stream, encoding)])
        flight = self.rx.start_io(planned.size or 0, started)
        self.rx.end_io(flight, planned.size or 0)


__all__ = ["BlockCopier"]
