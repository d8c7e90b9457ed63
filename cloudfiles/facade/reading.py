"""Reading: ``get``, ``get_into``, ``get_json``, ``exists``, ``head``, ``size``, ``subtree_size``, ``get_acl``.

The input and result shapes of each read (scalar vs iterable, result dicts, ``raise_errors``,
``parallel``) on the download pipeline of :mod:`cloudfiles.reads` and the interfaces' batch calls.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any, Literal, overload

import orjson

from .. import reads
from ..lib import sip, toiter
from ..monitoring import IOEnum, TransmissionMonitor
from ..parallel import run_facade
from ..shapes import path_of_get, totalfn, writable_view
from ..typing import GetPathDict, GetResultDict, HeadDict
from .host import FacadeHost, GetPathType


class ReadingMixin(FacadeHost):
    """CloudFiles' read operations (see :class:`~cloudfiles.cloudfiles.CloudFiles`)."""

    # -- get ---------------------------------------------------------------------------------------
    @overload
    def get(
        self, paths: str | GetPathDict, *, total: int | None = ..., raw: bool = ..., progress: Any = ...,
        parallel: int | bool | None = ..., return_dict: Literal[False] = ..., raise_errors: bool = ...,
        part_size: int | None = ..., return_recording: Literal[False] = ...,
    ) -> Any: ...  # bytes or None; a list of result dicts with parallel > 1 (cloud-files 6.4.3)

    @overload
    def get(
        self, paths: Iterable[str | GetPathDict], *, total: int | None = ..., raw: bool = ..., progress: Any = ...,
        parallel: int | bool | None = ..., return_dict: Literal[False] = ..., raise_errors: bool = ...,
        part_size: int | None = ..., return_recording: Literal[False] = ...,
    ) -> list[GetResultDict]: ...

    @overload
    def get(
        self, paths: GetPathType, *, total: int | None = ..., raw: bool = ..., progress: Any = ...,
        parallel: int | bool | None = ..., return_dict: bool = ..., raise_errors: bool = ...,
        part_size: int | None = ..., return_recording: bool = ...,
    ) -> Any: ...  # return_dict / return_recording: see the docstring

    def get(
        self,
        paths: GetPathType,
        *,
        total: int | None = None,
        raw: bool = False,
        progress: Any = None,
        parallel: int | bool | None = None,
        return_dict: bool = False,
        raise_errors: bool = True,
        part_size: int | None = None,
        return_recording: bool = False,
    ) -> Any:
        """Download one or more files. Multiple results come in completion order, not input order.

        paths: a filename, a dict ``{'path', 'start', 'end', 'tags'}`` (``end`` exclusive, None =
          open; ``tags`` passed through), or an iterable of those (consumed lazily).
        total: size of the progress bar when ``paths`` has no ``len``.
        raw: return the stored bytes without decompressing.
        parallel: processes to spread the work over (default: the CloudFiles' ``parallel``).
        return_dict: return ``{path: content}`` (errors are raised).
        raise_errors: raise the first error instead of reporting it in the result's ``error``
          (always on for scalar input and ``return_dict``).
        part_size: S3 multipart part size, to check multipart ETags.
        return_recording: also return a :class:`TransmissionMonitor` of the transfers.

        Returns: scalar input -> bytes, or None if missing; ``return_dict`` -> ``{path: bytes}``;
        otherwise a list of dicts with exactly the keys ``path, content, byte_range, error,
        compress, raw, tags`` (``compress`` is the stored encoding, None for identity). With
        ``return_recording`` a tuple ``(that, TransmissionMonitor)``.
        """
        items, multiple = toiter(paths, is_iter=True)
        raise_errors = raise_errors or return_dict or not multiple
        total = totalfn(items, total)
        nproc = self._effective_parallel(parallel) if multiple else 1
        tm = TransmissionMonitor(IOEnum.RX)

        with self._bar(progress if multiple else False, total, "Downloading") as bar:
            if nproc > 1:
                kwargs = dict(raw=raw, raise_errors=raise_errors, part_size=part_size, return_recording=True)
                results: list[GetResultDict] = []
                recordings = [tm]
                for res, sub_tm in run_facade(self, "get", items, nproc, total, bar, kwargs):
                    results.extend(res)
                    recordings.append(sub_tm)
                tm = TransmissionMonitor.merge(recordings)
            else:
                gen = reads.iget(
                    self.interface, items, raw=raw, part_size=part_size, bar=bar, raise_errors=raise_errors,
                    tm=tm if return_recording else None, inline=self.green,
                )
                results = builtins.list(gen)

        ret: Any
        if return_dict:
            ret = {res["path"]: res["content"] for res in results}
        elif multiple:
            ret = results
        elif self._effective_parallel(parallel) > 1 and not self.consistent_shapes:
            ret = results  # cloud-files' process pool wrapped a scalar in a list and returned the dicts
        else:
            ret = results[0]["content"] if results else None
        return (ret, tm) if return_recording else ret

    def get_into(
        self,
        paths: str | dict[str, Any] | Iterable[dict[str, Any]],
        out: Any = None,
        *,
        start: int | None = None,
        end: int | None = None,
        raw: bool = False,
        part_size: int | None = None,
    ) -> Any:
        """Download into caller-owned buffers: numpy arrays, bytearrays, writable memoryviews, mmaps.

        Scalar form: ``get_into("key", arr)`` fills ``arr`` with the whole object,
        ``get_into("key", arr, start=0, end=4096)`` with a byte range (``end`` exclusive, as in
        :meth:`get`). Batch form: ``get_into([{"path", "out", "start", "end"}, ...])``, fetched as one
        batch like :meth:`get`.

        The decoded bytes (``raw=True``: as stored) are copied once into ``out``, which must be a
        writable, C-contiguous buffer at least that long; a shorter object fills only its prefix.

        Returns: bytes written (scalar), or a list of them in input order. Raises FileNotFoundError for
        a missing object and ValueError when an object does not fit its buffer (that buffer is left
        untouched).
        """
        if isinstance(paths, (str, dict)):
            if isinstance(paths, str):
                item = {"path": paths, "start": start, "end": end, "out": out}
            else:
                item = {"start": start, "end": end, "out": out, **paths}
            return self.get_into([item], raw=raw, part_size=part_size)[0]
        specs = builtins.list(paths)
        views = [writable_view(spec.get("out")) for spec in specs]
        requests = [
            {"path": spec["path"], "start": spec.get("start"), "end": spec.get("end"), "tags": i}
            for i, spec in enumerate(specs)
        ]
        return reads.fill_buffers(self.get(requests, raw=raw, part_size=part_size, parallel=1), views, self.abspath)

    def get_json(self, paths: GetPathType, total: int | None = None) -> Any:
        """Download and decode JSON files. Multiple results are returned **in input order**.

        Missing files decode to None. Scalar input returns one object.
        """
        items, multiple = toiter(paths, is_iter=True)
        decoded: list[Any] = []
        with self._bar(None if multiple else False, totalfn(items, total), "Downloading JSON") as bar:
            for chunk in sip(items, 2000):
                chunk = builtins.list(chunk)
                found = self.get(chunk, progress=bar, parallel=1)
                index = {(r["path"], *r["byte_range"]): r["content"] for r in found}
                for item in chunk:
                    key, start, end, _tags = path_of_get(item)
                    content = index[(key, start, end)]
                    decoded.append(None if content is None else orjson.loads(content))
        if multiple:
            return decoded
        return decoded[0] if decoded else None

    # -- metadata ----------------------------------------------------------------------------------
    @overload
    def exists(self, paths: str, total: int | None = None, progress: Any = None) -> bool: ...  # type: ignore[overload-overlap]
    @overload
    def exists(self, paths: Iterable[str], total: int | None = None, progress: Any = None) -> dict[str, bool]: ...

    def exists(self, paths: str | Iterable[str], total: int | None = None, progress: Any = None) -> Any:
        """Whether each file exists (in any encoding): bool, or ``{path: bool}`` for multiple."""
        items, multiple = toiter(paths, is_iter=True)
        out: dict[str, bool] = {}
        with self._bar(progress if multiple else False, totalfn(items, total), "Exists") as bar:
            first: BaseException | None = None
            for path, found, error in self.interface.exists_files(items):
                # One key's failure does not abandon the others in flight: the batch completes,
                # then the first error is raised.
                first = first or error
                out[path] = found
                bar.update(1)
        if first is not None:
            raise first
        return out if multiple else next(iter(out.values()), False)

    @overload
    def head(self, paths: str, total: int | None = None, progress: Any = None) -> HeadDict | None: ...  # type: ignore[overload-overlap]
    @overload
    def head(
        self, paths: Iterable[str], total: int | None = None, progress: Any = None
    ) -> dict[str, HeadDict | None]: ...

    def head(self, paths: str | Iterable[str], total: int | None = None, progress: Any = None) -> Any:
        """Metadata of each file: a dict, or None when missing. Multiple paths give ``{path: dict or None}``.

        The keys are those cloud-files 6.4.3 gave for the scheme (file:// ``Last-Modified`` a naive UTC
        datetime); with ``consistent_shapes=True`` every scheme gives every key of ``HEAD_KEYS`` and
        ``Last-Modified`` is timezone-aware.
        """
        items, multiple = toiter(paths, is_iter=True)
        out: dict[str, Any] = {}
        with self._bar(progress if multiple else False, totalfn(items, total), "Head") as bar:
            first: BaseException | None = None
            legacy = None if self.consistent_shapes else self.interface.legacy_head
            for res in self.interface.head_files(items):
                first = first or res.error
                out[res.path] = res.head if legacy is None or res.head is None else legacy(res.head)
                bar.update(1)
        if first is not None:
            raise first
        return out if multiple else next(iter(out.values()), None)

    @overload
    def size(  # type: ignore[overload-overlap]
        self, paths: str, total: int | None = None, progress: Any = None, return_sum: Literal[False] = False
    ) -> int | None: ...
    @overload
    def size(
        self, paths: Iterable[str], total: int | None = None, progress: Any = None, return_sum: Literal[False] = False
    ) -> dict[str, int | None]: ...
    @overload
    def size(
        self, paths: str | Iterable[str], total: int | None = None, progress: Any = None, return_sum: bool = False
    ) -> int | dict[str, int | None] | None: ...  # return_sum=True: the total, an int

    def size(
        self, paths: str | Iterable[str], total: int | None = None, progress: Any = None, return_sum: bool = False
    ) -> Any:
        """Stored (compressed) size in bytes: int or None; ``{path: size}``; or the sum (``return_sum``)."""
        items, multiple = toiter(paths, is_iter=True)
        out: dict[str, int | None] = {}
        with self._bar(progress if multiple else False, totalfn(items, total), "Measuring Sizes") as bar:
            first: BaseException | None = None
            for path, nbytes, error in self.interface.size_files(items):
                first = first or error
                out[path] = nbytes
                bar.update(1)
        if first is not None:
            raise first
        if return_sum:
            return sum(n for n in out.values() if n is not None)
        return out if multiple else next(iter(out.values()), None)

    def subtree_size(self, prefix: str | Iterable[str] = "") -> dict[str, int]:
        """``{"N": number of files, "num_bytes": stored bytes}`` under ``prefix`` (iterables are summed)."""
        prefixes, _multiple = toiter(prefix, is_iter=True)
        n = nbytes = 0
        for pre in prefixes:
            sub = self.interface.subtree_size(pre)
            n += sub.N
            nbytes += sub.num_bytes
        return {"N": n, "num_bytes": nbytes}

    def get_acl(
        self, paths: GetPathType, total: int | None = None, progress: Any = None, return_recording: bool = False
    ) -> Any:
        """Access control of each file: file:// gives ``st_mode``, mem:// None, gs/s3 their ACLs.

        Returns ``{path: acl}``, as cloud-files did, also for one path (``consistent_shapes=True``:
        the ACL itself for a scalar path). http(s) raises NotImplementedError.
        """
        items, multiple = toiter(paths, is_iter=True)
        out: dict[str, Any] = {}
        with self._bar(progress if multiple else False, totalfn(items, total), "ACL") as bar:
            for path in items:
                out[path] = self.interface.get_acl(path)
                bar.update(1)
        ret = out if multiple or not self.consistent_shapes else next(iter(out.values()), None)
        return (ret, TransmissionMonitor(IOEnum.RX)) if return_recording else ret


__all__ = ["ReadingMixin"]
