"""cloudfiles.paths: the SPEC 2.2 grammar, aliases, helpers and key-joining safety."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudfiles import paths
from cloudfiles.exceptions import UnsupportedProtocolError
from cloudfiles.paths import ExtractedPath, UnsafePathError

MATRIX = "https://s3-hpcrc.rc.princeton.edu"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> Iterator[None]:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("CLOUD_FILES_DIR", os.path.join(tmp_path, "cf"))
    monkeypatch.setenv("CLOUD_VOLUME_DIR", os.path.join(tmp_path, "cv"))
    monkeypatch.setenv("HOME", os.path.join(tmp_path, "home"))
    paths.reset_aliases()
    yield
    paths.reset_aliases()


# --------------------------------------------------------------------------------------------------------
# SPEC 2.2 table, row by row
# --------------------------------------------------------------------------------------------------------


def test_gs_default_format() -> None:
    assert paths.extract("gs://b/dataset/layer") == ExtractedPath(
        "precomputed", "gs", "b", "dataset/layer", None, None
    )


def test_s3_custom_endpoint() -> None:
    assert paths.extract(f"s3://{MATRIX}/hello/world") == ExtractedPath(
        "precomputed", "s3", "hello", "world", MATRIX, None
    )


def test_s3_custom_endpoint_with_port() -> None:
    epath = paths.extract("s3://http://localhost:9000/bkt/a/b")
    assert epath == ExtractedPath("precomputed", "s3", "bkt", "a/b", "http://localhost:9000", None)


def test_official_alias_matrix() -> None:
    assert paths.extract("matrix://b/p") == ExtractedPath("precomputed", "s3", "b", "p", MATRIX, "matrix")


@pytest.mark.parametrize(
    ("alias", "host"),
    [
        ("nokura", "https://c10s.pni.princeton.edu"),
        ("matrix", MATRIX),
        ("tigerdata", "https://td.princeton.edu"),
    ],
)
def test_official_aliases(alias: str, host: str) -> None:
    epath = paths.extract(f"{alias}://bkt/key")
    assert (epath.protocol, epath.bucket, epath.path, epath.host, epath.alias) == (
        "s3",
        "bkt",
        "key",
        host,
        alias,
    )
    assert paths.OFFICIAL_ALIASES[alias] == f"s3://{host}/"


def test_graphene_http() -> None:
    assert paths.extract("graphene://http://localhost:8080/seg/1.0/v") == ExtractedPath(
        "graphene", "http", None, "seg/1.0/v", "http://localhost:8080", None
    )


def test_https_host_only() -> None:
    assert paths.extract("https://example.com") == ExtractedPath(
        "precomputed", "https", None, "", "https://example.com", None
    )


def test_file_absolute_trailing_slash_dropped() -> None:
    assert paths.extract("file:///tmp/a/") == ExtractedPath("precomputed", "file", None, "/tmp/a", None, None)


def test_file_relative(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert paths.extract("file://rel").path == os.path.join(os.getcwd(), "rel")
    assert paths.extract("file://rel/sub/").path == os.path.join(os.getcwd(), "rel", "sub")


def test_file_home() -> None:
    home = os.environ["HOME"]
    assert paths.extract("file://~/x").path == os.path.join(home, "x")


def test_mem_bucket_only() -> None:
    assert paths.extract("mem://bkt") == ExtractedPath("precomputed", "mem", "bkt", "", None, None)


def test_mem_bucket_and_key() -> None:
    assert paths.extract("mem://bkt/a/b") == ExtractedPath("precomputed", "mem", "bkt", "a/b", None, None)


def test_tail_format() -> None:
    assert paths.extract("gs://b/p|zarr2:") == ExtractedPath("zarr2", "gs", "b", "p", None, None)


def test_neuroglancer_precomputed_suffix_stripped() -> None:
    assert paths.extract("gs://b/p/|neuroglancer-precomputed:") == ExtractedPath(
        "precomputed", "gs", "b", "p/", None, None
    )


@pytest.mark.parametrize("fmt", paths.ALLOWED_FORMATS)
def test_every_format_prefix(fmt: str) -> None:
    assert paths.extract(f"{fmt}://gs://b/k").format == fmt
    assert paths.extract(f"gs://b/k|{fmt}:").format == fmt


def test_middleauth_https() -> None:
    epath = paths.extract("middleauth+https://cave.example.org/segmentation/table")
    assert epath == ExtractedPath(
        "precomputed", "middleauth+https", None, "segmentation/table", "https://cave.example.org", None
    )
    assert paths.ascloudpath(epath) == "precomputed://middleauth+https://cave.example.org/segmentation/table"


def test_ngauth_https_parses() -> None:
    assert paths.extract("ngauth+https://h.org/x").protocol == "ngauth+https"


def test_bucket_with_port_and_dots() -> None:
    assert paths.extract("gs://my.bucket-1_x/k").bucket == "my.bucket-1_x"


def test_trailing_slash_kept_on_remote_keys() -> None:
    assert paths.extract("s3://b/dir/").path == "dir/"


# --------------------------------------------------------------------------------------------------------
# Errors (SPEC 9: extract('') must not be a TypeError)
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "gs://",
        "s3://",
        "mem://",
        "gs://gs://b",
        "foo://bar",
        "https://",
        "s3://https://host-without-bucket",
        "nonsense/without/protocol",
        "gs://b!ad/k",
        "unknownfmt://gs://b/k",
    ],
)
def test_unparseable_paths_raise(bad: str) -> None:
    with pytest.raises(UnsupportedProtocolError):
        paths.extract(bad)


def test_unsupported_protocol_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="Cloud Path"):
        paths.extract("")


def test_non_string_raises_unsupported_protocol() -> None:
    with pytest.raises(UnsupportedProtocolError):
        paths.extract(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------------
# Windows / backslashes
# --------------------------------------------------------------------------------------------------------


def test_backslash_keys_do_not_break_remote_parsing() -> None:
    assert paths.extract("gs://bucket/dir\\file") == ExtractedPath(
        "precomputed", "gs", "bucket", "dir\\file", None, None
    )
    assert paths.extract("s3://https://h.org/b/a\\b\\c").path == "a\\b\\c"
    assert paths.extract("https://h.org/a\\b").path == "a\\b"


def test_windows_file_path_untouched() -> None:
    epath = paths.extract("file://C:\\data\\vol", windows=True)
    assert epath == ExtractedPath("precomputed", "file", None, "C:\\data\\vol", None, None)


def test_windows_flag_does_not_affect_remote_paths() -> None:
    assert paths.extract("gs://b/a\\b", windows=True) == paths.extract("gs://b/a\\b", windows=False)


# --------------------------------------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------------------------------------


def test_normalize_bare_path(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    monkeypatch.chdir(tmp_path)
    cwd = os.getcwd()
    assert paths.normalize("data/vol") == f"file://{cwd}/data/vol"
    assert paths.normalize("/tmp/x/") == "file:///tmp/x"
    assert paths.normalize("~/q") == f"file://{os.environ['HOME']}/q"


def test_normalize_tail_format() -> None:
    assert paths.normalize("gs://b/p|zarr2:") == "zarr2://gs://b/p"
    assert paths.normalize("/tmp/p|zarr:") == "zarr://file:///tmp/p"
    assert paths.normalize("gs://b/c|neuroglancer-precomputed:") == "gs://b/c"


def test_normalize_keeps_remote_and_alias_paths() -> None:
    for p in ["gs://b/k", "s3://https://h.org/b/k", "matrix://b/k", "precomputed://mem://x/y"]:
        assert paths.normalize(p) == p


def test_normalize_unknown_protocol_raises() -> None:
    with pytest.raises(UnsupportedProtocolError):
        paths.normalize("foo://bar")
    with pytest.raises(UnsupportedProtocolError):
        paths.normalize("")


# --------------------------------------------------------------------------------------------------------
# Rebuilding and helpers
# --------------------------------------------------------------------------------------------------------


def test_ascloudpath_and_asprotocolpath() -> None:
    epath = paths.extract("gs://b/k/x")
    assert paths.asprotocolpath(epath) == "gs://b/k/x"
    assert paths.ascloudpath(epath) == "precomputed://gs://b/k/x"
    assert paths.ascloudpath(epath._replace(format=None)) == "gs://b/k/x"
    assert paths.asprotocolpath(paths.extract("https://h.org:8080/a/b")) == "https://h.org:8080/a/b"
    assert paths.asprotocolpath(paths.extract("matrix://b/k")) == "matrix://b/k"
    assert paths.asprotocolpath(paths.extract("file:///tmp/z")) == "file:///tmp/z"


def test_asbucketpath() -> None:
    assert paths.asbucketpath("gs://b/k/x") == "precomputed://gs://b"
    assert paths.asbucketpath(paths.extract(f"s3://{MATRIX}/b/k")) == f"precomputed://s3://{MATRIX}/b"
    assert paths.asbucketpath("matrix://b/k") == "precomputed://matrix://b"
    with pytest.raises(TypeError):
        paths.asbucketpath(42)  # type: ignore[arg-type]


def test_asfilepath() -> None:
    assert paths.asfilepath("file:///tmp/a/b") == "/tmp/a/b"
    with pytest.raises(ValueError):
        paths.asfilepath("gs://b/k")


def test_dirname_basename() -> None:
    assert paths.dirname("gs://b/dir/f.txt") == "gs://b/dir"
    assert paths.basename("gs://b/dir/f.txt") == "f.txt"
    assert paths.dirname("/tmp/a/b") == os.path.dirname("/tmp/a/b")
    assert paths.basename("file:///tmp/a/b") == "b"


@pytest.mark.parametrize(
    ("src", "dest"),
    [
        ("gs://b/k", "https://storage.googleapis.com/b/k"),
        ("s3://b/k", "https://s3.amazonaws.com/b/k"),
        (f"s3://{MATRIX}/b/k", f"{MATRIX}/b/k"),
        ("matrix://b/k", f"{MATRIX}/b/k"),
        ("tigerdata://b/k", "https://td.princeton.edu/b/k"),
        ("precomputed://gs://b/k", "precomputed://https://storage.googleapis.com/b/k"),
        ("https://h.org/x", "https://h.org/x"),
        ("file:///tmp/x", "file:///tmp/x"),
        ("mem://b/x", "mem://b/x"),
    ],
)
def test_to_https_protocol(src: str, dest: str) -> None:
    assert paths.to_https_protocol(src) == dest


def test_to_https_protocol_extracted_path() -> None:
    epath = paths.to_https_protocol(paths.extract("gs://b/k"))
    assert epath == ExtractedPath("precomputed", "https", None, "b/k", "https://storage.googleapis.com", None)
    mem = paths.extract("mem://b/k")
    assert paths.to_https_protocol(mem) is mem


def test_get_protocol_and_friends() -> None:
    assert paths.get_protocol("gs://b") == "gs"
    assert paths.get_protocol("precomputed://s3://b") == "s3"
    assert paths.get_protocol("matrix://b") == "matrix"
    assert paths.get_protocol("/local/path") is None
    assert paths.get_protocol("foo://x") is None
    assert paths.get_any_protocol("foo://x") == "foo"
    assert paths.get_any_protocol("middleauth+https://x") == "middleauth+https"
    assert paths.get_any_protocol("/x") is None
    assert paths.pop_protocol("gs://b/k") == ("gs", "b/k")
    assert paths.pop_protocol("b/k") == (None, "b/k")


def test_extract_format_protocol() -> None:
    assert paths.extract_format_protocol("gs://b/k") == ("precomputed", "gs", None, "b/k", None)
    assert paths.extract_format_protocol("gs://b/k", allow_defaults=False) == (None, "gs", None, "b/k", None)
    assert paths.extract_format_protocol("matrix://b/k") == ("precomputed", "s3", MATRIX, "b/k", "matrix")


def test_resolve_alias() -> None:
    assert paths.resolve_alias("matrix://b/k") == ("matrix", f"s3://{MATRIX}/b/k")
    assert paths.resolve_alias("zarr://matrix://b/k") == ("matrix", f"zarr://s3://{MATRIX}/b/k")
    assert paths.resolve_alias("gs://b/k") == (None, "gs://b/k")


def test_service_provider() -> None:
    assert paths.service_provider("matrix://b/k") == "matrix"
    assert paths.service_provider("s3://b/k") == "s3"
    assert paths.service_provider(paths.extract("gs://b")) == "gs"


def test_find_common_buckets() -> None:
    groups = paths.find_common_buckets(
        [
            "gs://a/x/1",
            "gs://a/2",
            {"path": "s3://b/k", "byte_range": (0, 10)},
            {"path": "gs://c/k", "start": 5, "end": None},
            "file:///tmp/dir/sub/f",
        ]
    )
    assert groups["precomputed://gs://a"] == [
        {"path": "x/1", "start": None, "end": None},
        {"path": "2", "start": None, "end": None},
    ]
    assert groups["precomputed://s3://b"] == [{"path": "k", "start": 0, "end": 10}]
    assert groups["precomputed://gs://c"] == [{"path": "k", "start": 5, "end": None}]
    assert groups["file:///tmp"] == [{"path": "dir/sub/f", "start": None, "end": None}]


def test_find_common_buckets_scalar() -> None:
    assert list(paths.find_common_buckets("gs://a/x")) == ["precomputed://gs://a"]


def test_extracted_path_defaults_and_fields() -> None:
    assert ExtractedPath._fields == ("format", "protocol", "bucket", "path", "host", "alias")
    epath = ExtractedPath("precomputed", "gs", "b", "k")
    assert epath.host is None and epath.alias is None


def test_constants() -> None:
    assert set(paths.BASE_ALLOWED_PROTOCOLS) == {
        "gs",
        "file",
        "s3",
        "http",
        "https",
        "mem",
        "middleauth+https",
        "ngauth+https",
    }
    assert set(paths.OFFICIAL_ALIASES) <= set(paths.ALLOWED_PROTOCOLS)
    assert paths.CLOUD_PROTOCOLS == ["gs", "s3", "nokura", "matrix", "tigerdata"]
    assert paths.ALLOWED_FORMATS[:3] == ["graphene", "precomputed", "boss"]


# --------------------------------------------------------------------------------------------------------
# Aliases
# --------------------------------------------------------------------------------------------------------


def test_add_and_remove_process_alias() -> None:
    paths.add_alias("minio", "s3://http://localhost:9000")
    assert paths.ALIASES["minio"] == "s3://http://localhost:9000/"
    assert "minio" in paths.ALLOWED_PROTOCOLS
    assert paths.extract("minio://bkt/k") == ExtractedPath(
        "precomputed", "s3", "bkt", "k", "http://localhost:9000", "minio"
    )
    assert paths.to_https_protocol("minio://bkt/k") == "http://localhost:9000/bkt/k"
    paths.remove_alias("minio")
    assert "minio" not in paths.ALLOWED_PROTOCOLS
    with pytest.raises(UnsupportedProtocolError):
        paths.extract("minio://bkt/k")
    paths.remove_alias("never-added")  # no-op


def test_alias_name_inside_format_is_not_replaced() -> None:
    paths.add_alias("arr", "s3://https://arr.example.org/")
    epath = paths.extract("zarr://arr://b/k")
    assert epath == ExtractedPath("zarr", "s3", "b", "k", "https://arr.example.org", "arr")


@pytest.mark.parametrize("name", ["gs", "s3", "file", "https", "zarr", "precomputed", "bad name", "9x", ""])
def test_invalid_alias_names(name: str) -> None:
    with pytest.raises(ValueError):
        paths.add_alias(name, "s3://https://x.org/")


def test_official_aliases_cannot_change() -> None:
    with pytest.raises(ValueError):
        paths.add_alias("matrix", "s3://https://evil.example.org/")
    with pytest.raises(ValueError):
        paths.remove_alias("matrix")
    with pytest.raises(ValueError):
        paths.add_persistent_alias("nokura", "s3://https://evil.example.org/")
    paths.add_alias("matrix", paths.OFFICIAL_ALIASES["matrix"])  # re-adding the same host is fine


def test_alias_file_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    monkeypatch.setenv("CLOUD_FILES_DIR", os.path.join(tmp_path, "elsewhere"))
    assert os.path.join(tmp_path, "elsewhere", "aliases.json") == paths.ALIAS_FILE
    assert paths.alias_file() == paths.ALIAS_FILE


def test_persistent_alias_roundtrip() -> None:
    paths.add_persistent_alias("store", "s3://https://store.example.org")
    with open(paths.ALIAS_FILE) as f:
        assert json.load(f) == {"store": {"host": "s3://https://store.example.org/"}}

    paths.reset_aliases()  # a "new process": only official aliases until the file is needed
    assert "store" not in paths.ALIASES
    epath = paths.extract("store://b/k")  # unknown prefix triggers the lazy load
    assert epath == ExtractedPath("precomputed", "s3", "b", "k", "https://store.example.org", "store")

    paths.remove_persistent_alias("store")
    with open(paths.ALIAS_FILE) as f:
        assert json.load(f) == {}
    paths.reset_aliases()
    with pytest.raises(UnsupportedProtocolError):
        paths.extract("store://b/k")


def test_alias_file_loaded_lazily_once(monkeypatch: pytest.MonkeyPatch) -> None:
    path = paths.alias_file()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"lazy": {"host": "s3://https://lazy.example.org/"}}, f)
    assert paths.ALIASES_FROM_FILE is None
    paths.extract("gs://b/k")  # known protocols never touch the file
    assert paths.ALIASES_FROM_FILE is None
    assert paths.get_protocol("lazy://b") == "lazy"
    assert paths.ALIASES_FROM_FILE == {"lazy": {"host": "s3://https://lazy.example.org/"}}


def test_bad_alias_file_entries_are_skipped() -> None:
    path = paths.alias_file()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(
            {
                "gs": {"host": "s3://https://x/"},
                "matrix": {"host": "s3://https://y/"},
                "ok": {"host": "gs://"},
            },
            f,
        )
    with pytest.warns(UserWarning):
        paths.update_aliases_from_file()
    assert paths.ALIASES["ok"] == "gs://"
    assert paths.ALIASES["matrix"] == paths.OFFICIAL_ALIASES["matrix"]


def test_corrupt_alias_file_warns() -> None:
    path = paths.alias_file()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("{not json")
    with pytest.warns(UserWarning):
        paths.update_aliases_from_file()
    assert paths.ALIASES_FROM_FILE == {}


# --------------------------------------------------------------------------------------------------------
# join_key / safe_local_join
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "key", "out"),
    [
        ("a", "b", "a/b"),
        ("a/", "b", "a/b"),
        ("a/", "/b", "a/b"),
        ("a//", "//b", "a/b"),
        ("", "b", "b"),
        ("a", "", "a"),
        ("a/b", "c/d//e", "a/b/c/d//e"),
    ],
)
def test_join_key(base: str, key: str, out: str) -> None:
    assert paths.join_key(base, key) == out


def test_safe_local_join_ok(tmp_path: os.PathLike[str]) -> None:
    root = str(tmp_path)
    assert paths.safe_local_join(root, "a/b.txt") == os.path.join(root, "a", "b.txt")
    assert paths.safe_local_join(root, "") == root
    assert paths.safe_local_join(root, "./a") == os.path.join(root, ".", "a")
    assert paths.safe_local_join(root, "a..b/..c") == os.path.join(root, "a..b", "..c")


@pytest.mark.parametrize(
    "key",
    ["..", "../x", "a/../../x", "a/..", "/etc/passwd", "a\\..\\x", "..\\x", "C:\\x", "c:x", "a\x00b"],
)
def test_safe_local_join_rejects(key: str, tmp_path: os.PathLike[str]) -> None:
    with pytest.raises(ValueError) as info:
        paths.safe_local_join(str(tmp_path), key)
    assert isinstance(info.value, UnsafePathError)
    assert not isinstance(info.value, UnsupportedProtocolError)


# --------------------------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------------------------

_bucket = st.from_regex(r"[a-z0-9][a-z0-9._\-]{0,15}", fullmatch=True)
_key_chars = st.sampled_from(list("abcxyz0129-_.~/ \\"))
_key = st.text(_key_chars, min_size=1, max_size=30)
_host = st.from_regex(r"[a-z][a-z0-9\-]{0,10}(\.[a-z]{2,5}){0,2}(:[1-9][0-9]{0,4})?", fullmatch=True)
_segment = st.from_regex(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,8}", fullmatch=True).filter(
    lambda s: s not in (".", "..")
)
_fmt = st.sampled_from(paths.ALLOWED_FORMATS)


@st.composite
def _cloudpaths(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["gs", "s3", "mem", "s3host", "http", "https", "alias", "file"]))
    if kind in ("gs", "s3", "mem"):
        return f"{kind}://{draw(_bucket)}/{draw(_key)}"
    if kind == "s3host":
        scheme = draw(st.sampled_from(["http", "https"]))
        return f"s3://{scheme}://{draw(_host)}/{draw(_bucket)}/{draw(_key)}"
    if kind in ("http", "https"):
        return f"{kind}://{draw(_host)}/{draw(_key)}"
    if kind == "alias":
        alias = draw(st.sampled_from(sorted(paths.OFFICIAL_ALIASES)))
        return f"{alias}://{draw(_bucket)}/{draw(_key)}"
    return "file:///" + "/".join(draw(st.lists(_segment, min_size=1, max_size=5)))


@settings(max_examples=300, deadline=None)
@given(fmt=_fmt, path=_cloudpaths())
def test_roundtrip_with_format(fmt: str, path: str) -> None:
    full = f"{fmt}://{path}"
    assert paths.ascloudpath(paths.extract(full)) == full


@settings(max_examples=300, deadline=None)
@given(path=_cloudpaths())
def test_roundtrip_without_format(path: str) -> None:
    epath = paths.extract(path)
    assert epath.format == "precomputed"
    assert paths.asprotocolpath(epath) == path
    assert paths.extract(paths.ascloudpath(epath)) == epath
    # Tail-format spelling parses to the same thing as the prefix spelling.
    assert paths.extract(f"{path}|zarr:") == paths.extract(f"zarr://{path}")
    assert paths.normalize(path) == path


@settings(max_examples=500, deadline=None)
@given(key=st.text(max_size=40))
def test_safe_local_join_never_escapes(key: str) -> None:
    root = "/srv/root"
    try:
        joined = paths.safe_local_join(root, key)
    except UnsafePathError:
        return
    norm = os.path.normpath(joined)
    assert norm == root or norm.startswith(root + "/")


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(["a", "b", "..", ".", "", "x\\y", "/"]), max_size=6))
def test_safe_local_join_traversal_combinations(parts: list[str]) -> None:
    key = "/".join(parts)
    root = "/srv/root"
    try:
        joined = paths.safe_local_join(root, key)
    except UnsafePathError:
        assert ".." in parts or "\\" in key or key.startswith("/")
        return
    norm = os.path.normpath(joined)
    assert norm == root or norm.startswith(root + "/")


@settings(max_examples=500, deadline=None)
@given(key=st.text(max_size=20))
def test_safe_local_join_plain_name_shortcut_matches_the_general_join(key: str) -> None:
    # A single plain name takes a shortcut; whatever it gives must be what the general join gives.
    root = "/srv/root"
    try:
        joined = paths.safe_local_join(root, key)
    except UnsafePathError:
        assert key in ("..",) or any(ch in key for ch in "/\\\x00:")
        return
    assert joined == (os.path.join(root, *key.split("/")) if key else root)
