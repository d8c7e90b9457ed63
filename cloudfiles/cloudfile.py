"""``CloudFile``: one file at a full cloudpath, a thin wrapper over the :class:`CloudFiles` of its directory."""

from __future__ import annotations

from typing import Any

from .cloudfiles import CloudFiles
from .monitoring import TransmissionMonitor
from .shapes import split_fullpath
from .typing import HeadDict


class CloudFile:
    """One file at a full cloudpath: a thin wrapper over ``CloudFiles(dirname(path))``.

    Differences from cloud-files: ``locking`` defaults to None (off) instead of True, so plain reads do
    not create lock files; ``get(ranges=[slice(...)])`` works; ``f[key] = content`` writes;
    ``get_acl()`` returns ``{filename: acl}``, as cloud-files did.
    """

    def __init__(
        self,
        path: str,
        *,
        cache_meta: bool = False,
        secrets: Any = None,
        composite_upload_threshold: int = int(1e8),
        locking: bool | None = None,
        lock_dir: str | None = None,
        endpoint: str | None = None,
        no_sign_request: bool = False,
        request_payer: str | None = None,
        use_https: bool = False,
    ) -> None:
        parent, name = split_fullpath(path)
        self.cf = CloudFiles(
            parent,
            secrets=secrets,
            composite_upload_threshold=composite_upload_threshold,
            locking=locking,
            lock_dir=lock_dir,
            endpoint=endpoint,
            no_sign_request=no_sign_request,
            request_payer=request_payer,
            use_https=use_https,
        )
        self.filename = name
        self.cache_meta = cache_meta
        self._size: int | None = None
        self._head: HeadDict | None = None

    def __repr__(self) -> str:
        return f"CloudFile({self.abspath()!r})"

    @property
    def sep(self) -> str:
        """Key separator of the scheme."""
        return self.cf.sep

    @property
    def protocol(self) -> str:
        """The scheme of the file."""
        return self.cf.protocol

    @property
    def lock_dir(self) -> str:
        """Directory of file:// lock files."""
        return self.cf.lock_dir

    def abspath(self) -> str:
        """The file's full cloudpath."""
        return self.cf.abspath(self.filename)

    def exists(self) -> bool:
        """Does the file exist?"""
        return self.cf.exists(self.filename)

    def delete(self) -> None:
        """Delete the file (every stored encoding)."""
        self.cf.delete(self.filename)
        self._size = None
        self._head = None

    def touch(self) -> None:
        """Create the file if missing (file:// also refreshes the mtime)."""
        self.cf.touch(self.filename)

    def get(self, ranges: Any = None, raw: bool = False) -> Any:
        """The whole file (bytes or None), or for ``ranges`` (slices or ``{'start', 'end'}`` dicts) a
        list of ``get`` result dicts in the order given."""
        if ranges is None:
            content = self.cf.get(self.filename, raw=raw)
            if raw and content is not None:
                self._size = len(content)
            return content
        reqs = []
        for rng in ranges:
            if isinstance(rng, slice):
                reqs.append({"path": self.filename, "start": rng.start, "end": rng.stop})
            else:
                reqs.append(dict(rng, path=self.filename))
        results = self.cf.get(reqs, raw=raw)
        order = {(r.get("start"), r.get("end")): i for i, r in enumerate(reqs)}
        return sorted(results, key=lambda r: order.get(r["byte_range"], 0))

    def get_json(self) -> Any:
        """The file decoded from JSON (None if missing)."""
        return self.cf.get_json(self.filename)

    def get_acl(self) -> Any:
        """The file's ACL (file:// gives ``st_mode``)."""
        return self.cf.get_acl(self.filename)

    def put(self, content: Any, *args: Any, **kwargs: Any) -> int:
        """Write the file; arguments as :meth:`CloudFiles.put`."""
        # Invalidate rather than record len(content): the stored size differs when compressed.
        self._size = None
        self._head = None
        return self.cf.put(self.filename, content, *args, **kwargs)

    def put_json(self, content: Any, *args: Any, **kwargs: Any) -> int:
        """Write the file as JSON; arguments as :meth:`CloudFiles.put_json`."""
        self._size = None
        self._head = None
        return self.cf.put_json(self.filename, content, *args, **kwargs)

    def head(self) -> HeadDict | None:
        """Metadata (cached when ``cache_meta``)."""
        if self.cache_meta and self._head is not None:
            return self._head
        head = self.cf.head(self.filename)
        if self.cache_meta:
            self._head = head
        return head

    def size(self) -> int | None:
        """Stored size in bytes (cached when ``cache_meta``)."""
        if self.cache_meta and self._size is not None:
            return self._size
        size = self.cf.size(self.filename)
        if self.cache_meta:
            self._size = size
        return size

    def move(self, dest: str) -> None:
        """Move the file to ``dest`` (a full cloudpath on any service)."""
        self.cf.move(self.filename, dest)

    def transfer_to(self, cloudpath: str, reencode: Any = None) -> TransmissionMonitor:
        """Copy the file to the full cloudpath ``cloudpath``."""
        parent, name = split_fullpath(cloudpath)
        return self.cf.transfer_to(parent, paths=[(self.filename, name)], reencode=reencode)

    def transfer_from(self, cloudpath: str, reencode: Any = None) -> TransmissionMonitor:
        """Replace this file with a copy of the file at ``cloudpath``."""
        parent, name = split_fullpath(cloudpath)
        return self.cf.transfer_from(parent, paths=[(name, self.filename)], reencode=reencode)

    def join(self, *paths: str) -> str:
        """Join path components with the scheme's separator."""
        return self.cf.join(*paths)

    def dirname(self, path: str) -> str:
        """Directory part of ``path``."""
        return self.cf.dirname(path)

    def basename(self, path: str) -> str:
        """Last component of ``path``."""
        return self.cf.basename(path)

    def clear_locks(self) -> None:
        """Delete every lock file in the lock directory."""
        self.cf.clear_locks()

    def __len__(self) -> int:
        size = self.size()
        if size is None:
            raise FileNotFoundError(self.abspath())
        return size

    def __getitem__(self, rng: slice) -> Any:
        return self.cf.get({"path": self.filename, "start": rng.start, "end": rng.stop})

    def __setitem__(self, key: Any, content: Any) -> None:
        """``f[:] = content`` (any key) writes the whole file."""
        self.put(content)


__all__ = ["CloudFile"]
