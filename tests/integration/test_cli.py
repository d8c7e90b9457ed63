"""The ``cloudfiles`` command line.

file:// and http:// (a real nginx) run the installed ``cloudfiles`` executable in a subprocess, the way
users run it; mem:// lives in one process's memory, so those cases run the same click command
in-process. Every copy is checked by reading the destination back through the API.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google_crc32c
import pytest
from click.testing import CliRunner, Result

import cloudfiles
from cloudfiles import CloudFiles
from cloudfiles.cli import main
from cloudfiles.cli.checksums import server_hashes
from cloudfiles.cli.listing import expand_expr

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_GCE_CHECK"] = "True"

EXE = str(Path(sys.executable).with_name("cloudfiles"))
CODECS = ["same", "none", "gzip", "br", "zstd", "bz2", "xz"]
STORED = {"same": None, "none": None, "gzip": "gzip", "br": "br", "zstd": "zstd", "bz2": "bz2", "xz": "xz"}
BINARY = bytes(range(256)) * 3 + b"\r\n\x00\xff not utf-8: \xc3\x28"
FILES = {
    "plain.txt": b"hello world\n" * 20,
    "binary.bin": BINARY,
    "nested/deeper/leaf.json": b'{"a": 1}',
    "empty": b"",
}
_counter = itertools.count()


# -- helpers ----------------------------------------------------------------------------------------------
def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run the installed executable; by default assert it succeeded."""
    proc = subprocess.run([EXE, *args], input=stdin, capture_output=True, cwd=cwd, timeout=60)
    if check:
        assert proc.returncode == 0, (args, proc.returncode, proc.stderr.decode(errors="replace"))
        assert b"Traceback" not in proc.stderr
    return proc


def invoke(*args: str, stdin: bytes | None = None, code: int = 0) -> Result:
    """Run the command in this process (needed for mem://) and check its exit status."""
    result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    assert result.exit_code == code, (args, result.exit_code, result.stderr)
    return result


def strict(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run with ``--strict``: missing files and refused arguments are errors (stderr, exit 1)."""
    return run("--strict", *args, stdin=stdin, check=False)


def assert_user_error(proc: subprocess.CompletedProcess[bytes] | Result, *needles: str) -> None:
    """Non-zero exit, and one-line ``cloudfiles:`` messages on stderr instead of a traceback."""
    if isinstance(proc, Result):
        code, err = proc.exit_code, proc.stderr
    else:
        code, err = proc.returncode, proc.stderr.decode()
    assert code != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines and all(line.startswith("cloudfiles:") for line in lines), err
    for needle in needles:
        assert needle in err


def seed(cf: CloudFiles, files: dict[str, bytes] = FILES, compress: Any = None) -> None:
    cf.puts([(k, v) for k, v in files.items()], compress=compress)


def stored_encoding(cf: CloudFiles, key: str) -> Any:
    """The canonical name of the stored encoding (get results name it per scheme, as cloud-files did)."""
    from cloudfiles.compression import normalize_encoding

    return normalize_encoding(cf.get([key], raw=True)[0]["compress"])


def contents(cf: CloudFiles) -> dict[str, bytes]:
    return {name: cf.get(name) for name in cf.list()}


def mem(prefix: str = "cli") -> str:
    return f"mem://{prefix}{next(_counter)}"


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A local directory with FILES, plus one file stored gzip-compressed."""
    root = tmp_path / "src"
    cf = CloudFiles(f"file://{root}")
    seed(cf)
    cf.put("packed", b"compressible " * 100, compress="gzip")
    return root


ALL_FILES = {**FILES, "packed": b"compressible " * 100}


@pytest.fixture
def web(nginx) -> Iterator[tuple[str, CloudFiles]]:
    """An http:// directory served by nginx, written through file:// (uncompressed files only)."""
    d = f"cli{next(_counter)}"
    writer = CloudFiles(f"file://{nginx.root}/{d}")
    seed(writer)
    yield f"{nginx.url}/{d}", writer


# -- help, version, errors --------------------------------------------------------------------------------
SUBCOMMANDS = [
    "ls", "cp", "mv", "rm", "touch", "cat", "head", "du", "hash", "sync", "verify", "mkdir", "license",
    "alias", "alias ls", "alias add", "alias rm", "acl", "acl get", "xfer", "xfer init", "xfer execute",
    "watch", "watch net", "watch net print", "watch net histogram",
]


def test_help_for_every_command() -> None:
    top = run("--help").stdout.decode()
    for name in ("ls", "cp", "mv", "rm", "cat", "hash", "sync", "xfer", "verify", "du"):
        assert name in top
    for sub in SUBCOMMANDS:
        out = invoke(*sub.split(), "--help").stdout
        assert out.startswith("Usage: "), sub
    assert cloudfiles.__version__ in run("--version").stdout.decode()


def test_user_errors_are_one_line_messages(tmp_path: Path) -> None:
    """--strict: every failure is a one-line message on stderr and exit status 1 (the default prints
    cloud-files' own lines on stdout, exit 0: tests/integration/test_cli_parity.py)."""
    assert_user_error(strict("cp", str(tmp_path / "missing"), str(tmp_path / "x")), "No such file")
    assert_user_error(strict("cat", str(tmp_path / "missing")), "No such file")
    assert_user_error(run("ls", "foo://bucket/x", check=False), "unsupported path")
    assert_user_error(strict("ls", str(tmp_path / "nope")), "No such file")
    assert_user_error(strict("cp", "-c", "gzip", "nobucket:x://y", str(tmp_path)))
    assert_user_error(strict("head", str(tmp_path / "missing")), "No such file")
    assert_user_error(strict("du", str(tmp_path / "missing")), "No such file")
    assert_user_error(strict("rm", str(tmp_path / "missing")), "No such file")
    assert_user_error(strict("cp", str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "nodir")), "Not a directory")
    (tmp_path / "file").write_bytes(b"")
    assert_user_error(strict("mkdir", str(tmp_path / "file")), "File exists")
    assert_user_error(run("xfer", "execute", str(tmp_path / "no.db"), check=False), "No such file")
    assert_user_error(run("cat", "-r", "x-y", str(tmp_path / "f"), check=False), "bad range")
    assert_user_error(run("ls", str(tmp_path / "a*" / "b"), check=False), "wildcards")
    proc = run("cp", "-c", "lz4", str(tmp_path), str(tmp_path / "x"), check=False)
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr  # click usage error


