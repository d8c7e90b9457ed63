"""``s3://`` and every S3-compatible store (aliases, ``s3://https://host/``, ``endpoint=``) on the engine.

Requests are built and signed here (SigV4, :mod:`cloudfiles.sigv4`) and moved by the engine; botocore is
used for nothing but its credential chain, and only when no credentials are found in the usual places.

* Endpoint, first found: the ``endpoint=`` option, the host in the path (``s3://https://host/b``, an
  alias), ``$AWS_ENDPOINT_URL_S3``, ``$AWS_ENDPOINT_URL``, else AWS (``https://s3.amazonaws.com``,
  virtual-hosted addressing for DNS-compatible buckets). Custom endpoints use path-style addressing.
* Credentials (``secrets.aws_credentials``): ``secrets=``, secret files, env, ``~/.aws/credentials``;
  then botocore's chain (SSO, assume-role, containers, instance roles), whose expiring credentials are
  asked for again at most a second apart (never used past their expiry). Every request is signed when
  it is sent: each retry and each part of a split GET gets a fresh signature with the current
  credentials. With none at all, or ``no_sign_request=True``, requests go out unsigned.
* get: ranges; ``Content-Encoding`` reported normalized (``aws-chunked`` stripped); a single-part ETag
  is handed to the facade as the MD5 to verify; a multipart ETag is recomputed here (the part size is
  learned from the server when the usual guesses fail) and a mismatch is retried once before
  :class:`MD5IntegrityError`. Ranged reads are not verified.
* put: one PUT with ``Content-MD5`` or ``x-amz-checksum-crc32c``; above ``composite_upload_threshold``
  a multipart upload whose parts go through the engine in parallel, aborted on any failure. File
  handles are streamed (parts read with ``pread``), never read whole into memory.
* delete: DeleteObjects, 1,000 keys per request, several requests in flight; per-key errors reported.
* list: ListObjectsV2 page by page (each page's names are yielded before the next is requested).
* S3 XML errors become named exceptions whose message is ``Code: Message``; secrets never appear.

One module per job: :mod:`.endpoint`, :mod:`.credentials`, :mod:`.errors`, :mod:`.client` (signed
requests), :mod:`.reads`, :mod:`.writes`, :mod:`.multipart`, :mod:`.copies`, :mod:`.bucket`, composed
in :mod:`.interface`. The names below are re-exported from where they live; a test that replaces one
must replace it in the module that reads it (e.g. ``s3.credentials._botocore_chain``).
"""

from __future__ import annotations

from .client import DEFAULT_PART_SIZE, _Op
from .copies import MAX_COPY_SIZE
from .credentials import _CHAIN, _CHAIN_ERRORS, _CHAIN_LOCK, CREDENTIALS_REUSE, _botocore_chain
from .endpoint import ALIAS_ACLS, DEFAULT_ACL, DEFAULT_ENDPOINT, Endpoint, resolve_endpoint
from .errors import AUTH_CODES, parse_s3_error, s3_error
from .interface import S3Interface
from .multipart import COPY_PART_SIZE, MAX_PARTS, MIN_PART_SIZE
from .reads import _scan_headers
from .writes import DELETE_BATCH, SIGNED_PAYLOAD_LIMIT

__all__ = [
    "ALIAS_ACLS",
    "AUTH_CODES",
    "COPY_PART_SIZE",
    "CREDENTIALS_REUSE",
    "DEFAULT_ACL",
    "DEFAULT_ENDPOINT",
    "DEFAULT_PART_SIZE",
    "DELETE_BATCH",
    "MAX_COPY_SIZE",
    "MAX_PARTS",
    "MIN_PART_SIZE",
    "SIGNED_PAYLOAD_LIMIT",
    "_CHAIN",
    "_CHAIN_ERRORS",
    "_CHAIN_LOCK",
    "Endpoint",
    "S3Interface",
    "_Op",
    "_botocore_chain",
    "_scan_headers",
    "parse_s3_error",
    "resolve_endpoint",
    "s3_error",
]
