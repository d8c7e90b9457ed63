"""Percent-encoding of object names in URLs: every scheme's rule, in one place.

Three rules, because three protocols ask for three things:

* :func:`uri_encode`: SigV4's encoding (S3 paths and query components): everything but ``A-Za-z0-9-_.~``
  (and ``/`` in paths). What is sent must be byte-identical to what is signed.
* :func:`quote_key`: a plain web server's path (``/`` kept, RFC 3986 sub-delimiters left as they are).
* :func:`quote_name`: one URL path segment (``/`` encoded too), as the GCS JSON API wants object names,
  bucket names and tokens.

Each checks first whether the name needs any encoding: most keys do not, and a regular expression
match is much cheaper than ``urllib.parse.quote``'s per-character work. The fast paths return exactly
what ``quote`` would.
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["quote_key", "quote_name", "uri_encode"]

# Characters ``quote`` never encodes, with and without the path separator.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.\-~]*\Z").match
_UNRESERVED_PATH = re.compile(r"[A-Za-z0-9_.\-~/]*\Z").match


def uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """Percent-encode every byte of UTF-8 ``value`` except the unreserved ``A-Za-z0-9-_.~``
    (and ``/`` when ``keep_slash``): the encoding SigV4 specifies for paths and query components."""
    if keep_slash:
        if _UNRESERVED_PATH(value):
            return value
        return quote(value, safe="/~")
    if _UNRESERVED(value):
        return value
    return quote(value, safe="~")


def quote_key(key: str) -> str:
    """Percent-encode an object key for a URL path, keeping '/' separators."""
    if _UNRESERVED_PATH(key):
        return key
    return quote(key, safe="/~!$&'()*+,;=:@")


def quote_name(name: str) -> str:
    """Percent-encode a name as one URL path segment ('/' included), as the GCS JSON API wants."""
    if _UNRESERVED_PATH(name):
        return name.replace("/", "%2F")
    return quote(name, safe="")