# -- cp: every direction, every codec ---------------------------------------------------------------------
def check_copy(dest: CloudFiles, codec: str, expected: dict[str, bytes] = ALL_FILES) -> None:
    assert contents(dest) == expected
    for key in expected:
        want = ("gzip" if key == "packed" else None) if codec == "same" else STORED[codec]
        assert stored_encoding(dest, key) == want, (key, codec)


@pytest.mark.parametrize("codec", CODECS)
def test_cp_file_to_file_every_codec(src: Path, tmp_path: Path, codec: str) -> None:
    dest = tmp_path / f"dest-{codec}"
    run("cp", "-r", "-c", codec, str(src), str(dest))
    check_copy(CloudFiles(f"file://{dest}"), codec)


@pytest.mark.parametrize("codec", CODECS)
def test_cp_http_to_file_every_codec(web: tuple[str, CloudFiles], tmp_path: Path, codec: str) -> None:
    url, _writer = web
    dest = tmp_path / "dest"
    run("cp", "-r", "-c", codec, url, f"file://{dest}")
    check_copy(CloudFiles(f"file://{dest}"), codec, FILES)


def test_cp_http_single_files(nginx, tmp_path: Path) -> None:
    d = f"cli{next(_counter)}"
    CloudFiles(f"file://{nginx.root}/{d}").put("g", b"zipped " * 50, compress="gzip")  # gzip_static
    run("cp", f"{nginx.url}/{d}/g", str(tmp_path / "kept"))
    run("cp", "-c", "none", f"{nginx.url}/{d}/g", str(tmp_path / "plain"))
    out = CloudFiles(f"file://{tmp_path}")
    assert out.get("kept") == out.get("plain") == b"zipped " * 50
    assert stored_encoding(out, "kept") == "gzip" and stored_encoding(out, "plain") is None
    assert_user_error(run("cp", str(tmp_path / "plain"), f"{nginx.url}/{d}/up", check=False), "read-only")


@pytest.mark.parametrize("codec", CODECS)
def test_mem_transfers_every_direction(src: Path, nginx, web: tuple[str, CloudFiles], tmp_path: Path, codec: str) -> None:
    url, _ = web
    # new directories below a bucket (copying into a bucket root would create <bucket>/src/...)
    m1, m2, m3 = f"{mem()}/copy", f"{mem()}/copy", f"{mem()}/copy"
    invoke("cp", "-r", "-c", codec, str(src), m1)  # file -> mem
    check_copy(CloudFiles(m1), codec)
    invoke("cp", "-r", "-c", codec, m1, m2)  # mem -> mem
    check_copy(CloudFiles(m2), codec)
    invoke("cp", "-r", "-c", codec, m2, str(tmp_path / "back"))  # mem -> file
    check_copy(CloudFiles(f"file://{tmp_path}/back"), codec)
    invoke("cp", "-r", "-c", codec, url, m3)  # http -> mem
    check_copy(CloudFiles(m3), codec, FILES)


