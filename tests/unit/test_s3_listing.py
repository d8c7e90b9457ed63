"""Reading ListObjectsV2 pages: the byte scan agrees with ElementTree on every page it vouches for, vouches for
the plain pages real servers send, and hands every other page to the parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudfiles.exceptions import CloudFilesError
from cloudfiles.interfaces.base import ListEntry
from cloudfiles.interfaces.s3.errors import xml_escape
from cloudfiles.interfaces.s3.listing import Page, entries, read_page, scan_page, tree_page

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def contents(key: str, size: int | None = 1) -> str:
    size_xml = "" if size is None else f"<Size>{size}</Size>"
    return (f"<Contents><Key>{key}</Key><ETag>&#34;9dd4e461268c8034f5c8564e155c67a6&#34;</ETag>{size_xml}"
            "<StorageClass>STANDARD</StorageClass><LastModified>2026-12-07T06:16:03Z</LastModified></Contents>")


def page(*parts: str, truncated: str = "false", token: str | None = None, encoding: str | None = "url",
         declaration: str = DECLARATION, root: str = "ListBucketResult", sep: str = "") -> bytes:
    head = [f"<Name>bkt</Name><Prefix>pre/</Prefix><MaxKeys>1000</MaxKeys><IsTruncated>{truncated}</IsTruncated>"]
    tail = [] if encoding is None else [f"<EncodingType>{encoding}</EncodingType>"]
    if token is not None:
        tail.append(f"<NextContinuationToken>{token}</NextContinuationToken>")
    body = sep.join([*head, *parts, *tail, "<KeyCount>3</KeyCount>"])
    return f'{declaration}<{root} xmlns="{NS}">{body}</{root}>'.encode()


# A page as SeaweedFS sends it (ETags as "&#34;" references, keys URL-encoded).
SEAWEED = page(contents("pre/a+b%26c%2Bd%25e", 1), contents("pre/dir/x", 2), contents("pre/z", 0),
               "<CommonPrefixes><Prefix>pre/d/</Prefix></CommonPrefixes>", truncated="true", token="tok/+=")


def test_plain_pages_are_scanned_and_read_as_the_parser_reads_them() -> None:
    scanned = scan_page(SEAWEED)
    assert scanned is not None
    assert scanned == tree_page(SEAWEED) == read_page(SEAWEED)
    assert scanned == Page(
        url_encoded=True, prefixes=["pre/d/"],
        contents=[("pre/a+b%26c%2Bd%25e", 1), ("pre/dir/x", 2), ("pre/z", 0)], next_token="tok/+=",
    )
    # pretty-printed, no declaration, no sizes, not truncated
    plain = page(contents("pre/k", None), contents("pre/l", None), declaration="", sep="\n  ", encoding=None)
    assert scan_page(plain) == tree_page(plain) == Page(contents=[("pre/k", None), ("pre/l", None)])


@pytest.mark.parametrize("body", [
    page(contents("pre/a&amp;b")),  # an entity reference in a key (no encoding-type=url)
    page(contents("pre/a&#13;b")),  # a CR, as a reference
    page(contents("pre/<![CDATA[x]]>")),
    page(contents("pre/a"), "<!-- <Contents><Key>pre/hidden</Key></Contents> -->"),
    page(contents("pre/Contents")),  # a key naming the tag
    page(contents("pre/a"), contents("pre/b", None)),  # a size for some objects only
    page(contents("pre/a"), token="t&amp;u", truncated="true"),
    page(contents("pre/a"), declaration='<?xml version="1.0" encoding="ISO-8859-1"?>'),
    page(contents("pre/a")).replace(b"<Contents>", b'<Contents a="1">'),
    page(contents("pre/a")).replace(b"<IsTruncated>false</IsTruncated>", b""),
    page(contents("pre/a%20b"), encoding="&#117;rl"),
], ids=["entity", "cr", "cdata", "comment", "tag-in-key", "some-sizes", "token-entity", "latin-1", "attribute",
        "no-truncated", "encoding-type-entity"])
def test_pages_the_scan_cannot_vouch_for_go_to_the_parser(body: bytes) -> None:
    assert scan_page(body) is None
    assert read_page(body) == tree_page(body)


def test_namespace_prefixes_and_other_encodings_are_read_by_the_parser() -> None:
    prefixed = (f'<s3:ListBucketResult xmlns:s3="{NS}"><s3:IsTruncated>true</s3:IsTruncated>'
                "<s3:Contents><s3:Key>pre/a</s3:Key><s3:Size>5</s3:Size></s3:Contents>"
                "<s3:NextContinuationToken>n</s3:NextContinuationToken></s3:ListBucketResult>").encode()
    assert scan_page(prefixed) is None
    assert read_page(prefixed) == Page(contents=[("pre/a", 5)], next_token="n")
    latin = page(contents("pre/caf\u00e9"), encoding=None, declaration='<?xml version="1.0" encoding="ISO-8859-1"?>')
    latin = latin.replace("caf\u00e9".encode(), b"caf\xe9")
    assert read_page(latin).contents == [("pre/caf\u00e9", 1)]


def test_a_body_that_is_not_xml_is_an_error() -> None:
    with pytest.raises(CloudFilesError, match="not XML"):
        read_page(b"<html>502 Bad Gateway")
    with pytest.raises(CloudFilesError, match="not XML"):
        read_page(b"")


def test_entries_decode_strip_the_base_and_skip_directory_markers() -> None:
    listed = read_page(SEAWEED)
    assert entries(listed, "pre/", flat=True, size=True, token="t0") == [
        ListEntry("d/", None, "t0"), ListEntry("a b&c+d%e", 1, "t0"), ListEntry("dir/x", 2, "t0"),
        ListEntry("z", 0, "t0"),
    ]
    markers = Page(contents=[("pre/", 0), ("pre/dir/", 0), ("pre/dir/x", 3)])
    assert entries(markers, "pre/", flat=False, size=False, token=None) == [ListEntry("dir/x", None, None)]
    assert entries(markers, "pre/", flat=True, size=True, token=None) == [
        ListEntry("dir/", 0, None), ListEntry("dir/x", 3, None)]


# Keys of any text XML can carry (no control characters but tab, newline and CR, which goes as a reference),
# with the words and characters that could confuse a scan.
_KEY_TEXT = st.lists(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff") | st.sampled_from(
        ["&", "<", ">", "\n", "\t", "\r", "+", "%", " ", "Contents", "CommonPrefixes", "<Key>", "]]>", "&#34;"]),
    min_size=1, max_size=8,
).map("".join)


def _plain(text: str) -> bool:
    return not set(text) & set("&<>\r") and "Contents" not in text and "CommonPrefixes" not in text


@settings(max_examples=400, deadline=None)
@given(
    keys=st.lists(st.tuples(_KEY_TEXT, st.none() | st.integers(0, 2**40)), max_size=6),
    prefixes=st.lists(_KEY_TEXT, max_size=3),
    sized=st.booleans(),
    truncated=st.sampled_from(["true", "false", "True"]),
    token=st.none() | _KEY_TEXT,
    encoding=st.sampled_from([None, "url", "URL"]),
    declaration=st.sampled_from([DECLARATION, "", "<?xml version='1.0' encoding='utf-8'?>", "<?xml version='1.0'?>"]),
    sep=st.sampled_from(["", "\n", "\n    ", "\r\n "]),
)
def test_the_scan_reads_every_page_as_the_parser_does(
    keys: list[tuple[str, int | None]], prefixes: list[str], sized: bool, truncated: str, token: str | None,
    encoding: str | None, declaration: str, sep: str,
) -> None:
    parts = [contents(xml_escape("pre/" + key), size if sized else None) for key, size in keys]
    parts += [f"<CommonPrefixes><Prefix>{xml_escape('pre/' + p)}</Prefix></CommonPrefixes>" for p in prefixes]
    body = page(*parts, truncated=truncated, token=None if token is None else xml_escape(token),
                encoding=encoding, declaration=declaration, sep=sep)
    expected = tree_page(body)
    scanned = scan_page(body)
    assert scanned is None or scanned == expected
    assert read_page(body) == expected
    written = {size is None for _, size in keys} if sized else {True}
    if len(written) <= 1 and all(_plain(text) for text in [*(key for key, _ in keys), *prefixes, token or "x"]):
        assert scanned is not None  # a page with nothing unusual (sizes for all objects or none) is scanned
