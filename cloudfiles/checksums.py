"""Checksums: MD5 (GCS ``md5Hash``, S3 ETags including multipart ones) and CRC32C (GCS ``crc32c``).

CRC32C runs in C through ``google_crc32c`` (a hard dependency). :func:`crc32c_combine` joins the CRCs of
parts fetched in parallel without rereading them: by linearity, ``crc(a + b)`` is ``crc(a)`` advanced
over ``len(b)`` zero bytes, xor ``crc(b)``, and advancing over ``n`` zero bytes is a multiplication by
``x**(8n)`` modulo the CRC polynomial (a handful of 32-step carry-less products per call).
"""

from __future__ import annotations

import base64 as _b64
import binascii
import hashlib
import math
import struct
import threading
from collections.abc import Iterable
from typing import Any

import crc32c as _crc32c_buffers
import google_crc32c as _google_crc32c

__all__ = [
    "COMMON_S3_PART_SIZES",
    "CRC32C_BACKEND",
    "PARALLEL_MD5_MIN",
    "calc_s3_multipart_etag",
    "crc32c",
    "crc32c_combine",
    "crc32c_concat",
    "crc32c_to_b64",
    "crc32c_view",
    "decode_crc32c_b64",
    "encode_crc32c_b64",
    "md5",
    "md5_equal",
    "s3_part_size_candidates",
    "validate_s3_multipart_etag",
]

#: The implementation :func:`crc32c` uses (kept as a name for code that reported it).
CRC32C_BACKEND = "google_crc32c"

#: Multipart ETags of at least this many bytes are hashed on the codec workers.
PARALLEL_MD5_MIN = 32 * 1024 * 1024

MiB = 1 << 20
# Part sizes common S3 clients use: aws-cli/boto3 (8 MiB) and s3cmd (15 MiB).
COMMON_S3_PART_SIZES = (8 * MiB, 15 * MiB)


def _as_buffer(binary: Any) -> Any:
    if isinstance(binary, str):
        return binary.encode("utf8")
    return binary


# ---------------------------------------------------------------------------------------------------------
# MD5 and S3 ETags
# ---------------------------------------------------------------------------------------------------------


def md5(binary: Any, base: int = 64, base64: bool | None = None) -> str:
    """MD5 of ``binary`` (bytes-like; a ``str`` is UTF-8 encoded).

    ``base=64`` (default) gives the base64 digest (the GCS ``md5Hash`` / ``Content-MD5`` form),
    ``base=16`` the hex digest (the S3 ETag form); anything else is a ValueError. ``base64=True/False``
    is accepted as a synonym for ``base=64/16``.
    """
    if base64 is not None:
        base = 64 if base64 else 16
    # An integrity checksum compared with the store's, not a security use of MD5.
    digest = hashlib.md5(_as_buffer(binary), usedforsecurity=False)
    if base == 64:
        return _b64.b64encode(digest.digest()).decode("utf8")
    if base == 16:
        return digest.hexdigest()
    raise ValueError(f"base {base} must be 16 or 64.")


def _md5_digest_bytes(value: str | bytes) -> bytes | None:
    """Raw 16-byte digest from a hex (optionally quoted ETag) or base64 MD5 string; None if neither."""
    if isinstance(value, bytes):
        if len(value) == 16:
            return value
        value = value.decode("utf8", "replace")
    text = value.strip().strip('"')
    if len(text) == 32:
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    try:
        # Some servers strip base64 padding; restore it before decoding.
        raw = _b64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 16 else None


def md5_equal(hash_a: str | bytes | None, hash_b: str | bytes | None) -> bool:
    """True if two MD5 digests are the same, whichever forms they are given in.

    Accepts hex (S3 ETags, with or without quotes), base64 (with or without padding) or raw 16-byte
    digests. None or an unparseable value compares unequal to everything.
    """
    if hash_a is None or hash_b is None:
        return False
    d1 = _md5_digest_bytes(hash_a)
    d2 = _md5_digest_bytes(hash_b)
    return d1 is not None and d1 == d2


