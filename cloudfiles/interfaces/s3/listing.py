"""Reading one ListObjectsV2 page.

A page of 1,000 keys is ~300 KB of XML of which a listing needs the text of a handful of elements. Building
the whole tree (ElementTree: an element object per field of every ``<Contents>``) cost ~7 CPU-µs per key,
more than the request itself. :func:`scan_page` finds those elements in the raw bytes with a few regular
expressions instead, and vouches for its reading only when the page is plain: every ``<Contents>`` and
``<CommonPrefixes>`` accounted for, no comment, CDATA section or namespace prefix, and no entity reference
or carriage return in a text it reads (an XML parser would rewrite those). Anything else is read by ElementTree, as
before (:func:`tree_page`); both give the same :class:`Page` (tests/unit/test_s3_listing.py checks them
against each other).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from ...exceptions import CloudFilesError
from ..base import ListEntry
from .errors import parse_xml

__all__ = ["Page", "entries", "read_page", "scan_page", "tree_page"]


@dataclass
class Page:
    """What a listing takes from one ListObjectsV2 answer, as the server wrote it (keys still encoded)."""

    url_encoded: bool = False
    #: ``<CommonPrefixes><Prefix>`` texts, in order
    prefixes: list[str] = field(default_factory=list)
    #: ``(Key, Size)`` of every ``<Contents>``, in order; Size None when absent
    contents: list[tuple[str, int | None]] = field(default_factory=list)
    next_token: str | None = None


# Element texts with nothing an XML parser would rewrite: no markup, entity reference or CR (normalized).
_PLAIN = rb"([^<&\r]*)"
_KEY = re.compile(rb"<Key>" + _PLAIN + rb"</Key>")
_SIZE = re.compile(rb"<Size>" + _PLAIN + rb"</Size>")
_COMMON_PREFIX = re.compile(rb"<CommonPrefixes>\s*<Prefix>" + _PLAIN + rb"</Prefix>\s*</CommonPrefixes>")
_TRUNCATED = re.compile(rb"<IsTruncated>\s*([A-Za-z]*)\s*</IsTruncated>")
_NEXT_TOKEN = re.compile(rb"<NextContinuationToken>" + _PLAIN + rb"</NextContinuationToken>")
_ENCODING_TYPE = re.compile(rb"<EncodingType>" + _PLAIN + rb"</EncodingType>")
_DECLARATION_UTF8 = re.compile(rb"""encoding\s*=\s*["'](?i:utf-?8)["']""")
_ROOT = re.compile(rb"\s*<ListBucketResult[\s>]")
# Markup that hides or makes up elements a regular expression would read as a parser would not. (An entity
# reference or CR inside a text we read fails _PLAIN, and the page goes to the parser; elsewhere, as in
# every ETag's "&#34;", it is no concern.)
_UNSAFE = (b"<!--", b"<![CDATA[", b"<!DOCTYPE")


def scan_page(body: bytes) -> Page | None:
    """The page read from its raw bytes, or None when it is not plain enough to vouch for."""
    rest = body.lstrip()
    if rest.startswith(b"<?xml"):
        declaration, _, rest = rest.partition(b"?>")
        if b"encoding" in declaration and not _DECLARATION_UTF8.search(declaration):
            return None  # another encoding than UTF-8: the parser decodes it
    if not _ROOT.match(rest) or any(marker in body for marker in _UNSAFE):
        return None
    n_contents = body.count(b"<Contents>")
    n_prefixes = body.count(b"<CommonPrefixes>")
    # Every mention of the two words is one of our tags: no attribute, namespace prefix or self-closing
    # form, and no key text that contains them (such a page is read by the parser).
    if body.count(b"Contents") != 2 * n_contents or body.count(b"CommonPrefixes") != 2 * n_prefixes:
        return None
    keys = _KEY.findall(body)
    prefixes = _COMMON_PREFIX.findall(body)
    size_texts = _SIZE.findall(body)
    if len(keys) != n_contents or len(prefixes) != n_prefixes or len(size_texts) not in (0, n_contents):
        return None  # an element in a form the expressions miss, or sizes for some objects only
    truncated = _TRUNCATED.search(body)
    token = _NEXT_TOKEN.search(body)
    encoding = _ENCODING_TYPE.search(body)
    if truncated is None or (token is None and b"NextContinuationToken" in body) or (
        encoding is None and b"EncodingType" in body
    ):
        return None
    try:
        page = Page(
            url_encoded=_text(encoding).strip().lower() == "url",
            prefixes=[prefix.decode("utf-8") for prefix in prefixes],
            contents=list(zip(
                [key.decode("utf-8") for key in keys],
                [int(text) for text in size_texts] if size_texts else [None] * n_contents,
                strict=True,
            )),
        )
        if truncated.group(1).lower() == b"true":
            page.next_token = _text(token) or None
    except (UnicodeDecodeError, ValueError):
        return None  # not UTF-8, or a size that is no number: the parser says what is wrong
    return page


def _text(match: re.Match[bytes] | None) -> str:
    return match.group(1).decode("utf-8") if match is not None else ""


def tree_page(body: bytes) -> Page:
    """The page read by ElementTree (any well-formed answer, namespaced or not)."""
    root = parse_xml(body)
    if root is None:
        raise CloudFilesError("ListObjectsV2 answered with a body that is not XML")
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    page = Page(url_encoded=(root.findtext(f"{ns}EncodingType") or "").strip().lower() == "url")
    for common in root.iterfind(f"{ns}CommonPrefixes"):
        page.prefixes.append(common.findtext(f"{ns}Prefix") or "")
    for contents in root.iterfind(f"{ns}Contents"):
        text = contents.findtext(f"{ns}Size")
        page.contents.append((contents.findtext(f"{ns}Key") or "", int(text) if text and text.strip() else None))
    if (root.findtext(f"{ns}IsTruncated") or "").strip().lower() == "true":
        page.next_token = root.findtext(f"{ns}NextContinuationToken") or None
    return page


def read_page(body: bytes) -> Page:
    """One ListObjectsV2 answer: scanned when plain, else parsed."""
    data = bytes(body)
    page = scan_page(data)
    return page if page is not None else tree_page(data)


def entries(page: Page, base: str, *, flat: bool, size: bool, token: str | None) -> list[ListEntry]:
    """The listing entries of ``page`` relative to ``base`` as cloud-files listed a page: its common
    prefixes ("dir/" entries of a flat listing) first, then its objects, each in the server's order.
    ``token`` (the continuation token that fetched the page) is each entry's resume token."""
    decode = unquote_plus if page.url_encoded else None
    nbase = len(base)
    out: list[ListEntry] = []
    for prefix in page.prefixes:
        name = (decode(prefix) if decode else prefix)[nbase:]
        if name:
            out.append(ListEntry(name, None, token))
    for key, nbytes in page.contents:
        name = (decode(key) if decode else key)[nbase:]
        if not name or (not flat and name.endswith("/")):
            continue  # the directory's own marker object; directory markers when recursing
        out.append(ListEntry(name, nbytes if size else None, token))
    return out
