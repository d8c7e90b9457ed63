"""S3 listing (ListObjectsV2, page by page) and bucket-level requests: create, unfinished multipart
uploads, object ACLs."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from ... import engine
from ...sigv4 import encode_query
from ..base import ListEntry
from .client import S3Client, _Op
from .errors import S3_NS, child_text, local_name, parse_s3_error, parse_xml
from .listing import entries, read_page

__all__ = ["S3Bucket"]


class S3Bucket(S3Client):
    """Listing and bucket-level requests."""

    # -- listing -----------------------------------------------------------------------------------
    def list_files(
        self, prefix: str, *, flat: bool, size: bool, resume_token: str | None = None
    ) -> Iterator[ListEntry]:
        """ListObjectsV2, one page at a time. Each entry's ``resume_token`` is the continuation token
        that fetched its page: resuming from it lists that page again, so nothing is skipped."""
        base = self.base_key
        full_prefix = base + (prefix or "")
        token = resume_token
        bucket_path = self._bucket_request_path()
        while True:
            self._refresh_signer()
            params = [("list-type", "2"), ("prefix", full_prefix), ("encoding-type", "url")]
            if flat:
                params.append(("delimiter", "/"))
            if self.list_page_size != 1000:
                params.append(("max-keys", str(self.list_page_size)))
            if token:
                params.append(("continuation-token", token))
            query = encode_query(params)

            def make(op: _Op, query: str = query) -> engine.Request:
                return self.build("GET", bucket_path, query, context=op)

            resp = self.one(_Op(make))
            if not resp.ok:
                raise self._error(resp)
            page = read_page(resp.body)
            yield from entries(page, base, flat=flat, size=size, token=token)
            if not page.next_token:
                return
            token = page.next_token

    # -- bucket-level helpers ----------------------------------------------------------------------
    def create_bucket(self) -> None:
        """Create this bucket (PUT /bucket). Already owning it is not an error."""
        self._refresh_signer()
        body = b""
        if self.endpoint.is_aws and self.region != "us-east-1":
            body = (
                f'<CreateBucketConfiguration xmlns="{S3_NS[1:-1]}"><LocationConstraint>{self.region}'
                "</LocationConstraint></CreateBucketConfiguration>"
            ).encode()

        def make(op: _Op) -> engine.Request:
            return self.build("PUT", self._bucket_request_path(), "", [], body,
                              hashlib.sha256(body).hexdigest(), context=op, body_size=len(body))

        resp = self.one(_Op(make))
        if resp.ok:
            return
        code, _ = parse_s3_error(resp.body)
        if code == "BucketAlreadyOwnedByYou" and resp.status == 409:
            return
        raise self._error(resp)

    def multipart_uploads(self, prefix: str = "") -> list[tuple[str, str]]:
        """Unfinished multipart uploads under ``prefix`` as ``(name, upload_id)`` (ListMultipartUploads)."""
        self._refresh_signer()
        query = encode_query([("uploads", None), ("prefix", self.base_key + prefix)])  # type: ignore[list-item]

        def make(op: _Op) -> engine.Request:
            return self.build("GET", self._bucket_request_path(), query, context=op)

        resp = self.one(_Op(make))
        if not resp.ok:
            raise self._error(resp)
        root = parse_xml(resp.body)
        out: list[tuple[str, str]] = []
        if root is None:
            return out
        for upload in root:
            if local_name(upload.tag) != "Upload":
                continue
            key = child_text(upload, "Key") or ""
            out.append((key[len(self.base_key):], child_text(upload, "UploadId") or ""))
        return out

    def get_acl(self, path: str) -> Any:
        """The object's ACL (GetObjectAcl) as ``{'Owner': {...}, 'Grants': [{'Grantee': {...},
        'Permission': ...}]}``, or None when the object is missing."""
        self._refresh_signer()

        def make(op: _Op) -> engine.Request:
            return self.build("GET", self._key_path(self.full_key(path)), "acl", context=op)

        resp = self.one(_Op(make))
        if resp.error is None and resp.status == 404:
            return None
        if not resp.ok:
            raise self._error(resp)
        root = parse_xml(resp.body)
        if root is None:
            return None

        def as_dict(elem: ET.Element) -> Any:
            children = list(elem)
            if not children:
                return elem.text
            return {local_name(c.tag): as_dict(c) for c in children}

        owner: Any = {}
        grants: list[Any] = []
        for child in root:
            name = local_name(child.tag)
            if name == "Owner":
                owner = as_dict(child)
            elif name == "AccessControlList":
                grants = [as_dict(g) for g in child if local_name(g.tag) == "Grant"]
        return {"Owner": owner, "Grants": grants}