def calc_s3_multipart_etag(content: Any, partsize: int) -> str:
    """The ETag S3 gives an object uploaded in parts of ``partsize`` bytes: ``'<hex>-<nparts>'``.

    It is the hex MD5 of the concatenated binary MD5s of the parts, followed by the part count
    (no surrounding quotes). ``content`` is any bytes-like object.
    """
    if partsize <= 0:
        raise ValueError(f"partsize must be positive. Got: {partsize}")
    view = memoryview(_as_buffer(content)).cast("B")
    nparts = max(1, math.ceil(len(view) / partsize))
    parts = [view[i * partsize : (i + 1) * partsize] for i in range(nparts)]
    digests = b"".join(_md5_digests(parts))
    return f"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{nparts}"


def _part_md5(part: memoryview) -> bytes:
    return hashlib.md5(part, usedforsecurity=False).digest()


def _md5_digests(parts: list[memoryview]) -> Iterable[bytes]:
    """MD5 of each part; big inputs on the codec workers (hashlib releases the GIL), so a multipart
    ETag check of a large download uses every core instead of one."""
    from . import codecpool

    if (
        len(parts) < 2
        or sum(p.nbytes for p in parts) < PARALLEL_MD5_MIN
        or codecpool.num_workers() < 2
        or threading.current_thread().name.startswith(codecpool.THREAD_PREFIX)  # no waiting on our own pool
    ):
        return [_part_md5(part) for part in parts]
    return codecpool.get_pool().map(_part_md5, parts)


def validate_s3_multipart_etag(content: Any, etag: str, part_size: int | None = None) -> bool:
    """True if ``etag`` (``'<hex>-<N>'``, quotes allowed) is the multipart ETag of ``content``.

    The uploader's part size is unknown, so plausible ones are tried: ``part_size`` if given, 8 MiB,
    15 MiB, and ``len/N`` rounded up to a whole MiB; only sizes consistent with ``N`` parts are tried.
    """
    etag = etag.strip().strip('"')
    head, sep, tail = etag.rpartition("-")
    if not sep or not tail.isdigit() or not head:
        return False
    num_parts = int(tail)
    size = len(memoryview(_as_buffer(content)).cast("B"))
    return any(
        calc_s3_multipart_etag(content, partsize) == etag.lower()
        for partsize in s3_part_size_candidates(size, num_parts, part_size)
    )


