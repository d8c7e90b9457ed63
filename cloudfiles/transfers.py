"""How ``transfer_from`` and ``moves`` move objects between two CloudFiles.

The strategy, in order of preference: a server-side copy inside one service (no bytes through this
process); a resumable download (http(s) -> file, when asked); otherwise the client-side
:class:`~cloudfiles.copying.BlockCopier`. A move renames where the stores can (file:// -> file://) and
otherwise copies then deletes, one block at a time. Which of these a pair of stores allows is asked
of the interfaces, never decided here from scheme names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .copying import BlockCopier
from .interfaces.base import Copier
from .lib import sip
from .monitoring import IOEnum, TransmissionMonitor
from .shapes import normalize_compress, transfer_pair
from .streaming import plan_sizes

if TYPE_CHECKING:
    from .cloudfiles import CloudFiles

#: Objects per block when the caller leaves it open.
DEFAULT_BLOCK_SIZE = 64


def bounded_block_size(block_size: int | None) -> int:
    """The block size a copy runs with: cloud-files reads None, 0 or less as "all in one block"; blocks
    only pace the work (the copied objects are the same), and a bounded block bounds the open source
    files and buffered bodies, so those run in blocks of the default size."""
    return DEFAULT_BLOCK_SIZE if block_size is None or block_size < 1 else block_size


def transfer(
    src: CloudFiles,
    dest: CloudFiles,
    items: Iterable[Any],
    *,
    block_size: int | None,
    reencode: Any,
    content_type: str | None,
    allow_missing: bool,
    resumable: bool,
    bar: Any,
) -> TransmissionMonitor:
    """Copy ``items`` (names, ``(src, dest[, size])`` or ``{'path', 'dest_path'}``) from ``src`` to ``dest``."""
    block_size = bounded_block_size(block_size)
    target = None if reencode is None else normalize_compress(reencode)
    copier = src.interface.server_copier(dest.interface) if reencode is None and content_type is None else None
    if copier is not None:
        for block in sip(items, block_size):
            _server_copy_block(src, dest, copier, [transfer_pair(p)[:2] for p in block], allow_missing)
            bar.update(len(block))
        return TransmissionMonitor(IOEnum.TX)
    if resumable:
        from .download import download_files, resumes  # loads the engine: only when asked for

        if resumes(src.interface, dest.interface):
            download_files(src.interface, dest.interface, (transfer_pair(p)[:2] for p in items),
                           allow_missing=allow_missing, bar=bar)
            return TransmissionMonitor(IOEnum.RX)
    blocks = BlockCopier(
        src, dest, reencode=reencode is not None, target=target, content_type=content_type,
        allow_missing=allow_missing,
    )
    # Objects of an in-process store are never streamed, so their sizes are not worth a lookup.
    lookup = not src.interface.in_process
    for block in sip(items, block_size):
        triples = (transfer_pair(p) for p in block)
        blocks.copy(list(plan_sizes(src.interface, triples, lookup=lookup)))
        bar.update(len(block))
    return TransmissionMonitor.merge(blocks.recordings)


def _server_copy_block(
    src: CloudFiles, dest: CloudFiles, copier: Copier, pairs: list[tuple[str, str]], allow_missing: bool
) -> None:
    missing = []
    for name, found, error in copier(pairs):
        if error is not None:
            raise error
        if not found:
            missing.append(name)
    if missing and not allow_missing:
        raise FileNotFoundError(f"{src.abspath(missing[0])} does not exist in the source")
    dests = dict(pairs)
    if missing:
        dest.puts([(dests[name], b"") for name in missing], progress=False, parallel=1)


def move(src: CloudFiles, dest: CloudFiles, items: Iterable[Any], *, block_size: int | None, bar: Any) -> None:
    """Move ``items`` from ``src`` into ``dest``: renamed where the stores allow, else copied then deleted."""
    block_size = bounded_block_size(block_size)
    rename = src.interface.renamer(dest.interface)
    if rename is not None:
        for item in items:
            src_key, dest_key, _size = transfer_pair(item)
            if not rename(src_key, dest_key):
                raise FileNotFoundError(f"{src.abspath(src_key)} does not exist")
            bar.update(1)
        return
    for block in sip(items, block_size):
        pairs = [transfer_pair(p) for p in block]
        src.transfer_to(dest, pairs, block_size=block_size, progress=False)
        src.delete([pair[0] for pair in pairs], progress=False, parallel=1)
        bar.update(len(pairs))


__all__ = ["move", "transfer"]
