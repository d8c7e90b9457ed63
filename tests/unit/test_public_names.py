"""Every public module-level name of cloud-files 6.4.3 exists here, with the same meaning.

The reference is tests/data/cloudfiles_6_4_3_public_names.json, made by ci/gen-public-names.py from an
install of cloud-files 6.4.3 (see that script for how to regenerate it). The same script describes our
modules, in a subprocess with a clean environment (so directory constants read the same home), and
the records are compared: each name exists, has the same kind, the same value for simple constants,
and callables accept the same parameters (by name, and by position where cloud-files allowed a
positional call; ours may take more, optional, parameters). Deliberate differences are listed in
KNOWN_DIFFERENCES with their reason.

Then behaviour tests for the names that matter to real clients (CloudVolume imports
``COMPRESSION_EXTENSIONS`` from ``cloudfiles.interfaces``), the per-file interface classes, the
connection pools, ThreadedQueue and the scheduler.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "data" / "cloudfiles_6_4_3_public_names.json"
GENERATOR = ROOT / "ci" / "gen-public-names.py"

# (module, name, aspect) -> why ours differs on purpose. aspect: "kind", "value", "params" or
# "method <name>".
KNOWN_DIFFERENCES: dict[tuple[str, str, str], str] = {
    ("cloudfiles.cloudfiles", "FileInterface", "methods"): (
        "cloudfiles.cloudfiles.FileInterface is the file:// scheme the facade uses (our batch "
        "StorageInterface, built from (path, options)); cloud-files' per-file class is "
        "cloudfiles.interfaces.FileInterface and INTERFACES['file']"
    ),
}


def _load_gen() -> Any:
    spec = importlib.util.spec_from_file_location("gen_public_names", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference() -> dict[str, dict[str, Any]]:
    data = json.loads(REFERENCE.read_text())
    assert data["cloud-files"] == "6.4.3"
    return dict(data["modules"])


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Our modules described by the generator, run where HOME is a fresh directory and no cloudfiles
    environment variable is set (directory constants then match the reference's ``$HOME/...``)."""
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUD_FILES", "CLOUD_VOLUME", "AWS_"))}
    env["HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, str(GENERATOR)], env=env, cwd=str(home), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout)["modules"])


def _module_names() -> list[str]:
    return list(json.loads(REFERENCE.read_text())["modules"])


def _known(module: str, name: str, aspect: str) -> bool:
    return (module, name, aspect) in KNOWN_DIFFERENCES


def params_problems(orig: list[list[Any]] | None, mine: list[list[Any]] | None, is_init: bool = False) -> list[str]:
    """Why a call written for ``orig``'s signature would fail on ``mine`` (empty: it would not)."""
    if orig is None or mine is None:
        return []
    kinds = {p[1] for p in mine}
    if {p[1] for p in mine} <= {"VAR_POSITIONAL", "VAR_KEYWORD"} and "VAR_KEYWORD" in kinds:
        return []  # a forwarding wrapper (click command, decorator): accepts anything
    problems = []
    mine_by_name = {p[0]: (i, p) for i, p in enumerate(mine)}
    positional = [p for p in mine if p[1] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    for i, (name, kind, _has_default) in enumerate(orig):
        if kind in ("VAR_POSITIONAL", "VAR_KEYWORD"):
            if is_init and kind == "VAR_KEYWORD" and "VAR_KEYWORD" not in kinds:
                problems.append("no **kwargs")
            continue
        if name not in mine_by_name:
            problems.append(f"no parameter {name!r}")
            continue
        if kind == "POSITIONAL_OR_KEYWORD" and (i >= len(positional) or positional[i][0] != name):
            problems.append(f"{name!r} is not positional parameter #{i}")
    orig_names = {p[0] for p in orig}
    # A cloud-files *args forwarded its positional arguments: ours may name them.
    orig_varargs = any(p[1] == "VAR_POSITIONAL" for p in orig)
    for name, kind, has_default in mine:
        if name in orig_names or kind in ("VAR_POSITIONAL", "VAR_KEYWORD") or has_default:
            continue
        if orig_varargs and kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD"):
            continue
        problems.append(f"extra required parameter {name!r}")
    return problems


@pytest.mark.parametrize("module", _module_names())
def test_names_exist_with_the_same_kind(module: str, reference: dict[str, Any], ours: dict[str, Any]) -> None:
    theirs, mine = reference[module], ours.get(module, {})
    missing = sorted(set(theirs) - set(mine))
    assert not missing, f"{module} lacks {missing}"
    wrong = [
        (name, theirs[name]["kind"], mine[name]["kind"])
        for name in theirs
        if theirs[name]["kind"] != mine[name]["kind"] and not _known(module, name, "kind")
    ]
    assert not wrong, f"{module}: (name, cloud-files kind, our kind): {wrong}"


@pytest.mark.parametrize("module", _module_names())
def test_constants_have_the_same_values(module: str, reference: dict[str, Any], ours: dict[str, Any]) -> None:
    theirs, mine = reference[module], ours[module]
    wrong = []
    for name, record in theirs.items():
        if "value" not in record or record["kind"] == "type alias" or _known(module, name, "value"):
            continue  # our type aliases are wider (they accept more); their names are what matters
        if (record["value"], record.get("vtype")) != (mine[name].get("value"), mine[name].get("vtype")):
            wrong.append((name, record["value"], mine[name].get("value")))
    assert not wrong, f"{module}: (name, cloud-files value, ours): {wrong}"


@pytest.mark.parametrize("module", _module_names())
def test_functions_accept_the_same_parameters(module: str, reference: dict[str, Any], ours: dict[str, Any]) -> None:
    theirs, mine = reference[module], ours[module]
    wrong = {}
    for name, record in theirs.items():
        if record["kind"] != "function" or _known(module, name, "params"):
            continue
        problems = params_problems(record.get("params"), mine[name].get("params"))
        if problems:
            wrong[name] = problems
    assert not wrong, f"{module}: {wrong}"


@pytest.mark.parametrize("module", _module_names())
def test_classes_have_the_same_methods(module: str, reference: dict[str, Any], ours: dict[str, Any]) -> None:
    theirs, mine = reference[module], ours[module]
    wrong: dict[str, list[str]] = {}
    for name, record in theirs.items():
        if record["kind"] != "class":
            continue
        if _known(module, name, "methods"):
            continue
        our_methods = mine[name].get("methods", {})
        for method, spec in record["methods"].items():
            if _known(module, name, f"method {method}"):
                continue
            if method not in our_methods:
                wrong.setdefault(name, []).append(f"no {method}")
                continue
            problems = params_problems(spec.get("params"), our_methods[method].get("params"), method == "__init__")
            wrong.setdefault(name, []).extend(f"{method}: {p}" for p in problems)
    wrong = {k: v for k, v in wrong.items() if v}
    assert not wrong, f"{module}: {wrong}"


@pytest.mark.parametrize("module", _module_names())
def test_star_import_brings_every_name(module: str, reference: dict[str, Any]) -> None:
    """cloud-files had no __all__, so ``from m import *`` gave all its public names (CloudVolume does
    ``from cloudfiles.compression import *``): where we define __all__, it lists them all."""
    mod = importlib.import_module(module)
    exported = getattr(mod, "__all__", None)
    if exported is None:
        return
    missing = sorted(set(reference[module]) - set(exported))
    assert not missing, f"{module}.__all__ lacks {missing}"


def test_known_differences_are_still_different(reference: dict[str, Any], ours: dict[str, Any]) -> None:
    """Each listed difference still exists (a fixed one must leave the list)."""
    for module, name, aspect in KNOWN_DIFFERENCES:
        theirs, mine = reference[module][name], ours[module][name]
        if aspect == "methods":
            assert any(
                m not in mine["methods"] or params_problems(spec.get("params"), mine["methods"][m].get("params"), True)
                for m, spec in theirs["methods"].items()
            ), (module, name, aspect)
        else:
            assert theirs.get(aspect) != mine.get(aspect), (module, name, aspect)


# --------------------------------------------------------------------------------------------------------
# Behaviour of the names real clients use
# --------------------------------------------------------------------------------------------------------


def test_cloudvolume_imports() -> None:
    from cloudfiles import CloudFiles, compression, reset_connection_pools  # noqa: F401
    from cloudfiles.compression import COMPRESSION_TYPES, compress, decompress
    from cloudfiles.interfaces import COMPRESSION_EXTENSIONS

    assert COMPRESSION_EXTENSIONS == (".gz", ".br", ".zstd", ".bz2", ".xz")
    assert COMPRESSION_TYPES == [None, False, True, "", "bz2", "bzip2", "gzip", "br", "zstd", "xz", "lzma"]
    assert decompress(compress(b"x" * 100, "gzip"), "gzip") == b"x" * 100
    namespace: dict[str, Any] = {}
    # A star import can only be run inside a function through exec (cloudvolume/compression.py does it).
    exec("from cloudfiles.compression import *", namespace)  # noqa: S102 - a fixed literal statement
    assert {"compress", "decompress", "COMPRESSION_TYPES", "DecompressionError", "transcode"} <= set(namespace)


def test_import_stays_light() -> None:
    code = (
        "import sys, cloudfiles, cloudfiles.interfaces, cloudfiles.connectionpools, cloudfiles.scheduler;"
        "from cloudfiles.interfaces import COMPRESSION_EXTENSIONS, S3_POOL, MEMORY_DATA;"
        "heavy = [m for m in ('pycurl', 'botocore', 'google.auth', 'numpy', 'gevent', 'psutil') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_submodules_and_cli_package_import() -> None:
    import cloudfiles
    import cloudfiles_cli
    from cloudfiles_cli import cloudfiles_cli as cli_module

    for name in ("connectionpools", "gcs", "scheduler", "threaded_queue", "typing", "resumable_tools", "secrets"):
        assert importlib.import_module(f"cloudfiles.{name}") is getattr(cloudfiles, name)
    from cloudfiles.cli import main

    assert cli_module.main is main and cloudfiles_cli.main is main
    assert cloudfiles_cli.listing_db.SQLITE_MAX_PARAMS in (999, 32766)


def test_cli_commands_run_under_their_old_names(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cloudfiles_cli.cloudfiles_cli import SI, cloudpathjoin, exprgen, get_mfp, ispathdir, main

    (tmp_path / "a.txt").write_bytes(b"hello")
    result = CliRunner().invoke(main, ["ls", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "a.txt" in result.output
    # helper results checked against cloud-files 6.4.3's
    assert [SI(500), SI(1536), SI(3 * 2**30), SI(2**70)] == ["500 bytes", "1.50 KiB", "3.00 GiB", "1024.00 EiB"]
    assert exprgen("a[xy]b[12]", ["xy", "12"]) == ["axb1", "axb2", "ayb1", "ayb2"]
    assert get_mfp("gs://b/dir/*.json", False) == (True, True, "", ".json")
    assert get_mfp("gs://b/dir/**", False) == (True, False, "", "")
    assert get_mfp("gs://b/dir/abc*", True) == (True, True, "abc", "")
    assert get_mfp("gs://b/x", True) == (True, False, "", "")
    assert cloudpathjoin("/tmp/a", "b", "c") == "file:///tmp/a/b/c"
    assert cloudpathjoin("gs://b/a", "x") == "gs://b/a/x"
    assert [ispathdir("gs://b/"), ispathdir("gs://b"), ispathdir("gs://b/x"), ispathdir(str(tmp_path))] == [
        True, True, False, True,
    ]


def test_listing_db_resumes(tmp_path: Path) -> None:
    from cloudfiles import CloudFiles
    from cloudfiles_cli import listing_db

    src = tmp_path / "src"
    CloudFiles(f"file://{src}").puts([(f"f{i}", b"x" * i) for i in range(5)])
    db = str(tmp_path / "list.db")
    listing_db.list(f"file://{src}", db)
    conn = listing_db.init_db(db)
    assert listing_db.get_cloudpath(conn) == f"file://{src}"
    assert sorted(conn.execute("SELECT path, size FROM files")) == [(f"f{i}", i) for i in range(5)]
    listing_db.write_batch(conn, [("f0", 0), ("zz", 9)], None)  # a page seen again is not an error
    listing_db.save_checkpoint(conn, "tok", 1)
    conn.commit()
    assert listing_db.load_checkpoint(conn) == ("tok", 6)
    conn.close()


def test_get_connection_mem_data_keys() -> None:
    """``_get_connection()._data`` is MEMORY_DATA[bucket]: keys are paths in the bucket with suffix."""
    from cloudfiles import CloudFiles, clear_memory
    from cloudfiles.interfaces import MEMORY_DATA, MemoryInterface

    clear_memory()
    cf = CloudFiles("mem://bkt/dir")
    cf.put("a", b"plain")
    cf.put("b", b"zipped" * 10, compress="gzip")
    with cf._get_connection() as conn:
        assert isinstance(conn, MemoryInterface)
        assert set(conn._data) == {"dir/a", "dir/b.gz"}
        assert conn._data is MEMORY_DATA["bkt"]
        assert conn._data["dir/a"] == b"plain"
        conn._data["dir/c"] = b"written through"
    assert cf.get("c") == b"written through"
    clear_memory()
    assert MEMORY_DATA == {}


def test_get_connection_per_file_methods(tmp_path: Path) -> None:
    from cloudfiles import CloudFiles, compression
    from cloudfiles.interfaces import FileInterface

    cf = CloudFiles(f"file://{tmp_path}")
    with cf._get_connection() as conn:
        assert isinstance(conn, FileInterface)
        conn.put_file("x", compression.compress(b"abc" * 50, "gzip"), content_type=None, compress="gzip")
        content, encoding, _hash, _kind = conn.get_file("x")
        assert encoding == "gzip" and compression.decompress(content, encoding) == b"abc" * 50
        assert conn.get_file("missing") == (None, None, None, None)
        assert conn.exists("x") and not conn.exists("y")
        assert conn.files_exist(["x", "y"]) == {"x": True, "y": False}
        assert conn.size("x") == len(content) and conn.head("x")["Content-Encoding"] == "gzip"
        assert list(conn.list_files("")) == ["x"]
        assert list(conn.list_files("", size=True)) == [("x", len(content))]
        assert list(conn.list_files("", return_resume_token=True)) == [("x", None)]
        assert conn.subtree_size() == (1, len(content))
        assert conn.get_path_to_file("x") == os.path.join(str(tmp_path), "x")
        assert FileInterface.get_encoded_file_path(str(tmp_path / "x")) == (str(tmp_path / "x.gz"), "gzip")
        assert [FileInterface.get_extension(c) for c in (None, True, "br", "zstd", "xz", "bzip2")] == [
            "", ".gz", ".br", ".zstd", ".xz", ".bz2",
        ]
        with pytest.raises(ValueError):
            FileInterface.get_extension("nope")
        assert conn.io_with_lock(lambda: 7, str(tmp_path / "x")) == 7
        assert conn.save_file("x", str(tmp_path / "out" / "copy"), False) == (True, len(content))
        assert (tmp_path / "out" / "copy.gz").read_bytes() == content
        conn.delete_files(["x"])
        assert not conn.exists("x")


def test_interface_classes_built_like_cloud_files(tmp_path: Path) -> None:
    from cloudfiles import paths
    from cloudfiles.cloudfiles import INTERFACES
    from cloudfiles.interfaces import FileInterface, MemoryInterface, S3Interface

    conn = FileInterface(paths.extract(f"file://{tmp_path}"), secrets=None, request_payer=None, locking=True,
                         lock_dir=str(tmp_path / "locks"), composite_upload_threshold=10)
    conn.put_file("k", b"v", content_type=None, compress=None)
    assert conn.get_file("k")[0] == b"v"
    assert INTERFACES["file"] is FileInterface and INTERFACES["mem"] is MemoryInterface
    assert INTERFACES["s3"] is INTERFACES["matrix"] is INTERFACES["nokura"] is S3Interface
    with pytest.raises(ValueError):
        MemoryInterface(paths.extract("mem://b"), request_payer="me")


def test_connection_pools_and_reset() -> None:
    import cloudfiles.interfaces as ifaces
    from cloudfiles import clear_memory, reset_connection_pools
    from cloudfiles.connectionpools import MEMORY_DATA, MemoryPool

    clear_memory()
    pool = ifaces.MEM_POOL[ifaces.MemoryPoolParams("poolbkt")]
    assert isinstance(pool, MemoryPool)
    conn = pool.get_connection()
    conn["k"] = b"v"
    assert MEMORY_DATA["poolbkt"] == {"k": b"v"}
    assert pool.total_connections() == 1
    pool.release_connection(conn)
    assert pool.get_connection() is conn  # reused
    before = ifaces.MEM_POOL
    reset_connection_pools()
    assert ifaces.MEM_POOL is not before and len(ifaces.MEM_POOL) == 0
    assert MEMORY_DATA == {}
    assert pool.total_connections() == 0


def test_pooled_connections_are_keyed_by_their_arguments() -> None:
    """SPEC 9.2: cloud-files handed a connection made for one endpoint to a caller of another."""
    from cloudfiles.connectionpools import ConnectionPool

    class Pool(ConnectionPool):
        def _create_connection(self, secrets: Any, endpoint: str | None, no_sign_request: bool = False) -> Any:
            return {"endpoint": endpoint, "secrets": secrets}

    pool = Pool()
    a = pool.get_connection(endpoint="https://a.example")
    pool.release_connection(a)
    b = pool.get_connection(endpoint="https://b.example")
    assert b["endpoint"] == "https://b.example"
    assert pool.get_connection(endpoint="https://a.example") is a
    with pytest.raises(NotImplementedError):
        ConnectionPool().get_connection()


def test_s3_pool_makes_interfaces_for_the_bucket() -> None:
    pytest.importorskip("pycurl")
    import cloudfiles.interfaces as ifaces

    pool = ifaces.S3_POOL[ifaces.S3ConnectionPoolParams("matrix", "bkt", None)]
    conn = pool.get_connection(secrets={"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
    assert conn.bucket == "bkt" and conn.service == "matrix"
    other = pool.get_connection(endpoint="http://127.0.0.1:9")
    assert other is not conn
    pool.reset_pool()
    assert pool.total_connections() == 0


def test_retry_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudfiles.connectionpools import retry
    from cloudfiles.interfaces import retry_if_not

    monkeypatch.setattr(time, "sleep", lambda s: None)
    calls = []

    @retry
    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("again")
        return "ok"

    assert flaky() == "ok" and len(calls) == 3

    @retry
    def broken() -> None:
        calls.append(1)
        raise OSError("never")

    calls.clear()
    with pytest.raises(OSError):
        broken()
    assert len(calls) == 7

    @retry_if_not([KeyError, ValueError])
    def picky(exc: type[BaseException]) -> None:
        calls.append(1)
        raise exc("x")

    for exc in (KeyError, ValueError):
        calls.clear()
        with pytest.raises(exc):
            picky(exc)
        assert len(calls) == 1  # not retried (cloud-files retried these when given a list)


def test_read_file_and_constants(tmp_path: Path) -> None:
    pytest.importorskip("pycurl")
    from cloudfiles.interfaces import (
        DEFAULT_S3_ACL,
        EXT_TEST_SEQUENCE,
        NFS_ETAG_REGEXP,
        S3_ACLS,
        read_file,
        s3,
    )

    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    assert read_file(str(path), "gzip", 2, 5) == (b"234", "gzip", None, None)
    assert read_file(str(path), None, None, None)[0] == b"0123456789"
    assert read_file(str(path), None, 7, None)[0] == b"789"
    assert read_file(str(path), None, None, 3)[0] == b"012"
    # the same facts the s3 scheme uses
    assert DEFAULT_S3_ACL == s3.DEFAULT_ACL and S3_ACLS == s3.ALIAS_ACLS
    assert NFS_ETAG_REGEXP.search("12-") and not NFS_ETAG_REGEXP.search("abcdef")
    from cloudfiles.interfaces.file import ENCODING_SUFFIXES

    assert [suffix for suffix, _ in EXT_TEST_SEQUENCE] == [suffix for _, suffix in ENCODING_SUFFIXES][:6]


def test_secrets_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudfiles import secrets

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUD_VOLUME_DIR", str(tmp_path / "cv"))
    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path / "cf"))
    assert str(tmp_path / ".cloudvolume") == secrets.CV_HOME and str(tmp_path / ".cloudfiles") == secrets.CF_HOME
    assert str(tmp_path / "cv" / "secrets") == secrets.CLOUD_VOLUME_SECRETS_DIR
    assert secrets.google_credentials_path == str(tmp_path / "cv" / "secrets" / "google-secret.json")
    assert secrets.PROJECT_NAME is None
    (tmp_path / "cf" / "secrets").mkdir(parents=True)
    (tmp_path / "cf" / "secrets" / "google-secret.json").write_text('{"project_id": "proj"}')
    (tmp_path / "cf" / "secrets" / "http-secret.json").write_text('{"user": "u", "password": "p"}')
    assert secrets.PROJECT_NAME == "proj"
    assert secrets.google_credentials("bkt")[0] == "proj"
    assert secrets.GOOGLE_CREDENTIALS_CACHE["bkt"][0] == "proj"
    secrets.aws_credentials("bkt", "matrix")
    assert "bkt" in secrets.AWS_CREDENTIALS_CACHE["matrix"]
    assert secrets.http_credentials() == ("u", "p")
    assert secrets.HTTP_CREDENTIALS == {"user": "u", "password": "p"}


def test_paths_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudfiles import paths

    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path))
    paths.reset_aliases()
    try:
        assert paths.CLOUDPATH_REGEXP.pattern == paths.mkregexp()
        assert paths.CLOUDPATH_REGEXP.match("precomputed://matrix://b").group("proto") == "matrix"
        paths.add_alias("myalias", "s3://https://example.org/")
        assert paths.CLOUDPATH_REGEXP.match("myalias://b/k").group("proto") == "myalias"
        paths.update_aliases_from_file()
        assert paths.ALIASES_FROM_FILE is not None
        paths.ALIASES_FROM_FILE["other"] = {"host": "s3://https://other.org/"}
        paths.update_persistent_aliases()
        assert json.loads((tmp_path / "aliases.json").read_text()) == {"other": {"host": "s3://https://other.org/"}}
        assert str(tmp_path / "aliases.json") == paths.ALIAS_FILE and str(tmp_path) == paths.CLOUD_FILES_DIR
    finally:
        paths.reset_aliases()


# --------------------------------------------------------------------------------------------------------
# ThreadedQueue and the scheduler
# --------------------------------------------------------------------------------------------------------


def test_threaded_queue_runs_work() -> None:
    from cloudfiles.threaded_queue import ThreadedQueue

    results: list[int] = []
    lock = threading.Lock()

    def task(i: int) -> Any:
        def run(interface: Any) -> None:
            assert interface is None
            with lock:
                results.append(i * i)

        return run

    with ThreadedQueue(n_threads=4) as tq:
        for i in range(200):
            tq.put(task(i))
    assert sorted(results) == [i * i for i in range(200)]
    assert tq.processed == 200 and not tq.are_threads_alive()


def test_threaded_queue_per_thread_interface_and_errors() -> None:
    from cloudfiles.threaded_queue import ThreadedQueue

    class PerThread(ThreadedQueue):
        made: ClassVar[list[int]] = []
        closed: ClassVar[list[int]] = []

        def _initialize_interface(self) -> Any:
            self.made.append(threading.get_ident())
            return threading.get_ident()

        def _close_interface(self, interface: Any) -> None:
            self.closed.append(interface)

    seen: set[tuple[int, int]] = set()
    with PerThread(n_threads=3) as tq:
        for _ in range(30):
            tq.put(lambda iface: seen.add((iface, threading.get_ident())))
    assert all(a == b for a, b in seen)  # each task got its own thread's interface
    assert sorted(PerThread.made) == sorted(PerThread.closed) and len(PerThread.made) == 3

    def boom(_: Any) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"), ThreadedQueue(n_threads=2) as tq:
        for _ in range(10):
            tq.put(boom)


def test_threaded_queue_without_threads_runs_on_wait() -> None:
    from cloudfiles.threaded_queue import ThreadedQueue

    out: list[int] = []
    tq = ThreadedQueue(n_threads=0)
    for i in range(5):
        tq.put(lambda _, i=i: out.append(i))
    assert tq.pending == 5 and out == []
    tq.wait()
    assert out == [0, 1, 2, 3, 4] and tq.pending == 0


def test_threaded_queue_is_not_slow_for_short_lists() -> None:
    """cloud-files' queue polled and slept: ~96 ms per one-task ``with`` block here (6.4.3); ours ~2 ms.
    The bound leaves room for a loaded CI machine."""
    from cloudfiles.threaded_queue import ThreadedQueue

    start = time.perf_counter()
    for _ in range(50):
        with ThreadedQueue(n_threads=2) as tq:
            tq.put(lambda _: None)
    assert (time.perf_counter() - start) / 50 < 0.03


def test_schedule_jobs() -> None:
    from cloudfiles.scheduler import raise_multiple, schedule_jobs

    assert sorted(schedule_jobs([lambda i=i: i for i in range(50)], 8)) == list(range(50))
    assert schedule_jobs((lambda i=i: i for i in range(5)), 0) == [0, 1, 2, 3, 4]  # inline, in order
    assert schedule_jobs([lambda: 3] * 4, 2, count_return=True, progress=False) == [3, 3, 3, 3]
    assert schedule_jobs(iter([lambda: 1] * 30), 4, total=30) == [1] * 30
    with pytest.raises(ValueError):
        schedule_jobs([], -1)

    def fail() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        schedule_jobs([fail] * 3, 2)

    errors: list[BaseException] = [ValueError("a"), KeyError("b")]
    with pytest.raises(ValueError) as info:
        raise_multiple(errors)
    assert isinstance(info.value.__context__, KeyError) and errors == []


def test_schedule_green_jobs() -> None:
    pytest.importorskip("gevent")
    from cloudfiles.scheduler import schedule_jobs

    assert sorted(schedule_jobs([lambda i=i: i for i in range(20)], 4, green=True)) == list(range(20))


# --------------------------------------------------------------------------------------------------------
# cloudfiles.cloudfiles helpers, gcs.merge
# --------------------------------------------------------------------------------------------------------


def test_path_to_byte_range_tags() -> None:
    from cloudfiles.cloudfiles import path_to_byte_range_tags

    assert path_to_byte_range_tags("a") == ("a", None, None, None)
    assert path_to_byte_range_tags({"path": "a", "start": 1, "end": 5, "tags": 7}) == ("a", 1, 5, 7)
    assert path_to_byte_range_tags({"path": "a"}) == ("a", None, None, None)


class _Summer:
    """A picklable object with a parallelized method (workers are spawned: it must import by name)."""

    parallel = 1

    def total(self, items: list[int], progress: bool = False, total: int | None = None) -> list[int]:
        return [i * 2 for i in items]


def test_parallel_execute_runs_in_processes() -> None:
    from cloudfiles.cloudfiles import parallel_execute

    res = parallel_execute(_double_block, list(range(45)), 2, None, False, None, True)
    assert sorted(res) == [i * 2 for i in range(45)]
    assert parallel_execute(_double_block, list(range(3)), 1, None, False, None, False) is None
    with pytest.raises(ValueError):
        parallel_execute(_double_block, [], -1, None, False, None, True)


def _double_block(block: list[int]) -> list[int]:
    return [i * 2 for i in block]


def test_gcs_merge_composes_levels() -> None:
    from cloudfiles import gcs, paths

    composed: list[tuple[list[tuple[str, list[str]]], dict[str, Any]]] = []
    deleted: list[list[str]] = []

    class Composer:
        def _compose(self, jobs: list[tuple[str, list[str]]], meta: dict[str, Any]) -> None:
            composed.append((jobs, meta))

    class FakeCF:
        def delete(self, names: list[str]) -> None:
            deleted.append(names)

    path = paths.extract("gs://bkt/dir/obj")
    gcs.merge(FakeCF(), Composer(), path, 0, 1, 40, "text/plain", None, "NEARLINE", "gzip")
    (level0, meta0), (level1, meta1) = composed
    assert [target for target, _ in level0] == ["dir/obj.1.0.part", "dir/obj.1.1.part"]
    assert len(level0[0][1]) == 32 and level0[1][1][-1] == "dir/obj.0.39.part"
    assert meta0["storageClass"] == "STANDARD"
    assert level1 == [("dir/obj", ["dir/obj.1.0.part", "dir/obj.1.1.part"])]
    assert meta1 == {"contentType": "text/plain", "storageClass": "NEARLINE", "contentEncoding": "gzip"}
    assert deleted[0][0] == "obj.0.0.part" and deleted[1] == ["obj.1.0.part", "obj.1.1.part"]


def test_gcs_composite_upload_on_mem() -> None:
    from cloudfiles import CloudFiles, clear_memory, gcs

    clear_memory()
    assert gcs.composite_upload("mem://bkt/dir/obj", b"hello" * 10, part_size=8, compress="gzip") == 1
    assert CloudFiles("mem://bkt/dir").get("obj") == b"hello" * 10
    assert CloudFiles("mem://bkt/dir").head("obj")["Content-Encoding"] == "gzip"
    clear_memory()


def test_pickled_transmission_monitor_roundtrip() -> None:
    from cloudfiles.monitoring import IOEnum, TransmissionMonitor

    tm = TransmissionMonitor(IOEnum.RX)
    tm.end_io(tm.start_io(0), 10)
    assert pickle.loads(pickle.dumps(tm)).total_bytes() == 10
