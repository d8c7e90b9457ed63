"""The ``s3://`` interface: every operation of the storage contract, composed from one module each."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from ..base import Copier, StorageInterface
from .bucket import S3Bucket
from .copies import S3Copies
from .writes import DELETE_BATCH, S3Writes

__all__ = ["S3Interface"]


class S3Interface(S3Writes, S3Copies, S3Bucket):
    """S3 and S3-compatible object stores. One instance per CloudFiles; safe to share across threads."""

    exists_batch_size = 1
    delete_batch_size = DELETE_BATCH
    encoding_labels: ClassVar[Mapping[str | None, str | None]] = {None: "", "bz2": "bzip2"}
    legacy_delete_batch_size = 1000

    # -- server-side copy ----------------------------------------------------------------------------
    @classmethod
    def check_request_payer(cls, protocol: str, value: str | None) -> None:
        if value not in (None, "requester"):
            raise ValueError(f"request_payer for s3 must be 'requester'. Got: {value!r}")

    def server_copier(self, dest: StorageInterface) -> Copier | None:
        """CopyObject / UploadPartCopy, when ``dest`` is on the same endpoint with the same credentials."""
        if not isinstance(dest, S3Interface) or not self.same_endpoint(dest):
            return None

        def copy(pairs: list[tuple[str, str]]) -> Iterator[tuple[str, bool, BaseException | None]]:
            for name, _dest, found, _nbytes, error in self.copy_files(dest, pairs):
                yield name, found, error

        return copy

    def close(self) -> None:
        pass
