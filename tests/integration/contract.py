"""The storage contract: one test class, run against every scheme.

A scheme's test module subclasses :class:`StorageContract` and provides a ``store`` fixture returning a
:class:`Store`: ``reader`` is the CloudFiles under test (a fresh, empty directory per test) and
``writer`` a CloudFiles whose writes the reader sees (the reader itself for writable schemes; for
http(s), a ``file://`` CloudFiles on the server's document root).

Capability flags say what a scheme truly cannot do. A test marked ``@requires(...)`` that needs a
capability its scheme lacks is not collected at all (``not_applicable`` below, called from the
suite's collection hook, deselects it with the reason in ``why_not``): a skip would look like a
test put off, when it is a test that does not apply.

* ``can_write``: put/delete/touch through the *reader* (http: no).
* ``can_list``: listing (and everything built on it: ``cf[:]``, ``iter(cf)``, subtree_size, isdir).
* ``encodings``: stored encodings the reader can serve (http via nginx: identity and gzip only).
* ``negative_ranges``: Python-slice negative offsets in ranged gets (local schemes).
"""

from __future__ import annotations

import bz2
import copy
import gzip
import io
import lzma
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from cloudfiles import CloudFiles
from cloudfiles.exceptions import DecompressionError
from cloudfiles.monitoring import TransmissionMonitor

ALL_ENCODINGS: tuple[str | None, ...] = (None, "gzip", "br", "zstd", "bz2", "xz")
RESULT_KEYS = {"path", "content", "byte_range", "error", "compress", "raw", "tags"}
PAYLOAD = bytes(range(256)) * 40 + b"the end"


@dataclass
class Store:
    """The CloudFiles under test and one that writes where it can see."""

    reader: CloudFiles
    writer: CloudFiles


def uniform(cf: CloudFiles) -> CloudFiles:
    """The same CloudFiles with ``consistent_shapes=True`` (the opt-in shapes)."""
    other = copy.copy(cf)
    other.consistent_shapes = True
    return other


def _stdlib_decode(data: bytes, encoding: str | None) -> bytes:
    """Decode with an independent implementation (interoperability oracle)."""
    if not encoding:  # None, or S3's "" (as cloud-files reports an uncompressed S3 object)
        return data
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding in ("bz2", "bzip2"):
        return bz2.decompress(data)
    if encoding == "xz":
        return lzma.decompress(data)
    if encoding == "br":
        import brotli

        return bytes(brotli.decompress(data))
    if encoding == "zstd":
        import zstandard

        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(data))
    raise AssertionError(encoding)