# -- cp: naming, globs, many sources, stdin, stdout -------------------------------------------------------
def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_cp_gsutil_directory_naming(src: Path, tmp_path: Path) -> None:
    (tmp_path / "exists").mkdir()
    run("cp", "-r", str(src), str(tmp_path / "exists"))  # existing dir: copy goes inside
    assert tree(tmp_path / "exists") == {f"src/{k}" for k in FILES} | {"src/packed.gz"}
    run("cp", "-r", str(src), str(tmp_path / "fresh"))  # new name: the copy is the new dir
    assert tree(tmp_path / "fresh") == set(FILES) | {"packed.gz"}
    run("cp", "-r", str(src) + "/", str(tmp_path / "slash") + "/")  # trailing '/' marks a dir
    assert tree(tmp_path / "slash") == {f"src/{k}" for k in FILES} | {"src/packed.gz"}
    run("cp", str(src / "plain.txt"), str(tmp_path / "renamed.txt"))  # file to new name
    assert (tmp_path / "renamed.txt").read_bytes() == FILES["plain.txt"]
    run("cp", str(src / "plain.txt"), str(tmp_path / "exists"))  # file into dir
    assert (tmp_path / "exists" / "plain.txt").read_bytes() == FILES["plain.txt"]

    proc = strict("cp", str(src), str(tmp_path / "norec"))  # dir without -r
    assert_user_error(proc, "is a directory")
    assert not (tmp_path / "norec").exists()
    assert_user_error(run("cp", "-r", str(src), str(src / "nested"), check=False), "into itself")


def test_mem_directory_naming_and_prefix_safety() -> None:
    base = mem()
    seed(CloudFiles(f"{base}/dir"))
    CloudFiles(f"{base}/dir2").put("other", b"2")
    CloudFiles(f"{base}/out").put("existing", b"1")
    invoke("cp", "-r", f"{base}/dir", f"{base}/out")  # out has objects: it is a directory
    invoke("cp", "-r", f"{base}/dir", f"{base}/new")
    listing = set(CloudFiles(base).list())
    assert {f"out/dir/{k}" for k in FILES} <= listing
    assert {f"new/{k}" for k in FILES} <= listing
    assert "out/dir2/other" not in listing and "new/other" not in listing  # dir2 is not under dir/
    # a trailing '/' does not make a missing source a directory (it is looked up)
    assert_user_error(invoke("--strict", "cp", "-r", f"{base}/nothing/", f"{base}/x", code=1), "No such file")
    assert_user_error(invoke("--strict", "ls", f"{base}/nothing/", code=1), "No such file")


def test_cp_globs(src: Path, tmp_path: Path) -> None:
    run("cp", str(src / "*.txt"), str(tmp_path / "txt") + "/")
    assert tree(tmp_path / "txt") == {"plain.txt"}
    run("cp", str(src / "**.json"), str(tmp_path / "json"))
    assert tree(tmp_path / "json") == {"nested/deeper/leaf.json"}
    run("cp", str(src / "*"), str(tmp_path / "flat"))  # one level, directories skipped without -r
    assert tree(tmp_path / "flat") == {"plain.txt", "binary.bin", "empty", "packed.gz"}
    run("cp", "-r", str(src / "n*"), str(tmp_path / "rec"))  # -r: matched directories come whole
    assert tree(tmp_path / "rec") == {"nested/deeper/leaf.json"}
    run("cp", str(src / "**"), str(tmp_path / "all"))
    assert contents(CloudFiles(f"file://{tmp_path}/all")) == ALL_FILES


def test_cp_many_sources_and_stdin(src: Path, tmp_path: Path) -> None:
    run("cp", str(src / "plain.txt"), str(src / "binary.bin"), str(tmp_path / "many") + "/")
    assert tree(tmp_path / "many") == {"plain.txt", "binary.bin"}
    (tmp_path / "afile").write_bytes(b"x")
    proc = strict("cp", str(src / "plain.txt"), str(src / "empty"), str(tmp_path / "afile"))
    assert_user_error(proc, "Not a directory")

    listing = "\n".join([str(src / "plain.txt"), str(src / "nested/deeper/leaf.json"), ""]).encode()
    run("cp", "-", str(tmp_path / "fromstdin"), stdin=listing)
    assert tree(tmp_path / "fromstdin") == {"plain.txt", "nested/deeper/leaf.json"}


def test_cp_to_stdout_is_binary(src: Path) -> None:
    assert run("cp", str(src / "binary.bin"), "-").stdout == BINARY
    assert run("cp", str(src / "packed"), "-").stdout == ALL_FILES["packed"]  # decoded
    stdin = f"{src / 'binary.bin'}\n{src / 'plain.txt'}\n".encode()
    assert run("cp", "-", "-", stdin=stdin).stdout == BINARY + FILES["plain.txt"]


