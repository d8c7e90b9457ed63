"""Writing: ``puts``, ``put``, ``put_jsons``, ``put_json``, ``delete``, ``touch``.

The input shapes of each write and its return value, on the upload pipeline of
:mod:`cloudfiles.writes` and the interfaces' batch calls.
"""

from __future__ import annotations

from typing import Any, cast

from .. import writes
from ..lib import sip, toiter
from ..monitoring import IOEnum, TransmissionMonitor
from ..parallel import run_facade
from ..shapes import is_reiterable, item_dict, jsonify_item, put_items, totalfn
from .host import FacadeHost, GetPathType, PutType


class WritingMixin(FacadeHost):
    """CloudFiles' write and delete operations (see :class:`~cloudfiles.cloudfiles.CloudFiles`)."""

    def puts(
        self,
        files: PutType,
        *,
        content_type: str | None = None,
        compress: Any = None,
        compression_level: int | None = None,
        cache_control: str | None = None,
        total: int | None = None,
        raw: bool = False,
        progress: Any = None,
        parallel: int | bool | None = None,
        storage_class: str | None = None,
        return_recording: bool = False,
        if_not_exists: bool = False,
    ) -> Any:
        """Write one or more files.

        files: one item or an iterable of items; an item is a ``(path, content)`` tuple or a dict
          ``{'path', 'content', 'content_type', 'compress', 'compression_level', 'cache_control',
          'storage_class', 'if_not_exists'}`` whose fields override the keyword arguments for that file. Content is
          bytes-like, a str (written as UTF-8), or a readable binary file handle (streamed when stored
          uncompressed). A non-generator batch naming one path twice raises ValueError.
        compress: None/False/'' (identity), True/'gzip', 'br', 'zstd', 'bz2', 'xz'; unknown -> ValueError.
        compression_level: codec level (gzip level, brotli quality, zstd level...).
        raw: content is already encoded: upload as-is, labelled with ``compress``.
        parallel: processes to spread the batch over (default: the CloudFiles' ``parallel``).
        return_recording: also return a :class:`TransmissionMonitor`.
        if_not_exists: write a file only if nothing is stored under its path yet (S3 ``If-None-Match: *``,
          GCS ``ifGenerationMatch=0``, an exclusive create on file://, a locked check on mem://). The
          other files are still written; then :class:`~cloudfiles.exceptions.ObjectExistsError` (a
          ``FileExistsError``) is raised naming every path that already existed (``err.paths``). Any
          other error of the batch takes precedence over it.

        Returns: the number of files written (also with ``parallel > 1``), or ``(count, monitor)``.
        """
        items, multiple = put_items(files)
        if is_reiterable(items):
            writes.check_batch(items, compress)
        total = totalfn(items, total)
        defaults = dict(
            content_type=content_type, compress=compress, compression_level=compression_level,
            cache_control=cache_control, storage_class=storage_class, if_not_exists=if_not_exists,
        )
        tm = TransmissionMonitor(IOEnum.TX)
        nproc = self._effective_parallel(parallel) if multiple else 1
        with self._bar(progress if multiple else False, total, "Uploading") as bar:
            if nproc > 1:
                kwargs = dict(defaults, raw=raw, return_recording=True)
                count = 0
                recordings = [tm]
                for sub_count, sub_tm in run_facade(self, "puts", items, nproc, total, bar, kwargs):
                    count += sub_count
                    recordings.append(sub_tm)
                tm = TransmissionMonitor.merge(recordings)
            else:
                count = writes.iputs(
                    self.interface, items, defaults, raw, bar, tm if return_recording else None, inline=self.green
                )
        ret = None if nproc > 1 and not self.consistent_shapes else count  # cloud-files: None from its pool
        return (ret, tm) if return_recording else ret

    def put(
        self,
        path: str,
        content: Any,
        content_type: str | None = None,
        compress: Any = None,
        compression_level: int | None = None,
        cache_control: str | None = None,
        raw: bool = False,
        storage_class: str | None = None,
        *,
        if_not_exists: bool = False,
    ) -> int:
        """Write one file (see :meth:`puts`). Returns 1.

        ``if_not_exists=True``: raise :class:`~cloudfiles.exceptions.ObjectExistsError` (a
        ``FileExistsError``) instead of overwriting when the path is already stored.
        """
        return cast(int, self.puts(
            {
                "path": path,
                "content": content,
                "content_type": content_type,
                "compress": compress,
                "compression_level": compression_level,
                "cache_control": cache_control,
                "storage_class": storage_class,
                "if_not_exists": if_not_exists,
            },
            raw=raw,
            parallel=1,
        ))

    def put_jsons(
        self,
        files: PutType,
        compress: Any = None,
        compression_level: int | None = None,
        cache_control: str | None = None,
        total: int | None = None,
        raw: bool = False,
        progress: Any = None,
        parallel: int | bool | None = None,
        storage_class: str | None = None,
        return_recording: bool = False,
        *,
        if_not_exists: bool = False,
    ) -> Any:
        """Write one or more Python objects as JSON (``application/json``); see :meth:`puts`.

        Unlike cloud-files, ``cache_control`` is forwarded. Input dicts are not modified.
        ``if_not_exists=True`` refuses to replace existing objects, as in :meth:`puts`.
        """
        items, _multiple = put_items(files)
        total = totalfn(items, total)
        if is_reiterable(items):
            writes.check_batch(items, compress)
        return self.puts(
            (jsonify_item(item_dict(file)) for file in items),
            content_type="application/json",
            compress=compress,
            compression_level=compression_level,
            cache_control=cache_control,
            total=total,
            raw=raw,
            progress=progress,
            parallel=parallel,
            storage_class=storage_class,
            return_recording=return_recording,
            if_not_exists=if_not_exists,
        )

    def put_json(
        self,
        path: str,
        content: Any,
        compress: Any = None,
        compression_level: int | None = None,
        cache_control: str | None = None,
        storage_class: str | None = None,
        *,
        if_not_exists: bool = False,
    ) -> int:
        """Write one Python object as JSON (``application/json``). Returns 1.

        ``if_not_exists=True``: raise :class:`~cloudfiles.exceptions.ObjectExistsError` instead of
        replacing an existing object (see :meth:`put`).
        """
        return cast(int, self.put_jsons(
            {
                "path": path,
                "content": content,
                "content_type": "application/json",
                "compress": compress,
                "compression_level": compression_level,
                "cache_control": cache_control,
                "storage_class": storage_class,
            },
            parallel=1,
            if_not_exists=if_not_exists,
        ))

    # -- delete / touch ----------------------------------------------------------------------------
    def delete(
        self,
        paths: GetPathType,
        total: int | None = None,
        progress: Any = None,
        parallel: int | bool | None = None,
    ) -> int | None:
        """Delete one or more files (every stored encoding). Missing files are not errors.

        Returns what cloud-files 6.4.3 returned: the number of delete *requests* (one per file, or per
        batch of up to 1,000 keys on S3 and GCS), and None with ``parallel > 1``. With
        ``consistent_shapes=True``: the number of paths deleted (missing ones included), always.
        """
        items, multiple = toiter(paths, is_iter=True)
        total = totalfn(items, total)
        nproc = self._effective_parallel(parallel) if multiple else 1
        with self._bar(progress if multiple else False, total, "Deleting") as bar:
            if nproc > 1:
                deleted = sum(run_facade(self, "delete", items, nproc, total, bar, {}))
                return deleted if self.consistent_shapes else None
            count = 0
            first: BaseException | None = None
            for res in self.interface.delete_files(items):
                first = first or res.error
                count += 1
                bar.update(1)
        if first is not None:
            raise first
        if self.consistent_shapes:
            return count
        return -(-count // self.interface.legacy_delete_batch_size)

    def touch(
        self, paths: GetPathType, progress: Any = None, total: int | None = None, nocopy: bool = False
    ) -> None:
        """Create empty files where missing. On file:// existing files get a fresh mtime; on object
        stores existing objects are left alone (``nocopy`` is accepted for compatibility)."""
        items, multiple = toiter(paths, is_iter=True)
        total = totalfn(items, total)
        touch_files = getattr(self.interface, "touch_files", None)
        with self._bar(progress if multiple else False, total, "Touching") as bar:
            if touch_files is not None:
                for _path, error in touch_files(items):
                    if error is not None:
                        raise error
                    bar.update(1)
                return
            for block in sip(items, 1000):
                found = self.exists(block, progress=False)
                missing = [path for path, ok in found.items() if not ok]
                if missing:
                    self.puts([(path, b"") for path in missing], progress=False, parallel=1)
                bar.update(len(block))


__all__ = ["WritingMixin"]