def by_path(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {res["path"]: res for res in results}


def requires(*capabilities: str, encoding: str | None = None, encoding_param: bool = False,
             any_encoding: tuple[str, ...] = ()) -> pytest.MarkDecorator:
    """Mark a contract test as needing capability flags and/or stored encodings.

    ``encoding_param``: the test's own ``encoding`` parameter must be servable.
    ``any_encoding``: at least one of these encodings must be servable.
    """
    return pytest.mark.requires(capabilities=capabilities, encoding=encoding,
                                encoding_param=encoding_param, any_encoding=any_encoding)


def not_applicable(item: pytest.Item) -> str | None:
    """Why a collected contract test does not apply to its scheme, or None if it does."""
    cls = getattr(item, "cls", None)
    if cls is None or not issubclass(cls, StorageContract):
        return None
    for marker in item.iter_markers("requires"):
        for capability in marker.kwargs["capabilities"]:
            if not getattr(cls, capability):
                return cls.why_not.get(capability, f"{cls.scheme} lacks {capability}")
        wanted: list[tuple[str | None, ...]] = []
        if marker.kwargs["encoding"] is not None:
            wanted.append((marker.kwargs["encoding"],))
        if marker.kwargs["encoding_param"]:
            wanted.append((item.callspec.params["encoding"],))  # type: ignore[attr-defined]
        if marker.kwargs["any_encoding"]:
            wanted.append(marker.kwargs["any_encoding"])
        for options in wanted:
            if not any(enc in cls.encodings for enc in options):
                return cls.why_not.get("encodings", f"{cls.scheme} cannot serve {options}")
    return None


class StorageContract:
    """Behaviour every scheme shares. Subclasses set the flags and the ``store`` fixture."""

    scheme: ClassVar[str] = "?"
    can_write: ClassVar[bool] = True
    can_list: ClassVar[bool] = True
    encodings: ClassVar[tuple[str | None, ...]] = ALL_ENCODINGS
    negative_ranges: ClassVar[bool] = True
    why_not: ClassVar[dict[str, str]] = {}
    #: the name cloud-files 6.4.3 gives a stored encoding in get results' "compress", where it differs
    #: from the canonical one (file/mem: "bzip2"; S3: "" for an uncompressed object)
    compress_labels: ClassVar[dict[str | None, str | None]] = {"bz2": "bzip2"}

    #: keys of cloud-files 6.4.3's head() on the scheme (None: at least every HEAD_KEYS key)
    legacy_head_keys: ClassVar[frozenset[str] | None] = frozenset(
        {"Cache-Control", "Content-Length", "Content-Type", "ETag", "Last-Modified", "Content-Md5",
         "Content-Encoding", "Content-Disposition", "Content-Language", "Storage-Class", "Request-Charged",
         "Parts-Count"}
    )
    #: keys per delete request in cloud-files 6.4.3, whose delete() returned the number of requests
    legacy_delete_batch: ClassVar[int] = 1

    def label(self, encoding: str | None) -> str | None:
        return self.compress_labels.get(encoding, encoding)

    @pytest.fixture
    def store(self) -> Iterator[Store]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield

    @staticmethod
    def seed(store: Store, files: dict[str, bytes], **kwargs: Any) -> None:
        store.writer.puts(list(files.items()), **kwargs)

    # -- get shapes --------------------------------------------------------------------------------
    def test_get_scalar(self, store: Store) -> None:
        self.seed(store, {"a": b"hello"})
        assert store.reader.get("a") == b"hello"
        assert isinstance(store.reader.get("a"), bytes)

    def test_get_missing(self, store: Store) -> None:
        assert store.reader.get("nope") is None
        res = store.reader.get(["nope"])
        assert res == [{
            "path": "nope", "content": None, "byte_range": (None, None), "error": None,
            "compress": None, "raw": False, "tags": None,
        }]

    def test_get_list_shape(self, store: Store) -> None:
        files = {f"f{i}": f"content {i}".encode() for i in range(25)}
        self.seed(store, files)
        results = store.reader.get(list(files))
        assert isinstance(results, list) and len(results) == 25
        for res in results:
            assert set(res) == RESULT_KEYS
            assert res["content"] == files[res["path"]]
            assert res["error"] is None and res["raw"] is False
            assert res["byte_range"] == (None, None)

    @pytest.mark.parametrize("shape", ["tuple", "set", "generator", "iterator", "dict_keys"])
    def test_get_iterable_shapes(self, store: Store, shape: str) -> None:
        files = {"x": b"1", "y": b"22", "z": b"333"}
        self.seed(store, files)
        names = list(files)
        inputs: Any = {
            "tuple": tuple(names),
            "set": set(names),
            "generator": (n for n in names),
            "iterator": iter(names),
            "dict_keys": files.keys(),
        }[shape]
        results = store.reader.get(inputs)
        assert {r["path"]: r["content"] for r in results} == files

    @requires("can_list")
    def test_get_cloudfiles_itself(self, store: Store) -> None:
        files = {"a": b"1", "d/b": b"2"}
        self.seed(store, files)
        assert {r["path"]: r["content"] for r in store.reader.get(store.reader)} == files

    def test_get_return_dict_and_tags(self, store: Store) -> None:
        self.seed(store, {"a": b"A", "b": b"B"})
        assert store.reader.get(["a", "b", "missing"], return_dict=True) == {
            "a": b"A", "b": b"B", "missing": None,
        }
        res = store.reader.get([{"path": "a", "tags": {"k": 1}}, {"path": "b", "tags": "t"}])
        assert {r["path"]: r["tags"] for r in res} == {"a": {"k": 1}, "b": "t"}

    def test_get_dict_scalar_and_ranges(self, store: Store) -> None:
        data = b"0123456789"
        self.seed(store, {"r": data})
        get = store.reader.get
        assert get({"path": "r", "start": 2, "end": 5}) == b"234"
        assert get({"path": "r", "start": 7}) == b"789"
        assert get({"path": "r", "start": 7, "end": None}) == b"789"
        assert get({"path": "r", "end": 3}) == b"012"
        assert get({"path": "r", "start": 0, "end": 100}) == data
        res = get([{"path": "r", "start": 1, "end": 4}, {"path": "r", "start": 8}])
        assert sorted((r["byte_range"], r["content"]) for r in res) == [((1, 4), b"123"), ((8, None), b"89")]

    @requires("negative_ranges")
    def test_get_negative_ranges(self, store: Store) -> None:
        self.seed(store, {"r": b"0123456789"})
        assert store.reader.get({"path": "r", "start": -3}) == b"789"
        assert store.reader.get({"path": "r", "start": 2, "end": -2}) == b"234567"

    @requires(encoding="gzip")
    def test_get_raw_reports_encoding(self, store: Store) -> None:
        self.seed(store, {"c": PAYLOAD}, compress="gzip")
        res = store.reader.get(["c"], raw=True)[0]
        assert res["compress"] == "gzip" and res["raw"] is True
        assert gzip.decompress(res["content"]) == PAYLOAD
        assert store.reader.get("c") == PAYLOAD

    @requires(encoding="gzip")
    def test_get_errors(self, store: Store) -> None:
        self.seed(store, {"good": b"fine"})
        store.writer.puts([("bad", b"this is not gzip")], raw=True, compress="gzip")
        res = by_path(store.reader.get(["good", "bad"], raise_errors=False))
        assert res["good"]["content"] == b"fine" and res["good"]["error"] is None
        assert res["bad"]["content"] is None
        assert isinstance(res["bad"]["error"], DecompressionError)
        with pytest.raises(DecompressionError):
            store.reader.get(["good", "bad"])
        with pytest.raises(DecompressionError):
            store.reader.get("bad")
        with pytest.raises(DecompressionError):
            store.reader.get(["bad"], raise_errors=False, return_dict=True)

    def test_get_total_progress_and_recording(self, store: Store, capsys: pytest.CaptureFixture[str]) -> None:
        self.seed(store, {"p1": b"1", "p2": b"22"})
        results, tm = store.reader.get(
            (p for p in ["p1", "p2"]), total=2, progress=True, return_recording=True
        )
        assert len(results) == 2
        assert isinstance(tm, TransmissionMonitor)
        assert "2/2" in capsys.readouterr().err

    def test_get_json_in_input_order(self, store: Store) -> None:
        objs = {f"j{i}": {"i": i, "list": [i] * 3} for i in range(30)}
        store.writer.put_jsons(list(objs.items()))
        order = [f"j{i}" for i in reversed(range(30))] + ["missing", "j3"]
        decoded = store.reader.get_json(order)
        assert decoded == [objs.get(k) for k in order]
        assert store.reader.get_json("j5") == objs["j5"]
        assert store.reader.get_json("missing") is None

    # -- puts --------------------------------------------------------------------------------------
    @requires("can_write")
    def test_puts_shapes(self, store: Store) -> None:
        cf = store.reader
        assert cf.put("one", b"1") == 1
        assert cf.puts([("two", b"2"), ("three", b"3")]) == 2
        assert cf.puts({"path": "four", "content": b"4"}) == 1
        assert cf.puts(("five", b"5")) == 1
        assert cf.puts((f"g{i}", b"g") for i in range(5)) == 5
        assert cf.put("text", "héllo") == 1
        assert cf.puts([{"path": "handle", "content": io.BytesIO(PAYLOAD)}]) == 1
        assert cf.get("text") == "héllo".encode()
        assert cf.get("handle") == PAYLOAD
        assert cf.get(["one", "two", "three", "four", "five"], return_dict=True) == {
            "one": b"1", "two": b"2", "three": b"3", "four": b"4", "five": b"5",
        }

    @requires("can_write")
    def test_puts_dict_overrides(self, store: Store) -> None:
        cf = store.reader
        cf.puts(
            [{"path": "plain", "content": PAYLOAD, "compress": None}, ("zipped", PAYLOAD)],
            compress="gzip",
        )
        raw = by_path(cf.get(["plain", "zipped"], raw=True))
        assert raw["plain"]["compress"] == self.label(None) and raw["plain"]["content"] == PAYLOAD
        assert raw["zipped"]["compress"] == "gzip"

    @requires("can_write")
    def test_puts_rejects_duplicates_and_bad_codecs(self, store: Store) -> None:
        cf = store.reader
        with pytest.raises(ValueError, match="dup"):
            cf.puts([("ok", b"1"), ("dup", b"1"), ("dup", b"2")])
        with pytest.raises(ValueError):
            cf.puts([("ok", b"1"), ("bad", b"2")], compress="lz4")
        with pytest.raises(ValueError):
            cf.put("bad", b"2", compress="nope")
        assert cf.get(["ok", "dup", "bad"], return_dict=True) == {"ok": None, "dup": None, "bad": None}
        # generators are not checked up front (they would have to be materialized)
        assert cf.puts(p for p in [("gen", b"1"), ("gen2", b"2")]) == 2

    @requires("can_write")
    def test_put_jsons_and_cache_control(self, store: Store) -> None:
        cf = store.reader
        item = {"path": "d.json", "content": {"a": 1}}
        assert cf.put_jsons([item, ("t.json", [1, 2])], cache_control="no-cache") == 2
        assert item["content"] == {"a": 1}  # the caller's dict is not modified
        assert cf.get_json(["d.json", "t.json"]) == [{"a": 1}, [1, 2]]
        assert cf.put_json("s.json", {"x": "y"}, compress="gzip") == 1
        assert cf.get_json("s.json") == {"x": "y"}

    @requires(encoding_param=True)
    @pytest.mark.parametrize("encoding", ALL_ENCODINGS)
    def test_codec_round_trip(self, store: Store, encoding: str | None) -> None:
        levels: list[int | None] = [None] if encoding is None else [None, 1]
        for level in levels:
            store.writer.put("obj", PAYLOAD, compress=encoding, compression_level=level)
            assert store.reader.get("obj") == PAYLOAD
            raw = store.reader.get(["obj"], raw=True)[0]
            assert raw["compress"] == self.label(encoding)
            assert _stdlib_decode(raw["content"], encoding) == PAYLOAD
            if encoding is not None:
                assert len(raw["content"]) < len(PAYLOAD)

    @requires(any_encoding=("gzip", "zstd"))
    def test_large_compressed_objects(self, store: Store) -> None:
        # Bodies above the codec pool's inline limit are (de)compressed on worker threads.
        encodings = [enc for enc in ("gzip", "zstd") if enc in self.encodings]
        rng = random.Random(7)
        big = {f"big{i}": rng.randbytes(150_000) + bytes(150_000) for i in range(6)}
        for enc in encodings:
            store.writer.puts(list(big.items()), compress=enc)
            assert {r["path"]: r["content"] for r in store.reader.get(list(big))} == big
            raw = store.reader.get(list(big), raw=True)
            assert all(r["compress"] == enc and len(r["content"]) > 65536 for r in raw)

    @requires(encoding="gzip")
    def test_compress_aliases(self, store: Store) -> None:
        for value in (True, "gzip", 1):
            store.writer.put("alias", PAYLOAD, compress=value)
            assert store.reader.get(["alias"], raw=True)[0]["compress"] == "gzip"
        for value in (None, False, "", 0):  # type: ignore[assignment]
            store.writer.put("alias", PAYLOAD, compress=value)
            assert store.reader.get(["alias"], raw=True)[0]["compress"] == self.label(None)

    @requires(encoding="gzip")
    def test_reput_other_encoding_leaves_no_stale_variant(self, store: Store) -> None:
        store.writer.put("v", b"old" * 100, compress="gzip")
        store.writer.put("v", b"new")
        assert store.reader.get("v") == b"new"
        assert store.reader.get(["v"], raw=True)[0]["compress"] == self.label(None)
        if self.can_list:
            assert list(store.reader.list()) == ["v"]
        store.writer.put("v", b"newer" * 100, compress="gzip")
        assert store.reader.get("v") == b"newer" * 100

    @requires(encoding="gzip")
    def test_raw_put_of_precompressed_bytes(self, store: Store) -> None:
        store.writer.puts([("pre", gzip.compress(PAYLOAD))], raw=True, compress="gzip")
        assert store.reader.get("pre") == PAYLOAD

    # -- metadata ----------------------------------------------------------------------------------
    def test_exists_head_size(self, store: Store) -> None:
        self.seed(store, {"e": b"12345"})
        cf = store.reader
        assert cf.exists("e") is True and cf.exists("missing") is False
        assert cf.exists(["e", "missing"]) == {"e": True, "missing": False}
        assert cf.size("e") == 5 and cf.size("missing") is None
        assert cf.size(["e", "missing"]) == {"e": 5, "missing": None}
        assert cf.size(["e", "e2"], return_sum=True) == 5
        from cloudfiles.interfaces.base import HEAD_KEYS

        head = cf.head("e")
        if self.legacy_head_keys is None:
            assert set(HEAD_KEYS) <= set(head)  # http: raw headers besides
        else:
            assert set(head) == self.legacy_head_keys  # the keys cloud-files gave on this scheme
        assert head["Content-Length"] == 5
        assert cf.head("missing") is None
        assert cf.head(["e", "missing"])["missing"] is None
        # opt-in: every scheme has every key (http may add raw headers)
        assert set(HEAD_KEYS) <= set(uniform(cf).head("e"))

    @requires(encoding="gzip")
    def test_size_is_stored_size(self, store: Store) -> None:
        store.writer.put("z", PAYLOAD, compress="gzip")
        stored = len(store.reader.get(["z"], raw=True)[0]["content"])
        assert store.reader.size("z") == stored < len(PAYLOAD)
        assert store.reader.exists("z") is True

    def test_head_last_modified_is_aware(self, store: Store) -> None:
        self.seed(store, {"lm": b"1"})
        modified = uniform(store.reader).head("lm")["Last-Modified"]
        if modified is not None:
            assert modified.tzinfo is not None
        legacy = store.reader.head("lm")["Last-Modified"]
        if modified is not None and self.scheme == "file":  # cloud-files: naive UTC on file://
            assert legacy.tzinfo is None and legacy == modified.replace(tzinfo=None)

    # -- delete / touch ----------------------------------------------------------------------------
    @requires("can_write")
    def test_delete_shapes(self, store: Store) -> None:
        cf = store.reader
        cf.puts([(f"d{i}", b"x") for i in range(8)])
        # cloud-files counted delete requests: one per key, or one per batch on S3/GCS
        requests = lambda n: -(-n // self.legacy_delete_batch)  # noqa: E731
        assert cf.delete("d0") == 1
        assert cf.delete(["d1", "d2", "never-existed"]) == requests(3)
        assert cf.delete(f"d{i}" for i in (3, 4)) == requests(2)
        # opt-in: the number of paths
        assert uniform(cf).delete(["d5", "d6", "never-existed"]) == 3
        assert uniform(cf).delete(f"d{i}" for i in (7,)) == 1
        assert cf.exists([f"d{i}" for i in range(8)]) == {f"d{i}": False for i in range(8)}

    @requires("can_write", encoding="gzip")
    def test_delete_removes_every_encoding(self, store: Store) -> None:
        store.reader.put("gone", PAYLOAD, compress="gzip")
        store.reader.delete("gone")
        assert store.reader.get("gone") is None
        assert store.reader.exists("gone") is False

    @requires("can_write")
    def test_touch(self, store: Store) -> None:
        cf = store.reader
        cf.put("kept", b"data")
        cf.touch(["kept", "new1", "dir/new2"])
        assert cf.get(["kept", "new1", "dir/new2"], return_dict=True) == {
            "kept": b"data", "new1": b"", "dir/new2": b"",
        }
        cf.touch("new3")
        assert cf.exists("new3")

    # -- listing -----------------------------------------------------------------------------------
    LISTING = ("bigarray/a", "bigarray/b", "bigarray/sub/c", "bigarr_x", "info", "other/deep/d")

    def _seed_listing(self, store: Store) -> None:
        self.seed(store, {name: b"12" for name in self.LISTING})

    @requires("can_list")
    def test_list_all_and_prefix(self, store: Store) -> None:
        self._seed_listing(store)
        cf = store.reader
        assert sorted(cf.list()) == sorted(self.LISTING)
        assert sorted(iter(cf)) == sorted(self.LISTING)
        assert sorted(cf.list("bigarr")) == ["bigarr_x", "bigarray/a", "bigarray/b", "bigarray/sub/c"]
        assert sorted(cf.list("bigarray/")) == ["bigarray/a", "bigarray/b", "bigarray/sub/c"]
        assert sorted(cf.list("bigarray/s")) == ["bigarray/sub/c"]
        assert list(cf.list("nothing-here")) == []
        assert list(cf.list("nodir/")) == []

    @requires("can_list")
    def test_list_flat(self, store: Store) -> None:
        self._seed_listing(store)
        cf = store.reader
        assert sorted(cf.list(flat=True)) == ["bigarr_x", "bigarray/", "info", "other/"]
        assert sorted(cf.list("bigarr", flat=True)) == ["bigarr_x", "bigarray/"]
        assert sorted(cf.list("bigarray/", flat=True)) == ["bigarray/a", "bigarray/b", "bigarray/sub/"]

    @requires("can_list")
    def test_list_size_and_tokens(self, store: Store) -> None:
        self._seed_listing(store)
        cf = store.reader
        assert sorted(cf.list("bigarray/", size=True)) == [
            ("bigarray/a", 2), ("bigarray/b", 2), ("bigarray/sub/c", 2),
        ]
        with_tokens = list(cf.list("info", return_resume_token=True))
        assert [name for name, _token in with_tokens] == ["info"]
        triples = list(cf.list("info", size=True, return_resume_token=True))
        assert [(n, s) for n, s, _t in triples] == [("info", 2)]

    @requires("can_list")
    def test_list_is_a_lazy_generator(self, store: Store) -> None:
        self._seed_listing(store)
        gen = store.reader.list()
        assert iter(gen) is gen
        assert next(gen) in self.LISTING

    @requires("can_list", encoding="gzip")
    def test_list_strips_encoding_suffixes(self, store: Store) -> None:
        store.writer.put("comp", PAYLOAD, compress="gzip")
        assert list(store.reader.list("comp")) == ["comp"]

    @requires("can_list")
    def test_subtree_size(self, store: Store) -> None:
        self._seed_listing(store)
        cf = store.reader
        assert cf.subtree_size() == {"N": 6, "num_bytes": 12}
        assert cf.subtree_size("bigarray/") == {"N": 3, "num_bytes": 6}
        assert cf.subtree_size(["bigarray/", "other/"]) == {"N": 4, "num_bytes": 8}

    @requires("can_list")
    def test_isdir(self, store: Store) -> None:
        self._seed_listing(store)
        cf = store.reader
        assert cf.isdir("bigarray") and cf.isdir("bigarray/") and cf.isdir("other/deep")
        assert not cf.isdir("bigarr")  # a name prefix is not a directory
        assert not cf.isdir("info")  # a file is not a directory
        assert not cf.isdir("nodir/")  # ending in '/' is no shortcut to True

    # -- transfers ---------------------------------------------------------------------------------
    @requires("can_list")
    def test_transfer_to_another_store(self, store: Store, tmp_path: Any) -> None:
        files = {"t/a": b"A" * 100, "t/b": b"B", "c": PAYLOAD}
        self.seed(store, files)
        dest = CloudFiles(f"file://{tmp_path}/dest")
        tm = store.reader.transfer_to(dest)
        assert isinstance(tm, TransmissionMonitor)
        assert dest.get(list(files), return_dict=True) == files
        mem = CloudFiles(f"mem://transfer-{id(self)}/x")
        store.reader.transfer_to(mem, paths=["c", ("t/a", "renamed")])
        assert mem.get(["c", "renamed"], return_dict=True) == {"c": PAYLOAD, "renamed": b"A" * 100}

    @requires("can_write")
    def test_transfer_and_moves_take_block_size_none(self, store: Store, tmp_path: Any) -> None:
        # cloud-files reads block_size None (CloudVolume's sharded transfer_to passes it) or 0 as one block
        files = {f"bs/{i}": bytes([65 + i]) * (i + 1) for i in range(5)}
        self.seed(store, files)
        for block_size in (None, 0):
            dest = CloudFiles(f"file://{tmp_path}/bs-{block_size}")
            store.reader.transfer_to(dest, paths=list(files), block_size=block_size)
            assert dest.get(list(files), return_dict=True) == files
            same = store.writer.cloudpath.rstrip("/") + f"/copied-{block_size}"
            store.writer.transfer_to(same, paths=list(files), block_size=block_size)
            copied = store.writer.get([f"copied-{block_size}/{k}" for k in files], return_dict=True)
            assert copied == {f"copied-{block_size}/{k}": v for k, v in files.items()}
            moved = CloudFiles(f"mem://moved-{id(self)}-{block_size}")
            dest.moves(moved, list(files), block_size=block_size)
            assert moved.get(list(files), return_dict=True) == files
            assert not any(dest.exists(list(files)).values())

    @requires(encoding="gzip")
    def test_transfer_encodings(self, store: Store, tmp_path: Any) -> None:
        store.writer.put("g", PAYLOAD, compress="gzip")
        keep = CloudFiles(f"file://{tmp_path}/keep")
        keep.transfer_from(store.reader, paths=["g"])
        assert keep.get(["g"], raw=True)[0]["compress"] == "gzip"
        plain = CloudFiles(f"file://{tmp_path}/plain")
        store.reader.transfer_to(plain, paths=["g"], reencode=False)
        assert plain.get(["g"], raw=True)[0]["compress"] is None
        assert plain.get("g") == PAYLOAD
        with pytest.raises(FileNotFoundError):
            store.reader.transfer_to(plain, paths=["missing"])
        store.reader.transfer_to(plain, paths=["missing"], allow_missing=True)
        assert plain.get("missing") == b""

    @requires("can_write")
    def test_transfer_into_reader(self, store: Store) -> None:
        src = CloudFiles(f"mem://transfer-src-{id(self)}")
        src.puts([("a", b"1"), ("b", b"2")])
        store.reader.transfer_from(src)
        assert store.reader.get(["a", "b"], return_dict=True) == {"a": b"1", "b": b"2"}

    # -- container protocol ------------------------------------------------------------------------
    def test_getitem_forms(self, store: Store) -> None:
        self.seed(store, {"k": b"0123456789"})
        cf = store.reader
        assert cf["k"] == b"0123456789"
        assert cf["k", 2:4] == b"23"
        assert cf["k", 5:] == b"56789"

    @requires("can_list")
    def test_getitem_slices(self, store: Store) -> None:
        files = {f"s{i}": bytes([i]) for i in range(6)}
        self.seed(store, files)
        cf = store.reader
        assert {r["path"]: r["content"] for r in cf[:]} == files
        assert len(cf[1:4]) == 3
        assert len(cf[::2]) == 3

    @requires("can_write")
    def test_setitem_delitem(self, store: Store) -> None:
        cf = store.reader
        cf["w"] = b"written"
        assert cf["w"] == b"written"
        del cf["w"]
        assert cf["w"] is None
        src = CloudFiles(f"mem://setitem-src-{id(self)}")
        src.put("s", b"S")
        cf[:] = src
        assert cf["s"] == b"S"
        with pytest.raises(KeyError):
            cf[1:2] = src

    # -- progress ----------------------------------------------------------------------------------
    def test_progress_bars(self, store: Store, capsys: pytest.CaptureFixture[str]) -> None:
        self.seed(store, {"pa": b"1", "pb": b"2"})
        cf = store.reader
        cf.get(["pa", "pb"], progress=True)
        cf.exists(["pa", "pb"], progress=True)
        cf.size(["pa", "pb"], progress="sizes")
        err = capsys.readouterr().err
        assert err.count("2/2") >= 3 and "sizes" in err
        if self.can_write:
            cf.puts([("pc", b"3")], progress=True)
            cf.delete(["pc"], progress=True)
            assert capsys.readouterr().err.count("1/1") >= 2

