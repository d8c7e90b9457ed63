"""Listing and moving data between CloudFiles: ``list``, ``transfer_to``, ``transfer_from``, ``move``, ``moves``.

The copy and move strategies live in :mod:`cloudfiles.transfers`; this is their API face.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, cast

from .. import paths, transfers
from ..interfaces.base import shaped_listing
from ..lib import toiter
from ..monitoring import TransmissionMonitor
from ..shapes import totalfn
from .host import FacadeHost

if TYPE_CHECKING:
    from ..cloudfiles import CloudFiles


class ListingMixin(FacadeHost):
    """CloudFiles' listing and transfers (see :class:`~cloudfiles.cloudfiles.CloudFiles`)."""

    def list(
        self,
        prefix: str = "",
        flat: bool = False,
        size: bool = False,
        return_resume_token: bool = False,
        resume_token: str | None = None,
    ) -> Generator[Any, None, None]:
        """Stream file names relative to the cloudpath.

        prefix: ``'bigarr'`` matches names starting with it (``bigarray/...`` too);
          ``'bigarray/'`` lists inside that directory.
        flat: one level only; subdirectories appear once as ``'dir/'``.
        size: yield ``(name, size)``. return_resume_token: yield ``(name, token)`` (or
          ``(name, size, token)``); only gs/s3 have tokens, other schemes give None.
        """
        entries = self.interface.list_files(prefix or "", flat=flat, size=size, resume_token=resume_token)
        yield from shaped_listing(entries, size=size, return_resume_token=return_resume_token)


    def transfer_to(
        self,
        cf_dest: Any,
        paths: Any = None,
        block_size: int | None = transfers.DEFAULT_BLOCK_SIZE,
        reencode: Any = None,
        content_type: str | None = None,
        allow_missing: bool = False,
        progress: Any = None,
        resumable: bool = False,
    ) -> TransmissionMonitor:
        """Copy files from this CloudFiles to ``cf_dest`` (a CloudFiles or a cloudpath); see
        :meth:`transfer_from`."""
        dest = self._derive(cf_dest) if isinstance(cf_dest, str) else cf_dest
        return dest.transfer_from(
            self, paths, block_size=block_size, reencode=reencode, content_type=content_type,
            allow_missing=allow_missing, progress=progress, resumable=resumable,
        )

    def transfer_from(
        self,
        cf_src: Any,
        paths: Any = None,
        block_size: int | None = transfers.DEFAULT_BLOCK_SIZE,
        reencode: Any = None,
        content_type: str | None = None,
        allow_missing: bool = False,
        progress: Any = None,
        resumable: bool = False,
    ) -> TransmissionMonitor:
        """Copy files from ``cf_src`` (a CloudFiles or a cloudpath) into this CloudFiles.

        paths: None (everything ``cf_src`` lists), or an iterable of names, ``(src, dest)`` tuples or
          ``{'path', 'dest_path'}`` dicts.
        block_size: objects per block (small ones pipelined, large ones streamed in ranges); None or
          less than 1 (cloud-files' "one block") runs in blocks of the default, with the same result.
        reencode: None keeps the stored encoding; False or '' stores decompressed; a codec name
          re-encodes.
        allow_missing: write an empty object for a missing source instead of raising FileNotFoundError.
        resumable: http(s) -> file downloads go to ``name.part`` and resume from it (Range + If-Range).

        Returns a :class:`TransmissionMonitor` of the downloads and uploads.
        """
        src = self._derive(cf_src) if isinstance(cf_src, str) else cf_src
        if paths is None:
            paths = ((name, name, size) for name, size in src.list(size=True))
        items = toiter(paths)
        with self._bar(progress, totalfn(items, None), "Transferring") as bar:
            return transfers.transfer(
                src, cast("CloudFiles", self), items, block_size=block_size, reencode=reencode, content_type=content_type,
                allow_missing=allow_missing, resumable=resumable, bar=bar,
            )

    def move(self, src: str, dest: str) -> None:
        """Move one file to ``dest``, a full cloudpath on any service."""
        dest = paths.normalize(dest)
        parent, name = dest.rsplit("/", 1)
        self.moves(parent, [(src, name)])

    def moves(
        self,
        cf_dest: Any,
        paths: Any,
        block_size: int | None = transfers.DEFAULT_BLOCK_SIZE,
        total: int | None = None,
        progress: Any = None,
    ) -> None:
        """Move files into ``cf_dest``. Items: names, ``(src, dest)`` tuples or ``{'path', 'dest_path'}``.

        file:// to file:// renames (keeping the encoding suffix); otherwise each block is copied then
        deleted (not atomic across services). A missing source raises FileNotFoundError.
        """
        dest = self._derive(cf_dest) if isinstance(cf_dest, str) else cf_dest
        items = toiter(paths)
        total = totalfn(items, total)
        with self._bar(progress, total, "Moving") as bar:
            transfers.move(cast("CloudFiles", self), dest, items, block_size=block_size, bar=bar)


__all__ = ["ListingMixin"]