def test_cp_in_parallel_processes(src: Path, tmp_path: Path) -> None:
    many = tmp_path / "many"
    CloudFiles(f"file://{many}").puts([(f"f{i}", b"%d" % i) for i in range(60)])
    run("-p", "2", "cp", "-r", "-b", "10", "-c", "zstd", str(many), str(tmp_path / "out"))
    out = CloudFiles(f"file://{tmp_path}/out")
    assert contents(out) == {f"f{i}": b"%d" % i for i in range(60)}
    assert stored_encoding(out, "f7") == "zstd"
    proc = run("-p", "2", "rm", "-r", "--progress", "-b", "7", str(tmp_path / "out"))
    assert proc.stdout == b"" and b"Deleting" in proc.stderr  # bars go to stderr
    assert list((tmp_path / "out").iterdir()) == []  # emptied; the directory stays, as in cloud-files


# -- mv ---------------------------------------------------------------------------------------------------
def test_mv_local_and_across_schemes(src: Path, tmp_path: Path) -> None:
    run("mv", str(src), str(tmp_path / "moved"))
    assert not src.exists()
    assert contents(CloudFiles(f"file://{tmp_path}/moved")) == ALL_FILES
    run("mv", str(tmp_path / "moved/plain.txt"), str(tmp_path / "p.txt"))
    assert (tmp_path / "p.txt").read_bytes() == FILES["plain.txt"]

    m = f"{mem()}/moved"
    invoke("mv", str(tmp_path / "moved"), m)  # file -> mem: copy then delete
    assert contents(CloudFiles(m)) == {k: v for k, v in ALL_FILES.items() if k != "plain.txt"}
    assert not any(p.is_file() for p in (tmp_path / "moved").rglob("*")) if (tmp_path / "moved").exists() else True
    invoke("mv", f"{m}/binary.bin", f"{m}/renamed.bin")
    assert CloudFiles(m).get("renamed.bin") == BINARY and CloudFiles(m).get("binary.bin") is None


# -- rm ---------------------------------------------------------------------------------------------------
def test_rm_refuses_directories_and_is_scoped(tmp_path: Path) -> None:
    a = tmp_path / "a"
    cf = CloudFiles(f"file://{a}")
    cf.puts([("test/x", b"1"), ("test/sub/y", b"2"), ("test2/z", b"3"), ("test.txt", b"4"), ("k", b"5")])
    assert_user_error(strict("rm", str(a / "test")), "is a directory")
    assert set(cf.list()) == {"test/x", "test/sub/y", "test2/z", "test.txt", "k"}
    run("rm", "-r", str(a / "test"))
    assert set(cf.list()) == {"test2/z", "test.txt", "k"}
    assert (a / "test/sub").is_dir() and not any(p.is_file() for p in (a / "test").rglob("*"))  # as cloud-files
    run("rm", str(a / "*.txt"))
    assert set(cf.list()) == {"test2/z", "k"}
    run("rm", "-", stdin=f"{a / 'k'}\n".encode())
    assert set(cf.list()) == {"test2/z"}
    assert_user_error(strict("rm", str(a / "gone")), "No such file")


def test_rm_mem_prefix_safety() -> None:
    base = mem()
    cf = CloudFiles(base)
    cf.puts([("a/test/x", b"1"), ("a/test/y/z", b"2"), ("a/test2/w", b"3"), ("a/test", b"obj"), ("a/testx", b"4")])
    result = invoke("--strict", "rm", f"{base}/a/test2", code=1)
    assert_user_error(result, "is a directory")
    invoke("rm", f"{base}/a/test2")  # cloud-files took a path without '/' for an object: nothing to delete
    invoke("rm", "-r", f"{base}/a/test")
    assert set(cf.list()) == {"a/test2/w", "a/testx"}
    invoke("rm", f"{base}/a/test*")
    assert set(cf.list()) == {"a/test2/w"}
    invoke("rm", "-r", f"{base}/a/test*")
    assert set(cf.list()) == set()