def s3_part_size_candidates(size: int, num_parts: int, part_size: int | None = None) -> list[int]:
    """Plausible part sizes of a ``size``-byte object uploaded in ``num_parts`` parts, most likely first:
    ``part_size`` if given, 8 MiB, 15 MiB, ``size/N`` rounded up to a whole MiB, the next MiB above; only
    sizes that give exactly ``num_parts`` parts, each once."""
    if num_parts < 1:
        return []
    candidates = ([] if part_size is None else [part_size]) + list(COMMON_S3_PART_SIZES)
    per_part = -(-size // num_parts)  # ceil(size / N)
    candidates.append(-(-per_part // MiB) * MiB)  # rounded up to a whole MiB
    candidates.append((size // num_parts // MiB + 1) * MiB)  # the next MiB above (cloud-files' guess)
    fitting: list[int] = []
    for partsize in candidates:
        if partsize > 0 and partsize not in fitting and max(1, -(-size // partsize)) == num_parts:
            fitting.append(partsize)
    return fitting


# ---------------------------------------------------------------------------------------------------------
# CRC32C (Castagnoli)
# ---------------------------------------------------------------------------------------------------------

_CRC32C_POLY = 0x82F63B78  # reflected form of 0x1EDC6F41
_MASK32 = 0xFFFFFFFF


def crc32c(binary: Any, crc: int = 0) -> int:
    """CRC32C (Castagnoli) of ``binary`` as an unsigned int; ``crc`` continues a previous value.

    ``crc32c(b"123456789") == 0xE3069283``; ``crc32c(b, crc32c(a)) == crc32c(a + b)``.
    A ``str`` is UTF-8 encoded.
    """
    data = _as_buffer(binary)
    if isinstance(data, bytes):
        return int(_google_crc32c.extend(crc, data))
    # Other buffers (an upload's memoryview, numpy arrays) in place, without a copy.
    return int(_crc32c_buffers.crc32c(memoryview(data).cast("B"), crc))


def crc32c_view(binary: Any, crc: int = 0) -> int:
    """:func:`crc32c` of any buffer without copying it, the GIL released on large ones (the ``crc32c``
    package): for slices of a big buffer, hashed on the codec workers."""
    return int(_crc32c_buffers.crc32c(binary, crc))


def _multmodp(a: int, b: int) -> int:
    """``a(x) * b(x)`` modulo the CRC polynomial, in the reflected bit order (bit 31 is ``x**0``)."""
    m = 1 << 31
    p = 0
    while True:
        if a & m:
            p ^= b
            if (a & (m - 1)) == 0:
                return p
        m >>= 1
        b = (b >> 1) ^ _CRC32C_POLY if b & 1 else b >> 1


def _x2n_table(size: int) -> list[int]:
    """``table[k] = x**(2**k) mod P`` for k < ``size``."""
    table = [1 << 30]  # x**1
    while len(table) < size:
        table.append(_multmodp(table[-1], table[-1]))
    return table


# Bit k of a byte count n selects x**(2**(k + 3)) (8 bits a byte); 64-bit counts need k + 3 < 67.
_X2N = _x2n_table(67)


def _x8nmodp(nbytes: int) -> int:
    """``x**(8 * nbytes) mod P``: the operator advancing a CRC register over ``nbytes`` zero bytes."""
    p = 1 << 31  # x**0
    k = 3
    while nbytes:
        if nbytes & 1:
            p = _multmodp(_X2N[k], p)
        nbytes >>= 1
        k += 1
    return p


def crc32c_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC32C of ``a + b`` from ``crc1 = crc32c(a)``, ``crc2 = crc32c(b)`` and ``len2 = len(b)``.

    Lets parts fetched in parallel (ranged GETs) be checked against a whole-object CRC32C.
    """
    if len2 == 0:
        return crc1
    # By linearity the init/xorout terms cancel: crc(a+b) = Z_len2(crc1) ^ crc2, Z = advance over zeros.
    return _multmodp(_x8nmodp(len2), crc1 & _MASK32) ^ crc2


def crc32c_concat(crcs: Iterable[int], lengths: Iterable[int]) -> int:
    """CRC32C of consecutive pieces joined, from each piece's CRC32C and length (in order)."""
    total = 0
    operators: dict[int, int] = {}  # pieces mostly share one length: one operator per length
    for crc, length in zip(crcs, lengths, strict=True):
        if length == 0:
            continue
        op = operators.get(length)
        if op is None:
            op = operators[length] = _x8nmodp(length)
        total = _multmodp(op, total) ^ crc
    return total


def decode_crc32c_b64(b64digest: str) -> int:
    """Decode a GCS ``crc32c`` field (base64 of the big-endian value, padding optional) to an int."""
    b64digest += "=" * (-len(b64digest) % 4)
    return int(struct.unpack(">I", _b64.b64decode(b64digest))[0])


def encode_crc32c_b64(binary: Any) -> bytes:
    """CRC32C of ``binary`` encoded the way GCS reports it: base64 of the 4 big-endian bytes (as bytes,
    like cloud-files)."""
    return _b64.b64encode(struct.pack(">I", crc32c(binary)))


def crc32c_to_b64(value: int) -> str:
    """Encode a CRC32C integer the way GCS reports it: base64 of its 4 big-endian bytes."""
    return _b64.b64encode(struct.pack(">I", value & _MASK32)).decode("utf8")