# -- cat, head, touch, mkdir ------------------------------------------------------------------------------
def test_cat_binary_ranges_and_order(src: Path, tmp_path: Path) -> None:
    proc = run("cat", str(src / "binary.bin"), str(src / "plain.txt"), str(src / "binary.bin"))
    assert proc.stdout == BINARY + FILES["plain.txt"] + BINARY
    assert run("cat", "-r", "10-20", str(src / "binary.bin")).stdout == BINARY[10:20]
    assert run("cat", "-r", "700-", str(src / "binary.bin")).stdout == BINARY[700:]
    assert run("cat", "-r", "-5", str(src / "binary.bin")).stdout == BINARY[:5]
    assert run("cat", "-r", "3-9", str(src / "packed")).stdout == ALL_FILES["packed"][3:9]  # stored gzip
    stdin = f"{src / 'plain.txt'}\n{src / 'binary.bin'}\n".encode()
    assert run("cat", "-", stdin=stdin).stdout == FILES["plain.txt"] + BINARY
    proc = strict("cat", str(src / "plain.txt"), str(src / "missing"))
    assert proc.stdout == FILES["plain.txt"]
    assert_user_error(proc, "missing: No such file")
    assert_user_error(run("cat", str(src / "nested"), check=False), "is a directory")


def test_cat_mem_and_http(web: tuple[str, CloudFiles]) -> None:
    url, _ = web
    assert run("cat", f"{url}/binary.bin", f"{url}/plain.txt").stdout == BINARY + FILES["plain.txt"]
    m = mem()
    seed(CloudFiles(m), compress="br")
    assert invoke("cat", f"{m}/binary.bin", f"{m}/nested/deeper/leaf.json").stdout_bytes == BINARY + b'{"a": 1}'
    assert invoke("cat", "-r", "1-4", f"{m}/binary.bin").stdout_bytes == BINARY[1:4]


def test_head_touch_mkdir(tmp_path: Path) -> None:
    import json

    run("mkdir", str(tmp_path / "d/e/f"))
    assert (tmp_path / "d/e/f").is_dir()
    run("touch", str(tmp_path / "d/t1"), str(tmp_path / "d/e/t2"))
    assert (tmp_path / "d/t1").read_bytes() == b"" and (tmp_path / "d/e/t2").exists()
    meta = json.loads(run("head", "--json", str(tmp_path / "d/t1")).stdout)
    assert meta["Content-Length"] == 0
    run("touch", str(tmp_path / "d/t0"))
    many = json.loads(run("head", "--json", str(tmp_path / "d/*")).stdout)
    assert list(many) == ["t0", "t1"] and many["t1"]["Content-Length"] == 0  # keyed by name in the glob's dir
    assert "'Content-Length': 0" in run("head", str(tmp_path / "d/t1")).stdout.decode()  # Python's notation
    m = mem()
    invoke("touch", f"{m}/x/y")
    assert CloudFiles(m).get("x/y") == b""


# -- ls ---------------------------------------------------------------------------------------------------
def test_ls_variants(src: Path, tmp_path: Path) -> None:
    def lines(*args: str) -> list[str]:
        return run("ls", *args).stdout.decode().splitlines()

    full = {f"file://{src}/{k}" for k in ALL_FILES}
    assert set(lines(str(src))) == full
    assert lines(str(src)) == sorted(full)  # file:// listings print sorted, as in cloud-files
    # the last component is a prefix: names are relative to its directory
    assert set(lines("--shortpath", str(src))) == {f"src/{k}" for k in ALL_FILES}
    flat = {"plain.txt", "binary.bin", "empty", "packed", "nested/"}
    assert set(lines("--shortpath", "--flat", str(src))) == {f"src/{k}" for k in flat}
    assert set(lines("--shortpath", "--flat", f"file://{src}/")) == flat
    assert set(lines("--shortpath", str(src / "*"))) == {"plain.txt", "binary.bin", "empty", "packed", "nested/"}
    assert set(lines("--shortpath", str(src / "**.json"))) == {"nested/deeper/leaf.json"}
    assert set(lines("--shortpath", str(src / "*.txt"))) == {"plain.txt"}
    assert lines(str(src / "plain.txt")) == [f"file://{src}/plain.txt"]
    assert set(lines("--shortpath", "-e", str(src / "[pb]"))) == {"plain.txt", "binary.bin", "packed"}


def test_ls_http_and_mem(web: tuple[str, CloudFiles]) -> None:
    url, _ = web
    out = run("ls", "--shortpath", url + "/").stdout.decode().splitlines()
    assert set(out) == set(FILES)
    m = mem()
    seed(CloudFiles(f"{m}/dir"))
    CloudFiles(f"{m}/dir2").put("x", b"")
    assert set(invoke("ls", f"{m}/dir/").stdout.splitlines()) == {f"{m}/dir/{k}" for k in FILES}
    # without the '/' the last component is a prefix (cloud-files): dir2 matches too
    assert set(invoke("ls", f"{m}/dir").stdout.splitlines()) == {f"{m}/dir/{k}" for k in FILES} | {f"{m}/dir2/x"}
    assert set(invoke("ls", "--shortpath", "--flat", f"{m}/").stdout.splitlines()) == {"dir/", "dir2/"}
    assert invoke("ls", f"{m}/dir/plain.txt").stdout == f"{m}/dir/plain.txt\n"  # a file lists itself
    assert invoke("ls", f"{m}/dir/plain").stdout == f"{m}/dir/plain.txt\n"  # a prefix match
    assert invoke("ls", f"{m}/dir/none").stdout == ""
    assert_user_error(invoke("--strict", "ls", f"{m}/dir/none", code=1), "No such file")
    assert invoke("ls", f"{url}/plain.txt").stdout == f"{url}/plain.txt\n"


def test_expand_expr() -> None:
    assert expand_expr("x[ab]y[01]") == ["xay0", "xay1", "xby0", "xby1"]
    assert expand_expr("[ab]{2}") == ["aa", "ab", "ba", "bb"]
    assert expand_expr("plain") == ["plain"]


def test_ls_sqlite_is_resumable(src: Path, tmp_path: Path) -> None:
    db = tmp_path / "list.db"
    run("ls", "--sqlite", str(db), f"file://{src}/")
    run("ls", "--sqlite", str(db), f"file://{src}/")  # a rerun adds nothing twice
    rows = sqlite3.connect(db).execute("SELECT path, size FROM files").fetchall()
    assert sorted(p for p, _ in rows) == sorted(ALL_FILES)
    assert dict(rows)["binary.bin"] == len(BINARY)


# -- du ---------------------------------------------------------------------------------------------------
def test_du_flags(tmp_path: Path) -> None:
    d = tmp_path / "du"
    CloudFiles(f"file://{d}").puts([("a.txt", b"x" * 1000), ("b.txt", b"y" * 2000), ("sub/c.bin", b"z" * 3000)])
    per_file = run("du", str(d)).stdout.decode().splitlines()
    assert per_file == ["1000\ta.txt", "2000\tb.txt", "3000\tsub/c.bin"]  # named within the directory
    assert run("du", "-s", str(d)).stdout.decode() == f"6000\t{d}\n"
    out = run("du", "-s", "-c", "-N", str(d), str(d / "sub")).stdout.decode().splitlines()
    assert out == [f"6000\t{d}", f"3000\t{d / 'sub'}", "9000\tbytes total", "4\tfiles total"]
    assert run("du", "-s", "-h", str(d)).stdout.decode() == f"5.86 KiB\t{d}\n"
    assert run("du", "-h", str(d / "a.txt")).stdout.decode() == f"1000 bytes\t{d}/a.txt\n"  # as given
    out = run("du", "-s", "-e", str(d)).stdout.decode()
    assert "3000\t.bin" in out and "3000\t.txt" in out and "Usage by file extension:" in out


# -- hash -------------------------------------------------------------------------------------------------
def digests(data: bytes) -> tuple[str, str]:
    return hashlib.md5(data).hexdigest(), google_crc32c.Checksum(data).digest().hex()


def test_hash_matches_hashlib_and_crc32c(src: Path, web: tuple[str, CloudFiles]) -> None:
    md5, crc = digests(BINARY)
    assert run("hash", str(src / "binary.bin")).stdout.decode() == f"{md5}  file://{src}/binary.bin\n"
    out = run("hash", "-a", "md5", "-a", "crc32c", str(src / "binary.bin")).stdout.decode()
    assert out == f"md5:{md5} crc32c:{crc}  file://{src}/binary.bin\n"
    b64 = run("hash", "--base64", "-a", "crc32c", str(src / "binary.bin")).stdout.decode().split()[0]
    assert base64.b64decode(b64).hex() == crc

    packed = (src / "packed.gz").read_bytes()  # stored bytes by default, decoded with --content
    assert run("hash", str(src / "packed")).stdout.decode().split()[0] == hashlib.md5(packed).hexdigest()
    content = run("hash", "--content", str(src / "packed")).stdout.decode().split()[0]
    assert content == hashlib.md5(ALL_FILES["packed"]).hexdigest()

    lines = run("hash", "-r", str(src)).stdout.decode().splitlines()
    assert len(lines) == len(ALL_FILES)
    assert f"{hashlib.md5(b'').hexdigest()}  file://{src}/empty" in lines

    url, _ = web
    out = run("hash", "-a", "crc32c", "-a", "md5", f"{url}/binary.bin").stdout.decode()
    assert out == f"crc32c:{crc} md5:{md5}  {url}/binary.bin\n"

    m = mem()
    seed(CloudFiles(m))
    assert invoke("hash", f"{m}/binary.bin").stdout == f"{md5}  {m}/binary.bin\n"
    assert_user_error(run("hash", str(src), check=False), "is a directory")


def test_hash_large_objects_in_ranges(web: tuple[str, CloudFiles], monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudfiles.cli.checksums as checksums

    monkeypatch.setattr(checksums, "HASH_CHUNK", 100)  # BINARY (790 bytes) is read in 8 ranges
    monkeypatch.setattr(checksums, "HASH_BUDGET", 150)
    md5, crc = digests(BINARY)
    url, _ = web
    m = mem()
    seed(CloudFiles(m))
    for path in (f"{url}/binary.bin", f"{m}/binary.bin"):
        assert invoke("hash", "-a", "md5", "-a", "crc32c", path).stdout == f"md5:{md5} crc32c:{crc}  {path}\n"
    lines = invoke("hash", "-r", m).stdout.splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(hashlib.md5(v).hexdigest() for v in FILES.values())


def test_server_reported_hashes_are_used() -> None:
    data = b"object bytes"
    md5 = hashlib.md5(data).digest()
    crc = google_crc32c.Checksum(data).digest()
    s3_head = {"ETag": f'"{md5.hex()}"', "Content-Md5": None, "Content-Crc32c": None}
    assert server_hashes("s3", s3_head) == {"md5": md5}
    assert server_hashes("s3", {"ETag": '"abc-2"'}) == {}  # multipart ETags are not md5s
    gs_head = {"ETag": "CJb1", "Content-Md5": base64.b64encode(md5).decode(), "Content-Crc32c": base64.b64encode(crc).decode()}
    assert server_hashes("gs", gs_head) == {"md5": md5, "crc32c": crc}
    assert server_hashes("http", {"ETag": f'"{md5.hex()}"'}) == {}  # a web server's ETag is opaque
    assert server_hashes("s3", None) == {}


# -- sync -------------------------------------------------------------------------------------------------
def test_sync_copies_only_differences(src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "mirror"
    assert run("sync", str(src), str(dest)).stdout.decode() == f"{len(ALL_FILES)} copied, 0 up to date\n"
    assert contents(CloudFiles(f"file://{dest}")) == ALL_FILES
    before = {p: p.stat().st_mtime_ns for p in dest.rglob("*") if p.is_file()}
    time.sleep(0.01)
    assert run("sync", str(src), str(dest)).stdout.decode() == f"0 copied, {len(ALL_FILES)} up to date\n"
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*") if p.is_file()} == before  # nothing rewritten

    (src / "plain.txt").write_bytes(b"changed")  # size differs
    (src / "binary.bin").write_bytes(bytes(reversed(BINARY)))  # same size: only --checksum sees it
    assert run("sync", str(src), str(dest)).stdout.decode().startswith("1 copied")
    assert run("sync", "--checksum", str(src), str(dest)).stdout.decode().startswith("1 copied")
    assert (dest / "binary.bin").read_bytes() == bytes(reversed(BINARY))

    (dest / "extra").write_bytes(b"x")
    assert "would" not in run("sync", "-n", "--delete", str(src), str(dest)).stdout.decode()
    assert (dest / "extra").exists()
    assert run("sync", "--delete", str(src), str(dest)).stdout.decode().endswith("1 deleted\n")
    assert not (dest / "extra").exists()


def test_sync_mem_and_http_are_idempotent(web: tuple[str, CloudFiles], nginx) -> None:
    url, writer = web
    writer.put("zipped", b"gz " * 100, compress="gzip")  # listed by nginx as 'zipped.gz'
    m = mem()
    assert invoke("sync", url, m).stdout.startswith(f"{len(FILES) + 1} copied")
    assert invoke("sync", "--delete", url, m).stdout == f"0 copied, {len(FILES) + 1} up to date, 0 deleted\n"
    assert CloudFiles(m).get("zipped") == b"gz " * 100  # 'zipped.gz' lists as 'zipped': not an extra
    m2 = mem()
    invoke("sync", m, m2)
    assert invoke("sync", m, m2).stdout == f"0 copied, {len(FILES) + 1} up to date\n"


# -- verify -----------------------------------------------------------------------------------------------
def test_verify(src: Path, tmp_path: Path) -> None:
    run("cp", "-r", str(src), str(tmp_path / "copy"))
    assert b"success" in run("verify", "--md5", str(src), str(tmp_path / "copy")).stdout
    proc = strict("verify", str(src), str(tmp_path / "copy"))
    assert_user_error(proc, "use --md5")  # local files have no checksums
    (tmp_path / "copy" / "binary.bin").write_bytes(bytes(reversed(BINARY)))
    proc = strict("verify", "--md5", "-v", str(src), str(tmp_path / "copy"))
    assert proc.returncode == 1 and b"binary.bin" in proc.stdout and b"failed" in proc.stdout
    assert run("verify", "--md5", str(src), str(tmp_path / "copy")).stdout.startswith(b"failed. 1 failed.")
    (tmp_path / "copy" / "more").write_bytes(b"")
    assert strict("verify", "--md5", str(src), str(tmp_path / "copy")).returncode == 1


# -- alias, acl, license ----------------------------------------------------------------------------------
def test_alias_acl_license(src: Path) -> None:
    run("alias", "add", "cftestalias", "s3://http://127.0.0.1:9/")
    assert "cftestalias://" in run("alias", "ls").stdout.decode()
    assert "(official)" in run("alias", "ls").stdout.decode()
    run("alias", "rm", "cftestalias")
    assert "cftestalias" not in run("alias", "ls").stdout.decode()
    assert_user_error(strict("alias", "rm", "matrix"), "official")
    assert run("alias", "rm", "matrix").stdout == b"Cannot remove an official alias.\n"
    mode = run("acl", "get", str(src / "plain.txt")).stdout.decode().strip()
    assert int(mode, 8) == os.stat(src / "plain.txt").st_mode
    assert "BSD" in run("license").stdout.decode()


def test_charts_and_network_watch(src: Path, tmp_path: Path) -> None:
    proc = run("cp", "-r", "--io-rate", "--flight-time", str(src), str(tmp_path / "charted"), cwd=tmp_path)
    assert b"Saved chart" in proc.stderr
    assert len(list(tmp_path.glob("cloudfiles-cp-*.png"))) == 2
    out = invoke("watch", "net", "print", "--duration", "0.2", "--interval", "0.1").stdout
    assert "RX:" in out and "TX:" in out


# -- xfer: resumable, killed mid-way ----------------------------------------------------------------------
def test_xfer_init_execute_round_trip(src: Path, tmp_path: Path) -> None:
    db = tmp_path / "job.db"
    run("xfer", "init", str(src), str(tmp_path / "out"), "--db", str(db), "-c", "br")
    run("xfer", "execute", str(db), "-b", "2")
    assert not db.exists()  # deleted once complete
    out = CloudFiles(f"file://{tmp_path}/out")
    assert contents(out) == ALL_FILES and stored_encoding(out, "plain.txt") == "br"

    (tmp_path / "list.txt").write_text("plain.txt\nempty\n")
    run("xfer", "init", str(src), str(tmp_path / "some"), "--db", str(db), "--txt", str(tmp_path / "list.txt"))
    run("xfer", "execute", str(db))
    assert tree(tmp_path / "some") == {"plain.txt", "empty"}
    proc = run("xfer", "init", str(src / "nowhere"), str(tmp_path / "x"), "--db", str(db), check=False)
    assert_user_error(proc, "not a directory")


def test_xfer_execute_killed_midway_resumes(tmp_path: Path) -> None:
    n = 3000
    big = tmp_path / "big"
    payload = {f"d{i % 7}/f{i:05d}": hashlib.sha256(b"%d" % i).digest() * 8 for i in range(n)}
    CloudFiles(f"file://{big}").puts(list(payload.items()))
    out = tmp_path / "out"
    db = tmp_path / "job.db"
    run("xfer", "init", str(big), str(out), "--db", str(db))

    proc = subprocess.Popen([EXE, "xfer", "execute", str(db), "-b", "5"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    copied = 0
    while time.monotonic() < deadline:
        copied = sum(len(files) for _, _, files in os.walk(out)) if out.exists() else 0
        if copied >= n // 5 or proc.poll() is not None:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    with proc:  # waits, and closes the stderr pipe
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the job finished before it could be killed"
    conn = sqlite3.connect(db)
    finished = conn.execute("SELECT count(*) FROM filelist WHERE finished = 1").fetchone()[0]
    conn.close()
    assert 0 < finished < n

    run("xfer", "execute", str(db), "-b", "200")
    assert not db.exists()
    names = list(CloudFiles(f"file://{out}").list())
    assert len(names) == len(set(names)) == n  # nothing lost, nothing doubled
    assert CloudFiles(f"file://{out}").get(names, return_dict=True) == payload


def test_xfer_shared_by_two_processes(tmp_path: Path) -> None:
    n = 600
    src = tmp_path / "shared"
    CloudFiles(f"file://{src}").puts([(f"f{i:04d}", b"%d" % i) for i in range(n)])
    db = tmp_path / "shared.db"
    run("xfer", "init", str(src), str(tmp_path / "out"), "--db", str(db))
    cmd = [EXE, "xfer", "execute", str(db), "--lease-msec", "10000", "-b", "10"]
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE) for _ in range(2)]
    for proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    assert not db.exists()
    out = CloudFiles(f"file://{tmp_path}/out")
    assert out.get([f"f{i:04d}" for i in range(n)], return_dict=True) == {f"f{i:04d}": b"%d" % i for i in range(n)}
