"""The command line as cloud-files 6.4.3's: what a script sees.

Every expected output here was observed by running cloud-files 6.4.3's own ``cloudfiles`` command on
the same tree side by side with ours (stdout, exit status, files left on disk); the reference is not
needed to run these tests. Where 6.4.3 crashed or was plainly wrong, the test says so and checks our
documented behaviour instead (see the ``cloudfiles.cli`` docstring).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from test_cli import invoke, mem, run, strict

from cloudfiles import CloudFiles

TREE = {
    "d/a.txt": b"hello\n",
    "d/b.txt": b"world\n",
    "d/test/x": b"x\n",
    "d/test/sub/y": b"y\n",
    "d/test1/z": b"z\n",
    "d/test.txt": b"t\n",
    "d/testfile": b"tf\n",
    "d/empty": b"",
    "d/noeol": b"no newline",
    "d/uni.txt": "h\u00e9llo \u2603\n".encode(),
    "d/bin.bin": bytes(range(256)),
    "out/existing.txt": b"e\n",
}
PACKED = b"packed content\n" * 3
# what `ls --shortpath R/d/` lists, in cloud-files' (sorted) order
D_FILES = [
    "a.txt", "b.txt", "bin.bin", "empty", "noeol", "packed", "test.txt", "test/sub/y", "test/x", "test1/z",
    "testfile", "uni.txt",
]
D_FLAT = [
    "a.txt", "b.txt", "bin.bin", "empty", "emptydir/", "noeol", "packed", "test.txt", "test/", "test1/",
    "testfile", "uni.txt",
]


@pytest.fixture
def r(tmp_path: Path) -> Path:
    """The tree: d/ (files, a gzip-stored 'packed', an empty directory, test/ beside test1/ and
    test.txt) and out/ (one file)."""
    for key, data in TREE.items():
        path = tmp_path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (tmp_path / "d/packed.gz").write_bytes(gzip.compress(PACKED, mtime=0))
    (tmp_path / "d/emptydir").mkdir()
    return tmp_path


def out(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> str:
    """stdout of a command that must exit 0 (cloud-files exited 0 for everything here)."""
    return run(*args, stdin=stdin, cwd=cwd).stdout.decode()


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def dirs(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir()}


# -- ls ---------------------------------------------------------------------------------------------------
def test_ls_is_a_sorted_prefix_listing(r: Path) -> None:
    d = r / "d"
    assert out("ls", str(d)) == "".join(f"file://{d}/{k}\n" for k in D_FILES)
    assert out("ls", str(d) + "/") == out("ls", str(d))  # local paths lose the '/'
    assert out("ls", "d", cwd=r) == out("ls", str(d))
    assert out("ls", "--shortpath", str(d)) == "".join(f"d/{k}\n" for k in D_FILES)  # relative to r
    # the last component is a prefix
    prefixed = "test.txt\ntest/sub/y\ntest/x\ntest1/z\ntestfile\n"
    assert out("ls", "--shortpath", str(d / "test")) == prefixed
    assert out("ls", "--shortpath", str(d / "te")) == prefixed
    assert out("ls", str(d / "a")) == f"file://{d}/a.txt\n"
    assert out("ls", str(d / "nope")) == "" and out("ls", str(r / "nope")) == ""  # exit 0, nothing
    # ... so a sibling sharing the prefix is listed too, unless the path is given as file://.../d/
    (r / "d2").mkdir()
    (r / "d2/q").write_bytes(b"q")
    assert out("ls", "--shortpath", str(d)).splitlines() == [f"d/{k}" for k in D_FILES] + ["d2/q"]
    assert out("ls", "--shortpath", f"file://{d}/") == "".join(f"{k}\n" for k in D_FILES)


def test_ls_flat_and_globs(r: Path) -> None:
    d = r / "d"
    assert out("ls", "--flat", str(d)) == "".join(f"file://{d}/{k}\n" for k in D_FLAT)  # inside d
    assert out("ls", "--flat", "--shortpath", "d", cwd=r) == "".join(f"d/{k}\n" for k in D_FLAT)
    assert out("ls", "--flat", "--shortpath", f"file://{d}/") == "".join(f"{k}\n" for k in D_FLAT)
    assert out("ls", "--flat", "--shortpath", str(d / "test") + "/") == "test/sub/\ntest/x\n"
    assert out("ls", "--flat", "--shortpath", str(d / "te")) == "test.txt\ntest/\ntest1/\ntestfile\n"
    assert out("ls", str(d / "*")) == out("ls", "--flat", str(d))
    assert out("ls", "--shortpath", str(d / "te*")) == "test.txt\ntest/\ntest1/\ntestfile\n"
    assert out("ls", "--shortpath", str(d / "te**")) == "test.txt\ntest/sub/y\ntest/x\ntest1/z\ntestfile\n"
    assert out("ls", str(d / "*.txt")) == "".join(f"file://{d}/{k}\n" for k in ("a.txt", "b.txt", "test.txt", "uni.txt"))
    assert out("ls", "--shortpath", str(d / "t*t")) == "test.txt\n"  # 'test/' does not end in 't'
    # -e: [abc] expands into several prefixes, listed one after the other
    assert out("ls", "-e", "--shortpath", str(d / "[ab]")) == "a.txt\nb.txt\nbin.bin\n"
    assert out("ls", "-e", "--flat", "--shortpath", str(d / "[te]")) == (
        "test.txt\ntest/\ntest1/\ntestfile\nempty\nemptydir/\n"
    )
    # Deliberately different: cloud-files printed nothing for 'dir/**' and 'dir/**.txt', and
    # listed inside test/ for 'test*' (file:// only)
    assert out("ls", "--shortpath", str(d / "**")) == "".join(f"{k}\n" for k in D_FILES)
    assert out("ls", "--shortpath", str(d / "**.txt")) == "a.txt\nb.txt\ntest.txt\nuni.txt\n"
    assert out("ls", "--shortpath", str(d / "test*")) == "test.txt\ntest/\ntest1/\ntestfile\n"


# -- cat --------------------------------------------------------------------------------------------------
def test_cat_output_and_missing_files(r: Path) -> None:
    d = r / "d"
    assert out("cat", str(d / "b.txt"), str(d / "test/x"), str(d / "a.txt")) == "world\nx\nhello\n"
    assert out("cat", str(d / "noeol"), str(d / "a.txt"), str(d / "empty")) == "no newlinehello\n"
    assert out("cat", str(d / "uni.txt")) == "h\u00e9llo \u2603\n"
    assert out("cat", str(d / "packed")) == PACKED.decode()  # decoded
    assert out("cat", "-", stdin=f"{d}/a.txt\n{d}/b.txt\n".encode()) == "hello\nworld\n"
    # A missing file: cloud-files' line on stdout (the path within its 'bucket', the first directory
    # of a local path), exit 0, and nothing else of the ten files read with it
    rel = str(d / "nope").split("/", 2)[2]
    assert out("cat", str(d / "nope")) == f"cloudfiles: {rel} does not exist\n"
    assert out("cat", str(d / "a.txt"), str(d / "nope"), str(d / "b.txt")) == f"cloudfiles: {rel} does not exist\n"
    ten = [str(d / k) for k in ("a.txt", "b.txt", "test.txt", "testfile", "noeol", "empty", "uni.txt", "packed", "test/x", "test/sub/y")]
    first_ten = "hello\nworld\nt\ntf\nno newlineh\u00e9llo \u2603\n" + PACKED.decode() + "x\ny\n"
    assert out("cat", *ten, str(d / "nope")) == first_ten + f"cloudfiles: {rel} does not exist\n"
    assert out("cat", "-", stdin=f"{d}/a.txt\n{d}/nope\n".encode()) == f"cloudfiles: {rel} does not exist\n"
    # --strict: stderr, exit 1, and every file that exists is printed
    proc = strict("cat", str(d / "a.txt"), str(d / "nope"), str(d / "b.txt"))
    assert (proc.returncode, proc.stdout) == (1, b"hello\nworld\n") and b"nope: No such file" in proc.stderr
    # Deliberately different (cloud-files failed with a traceback): bytes, repeats, directories
    assert run("cat", str(d / "bin.bin"), str(d / "a.txt"), str(d / "a.txt")).stdout == TREE["d/bin.bin"] + b"hello\nhello\n"
    proc = run("cat", str(d / "test"), check=False)
    assert proc.returncode == 1 and proc.stdout == b"" and b"is a directory" in proc.stderr


def test_cat_ranges(r: Path) -> None:
    a = str(r / "d/a.txt")
    assert out("cat", "-r", "1-3", a) == "el"
    assert out("cat", "-r", "2-", a) == "llo\n"
    assert out("cat", "-r", "-3", a) == "hel"
    assert out("cat", "-r", "3-100", a) == "lo\n"
    assert out("cat", "-r", "0-0", a) == ""
    assert out("cat", "-r", "1-3", str(r / "d/nope")) == f"cloudfiles: file://{r}/d/nope does not exist\n"
    assert out("cat", "-r", "1-3", a, a) == "cloudfiles: cat: range argument can only be used with a single source.\n"
    assert out("cat", "-r", "2-9", str(r / "d/packed")) == PACKED[2:9].decode()  # of the content (it failed)


# -- head -------------------------------------------------------------------------------------------------
def test_head_prints_python_dicts(r: Path) -> None:
    d = r / "d"
    one = out("head", str(d / "a.txt"))
    assert one.startswith("{'Cache-Control': None, 'Content-Length': 6, 'Content-Type': None, 'ETag': None, ")
    assert one.count("\n") == 1 and "'Content-Encoding': None" in one
    assert "'Content-Encoding': 'gzip'" in out("head", str(d / "packed"))
    assert out("head", str(d / "nope")) == f"cloudfiles: head: File not found: {d}/nope\n"
    several = out("head", "d/a.txt", "d/nope", cwd=r)  # pprint, keyed as given, None when missing
    assert several.startswith("{ 'd/a.txt': { 'Cache-Control': None,\n")
    assert several.endswith("  'd/nope': None}\n")
    assert "'Content-Length': 6," in several
    globbed = out("head", str(d / "*.txt"))
    assert globbed.startswith("{ 'a.txt': { 'Cache-Control': None,\n") and "  'uni.txt': {" in globbed
    assert json.loads(out("head", "--json", str(d / "a.txt")))["Content-Length"] == 6


# -- du ---------------------------------------------------------------------------------------------------
def test_du_formats(r: Path) -> None:
    d = r / "d"
    sizes = {"a.txt": 6, "b.txt": 6, "bin.bin": 256, "empty": 0, "noeol": 10, "packed": 38, "test.txt": 2,
             "test/sub/y": 2, "test/x": 2, "test1/z": 2, "testfile": 3, "uni.txt": 11}
    per_file = "".join(f"{sizes[k]}\t{k}\n" for k in D_FILES)  # named within the directory
    assert out("du", str(d)) == per_file
    assert out("du", "d", cwd=r) == per_file
    assert out("du", str(d / "a.txt")) == f"6\t{d}/a.txt\n"  # a file is named as given
    assert out("du", "-s", str(d)) == f"338\t{d}\n"
    assert out("du", "-s", str(d) + "/") == f"338\t{d}/\n"
    assert out("du", "-s", "-h", str(d)) == f"338 bytes\t{d}\n"
    assert out("du", "-s", "-c", str(d), str(r / "out")) == f"338\t{d}\n2\t{r}/out\n340\tbytes total\n"
    assert out("du", "-c", str(d), str(r / "out")) == per_file + "2\texisting.txt\n340\tbytes total\n"
    assert out("du", "-N", str(d)) == per_file + "12\tfiles total\n"
    assert out("du", "-s", "-N", str(d)) == f"338\t{d}\n12\tfiles total\n"
    assert out("du", "-e", str(d)) == per_file + "\nUsage by file extension:\n256\t.bin\n57\t(no extension)\n25\t.txt\n"
    assert out("du", "-s", "-e", str(d)) == f"338\t{d}\n\nUsage by file extension:\n256\t.bin\n57\t(no extension)\n25\t.txt\n"
    assert out("du", "-s", str(d / "emptydir")) == f"0\t{d}/emptydir\n"
    # a missing argument: one line, nothing else (not even for the arguments before it), exit 0
    assert out("du", "-c", str(d / "a.txt"), str(d / "nope"), str(d / "b.txt")) == f"cloudfiles: du: {d}/nope does not exist\n"
    proc = strict("du", "-c", str(d / "a.txt"), str(d / "nope"))
    assert (proc.returncode, proc.stdout) == (1, f"6\t{d}/a.txt\n6\tbytes total\n".encode())


def test_du_human_units(tmp_path: Path) -> None:
    (tmp_path / "k").write_bytes(b"x" * 1000)
    (tmp_path / "m").write_bytes(b"\0" * 1048575)
    (tmp_path / "n").write_bytes(b"\0" * 1048576)
    assert out("du", "-h", str(tmp_path)) == "1000 bytes\tk\n1024.00 KiB\tm\n1.00 MiB\tn\n"
    assert out("du", "-s", "-h", "-c", "-N", str(tmp_path) + "/") == (
        f"2.00 MiB\t{tmp_path}/\n2.00 MiB\tbytes total\n3\tfiles total\n"
    )


# -- rm ---------------------------------------------------------------------------------------------------
def test_rm_scope_and_messages(r: Path) -> None:
    d = r / "d"
    before = files(r)
    assert out("rm", str(d / "nope")) == ""  # missing: silently nothing, exit 0
    assert out("rm", str(d / "a.txt"), str(d / "test")) == f"cloudfiles: {d}/test: is a directory.\n"
    assert out("rm", str(d / "a.txt") + "/") == f"cloudfiles: {d}/a.txt/: is a directory.\n"
    assert out("rm", "-r", str(d / "te")) == ""  # not a directory: the file 'te' (there is none)
    assert files(r) == before  # nothing was removed by any of these
    # rm -r DIR removes DIR/... only: never test1/, test.txt, testfile (cf#60/#63)
    assert out("rm", "-r", str(d / "test")) == ""
    on_disk = [k + ".gz" if k == "packed" else k for k in D_FILES]
    assert sorted(files(d)) == sorted(k for k in on_disk if not k.startswith("test/"))
    assert dirs(d) >= {"test", "test/sub", "emptydir"}  # emptied directories stay, as in cloud-files
    out("rm", str(d / "*.txt"))
    assert not any(k.endswith(".txt") for k in files(d))
    out("rm", "-", stdin=f"{d}/b.txt\n{d}/noeol\n".encode())
    assert "b.txt" not in files(d) and "noeol" not in files(d)
    out("rm", "-r", str(d))
    assert files(d) == {} and dirs(d) >= {"test1", "emptydir"}
    assert files(r / "out") == {"existing.txt": b"e\n"}


def test_rm_dash_is_stdin_only_alone(r: Path) -> None:
    d = r / "d"
    out("rm", "-", str(d / "a.txt"), stdin=f"{d}/b.txt\n".encode(), cwd=r)  # '-' here is a file named '-'
    assert "a.txt" not in files(d) and "b.txt" in files(d)


def test_rm_strict(r: Path) -> None:
    d = r / "d"
    proc = strict("rm", str(d / "a.txt"), str(d / "test"), str(d / "nope"))
    assert proc.returncode == 1 and b"is a directory" in proc.stderr and b"No such file" in proc.stderr
    assert "a.txt" not in files(d) and "test/x" in files(d)  # the others are still removed


def test_no_arguments_do_nothing(r: Path) -> None:
    for command in ("rm", "cat", "head", "touch", "mkdir", "du"):
        assert out(command) == ""
    assert out("du", "-c", "-N") == "0\tbytes total\n0\tfiles total\n"
    assert out("cp", str(r / "d/a.txt")) == ""  # a destination and no source


# -- touch, mkdir -----------------------------------------------------------------------------------------
def test_touch_and_mkdir(r: Path) -> None:
    d = r / "d"
    out("touch", str(d / "new"), str(r / "newdir/sub/f"), str(d / "a.txt"), str(d / "test"))
    assert files(r)["d/new"] == b"" and files(r)["newdir/sub/f"] == b"" and files(r)["d/a.txt"] == b"hello\n"
    out("mkdir", str(r / "m/n/o"), "rel/x", cwd=r)
    assert (r / "m/n/o").is_dir() and (r / "rel/x").is_dir()
    assert out("mkdir", str(d), str(d / "a.txt")) == ""  # existing things are left alone


# -- cp ---------------------------------------------------------------------------------------------------
def test_cp_naming(r: Path) -> None:
    d, o = r / "d", r / "out"
    out("cp", str(d / "a.txt"), str(o / "new.txt"))
    out("cp", str(d / "a.txt"), str(o))
    out("cp", str(d / "b.txt"), str(r / "newdir") + "/")
    out("cp", str(d / "a.txt"), str(r / "nn/mm/f.txt"))
    out("cp", "-r", str(d / "test"), str(o))  # existing directory: a copy inside it
    out("cp", "-r", str(d / "test"), str(r / "fresh"))  # new name: the copy itself
    out("cp", "-r", str(d / "test1"), str(r / "slash") + "/")
    out("cp", "-r", str(d / "emptydir"), str(o))  # even an empty directory
    assert files(r / "out") == {
        "existing.txt": b"e\n", "new.txt": b"hello\n", "a.txt": b"hello\n", "test/x": b"x\n", "test/sub/y": b"y\n",
    }
    assert (o / "emptydir").is_dir()
    assert files(r / "fresh") == {"x": b"x\n", "sub/y": b"y\n"}
    assert files(r / "newdir") == {"b.txt": b"world\n"}
    assert files(r / "slash") == {"test1/z": b"z\n"}
    assert files(r / "nn") == {"mm/f.txt": b"hello\n"}
    out("cp", "d/a.txt", "out/rel.txt", cwd=r)
    assert files(o)["rel.txt"] == b"hello\n"


def test_cp_globs_and_stdin(r: Path) -> None:
    d = r / "d"
    out("cp", str(d / "*.txt"), str(r / "txt"))
    assert sorted(files(r / "txt")) == ["a.txt", "b.txt", "test.txt", "uni.txt"]
    out("cp", str(d / "te**"), str(r / "deep"))
    assert sorted(files(r / "deep")) == ["test.txt", "test/sub/y", "test/x", "test1/z", "testfile"]
    out("cp", str(d / "zz*"), str(r / "none"))
    assert (r / "none").is_dir() and files(r / "none") == {}
    out("cp", "-", str(r / "out"), stdin=f"{d}/a.txt\n{d}/test/x\n".encode())
    assert sorted(files(r / "out")) == ["a.txt", "existing.txt", "test/x"]
    out("cp", "-c", "none", str(d / "packed"), str(r / "plain"))
    out("cp", str(d / "packed"), str(r / "kept"))
    assert files(r)["plain"] == PACKED and files(r)["kept.gz"] == gzip.compress(PACKED, mtime=0)


def test_cp_messages(r: Path) -> None:
    d, o = r / "d", r / "out"
    before = files(r)
    assert out("cp", str(d / "nope"), str(o)) == f"cloudfiles: source path not found: {d}/nope\n"
    assert out("cp", str(d / "test"), str(o)) == f"cloudfiles: {d}/test is a directory (not copied).\n"
    assert out("cp", str(d / "test") + "/", str(o)) == f"cloudfiles: {d}/test/ is a directory (not copied).\n"
    several = "cloudfiles: destination must be a directory for multiple source files.\n"
    assert out("cp", str(d / "a.txt"), str(d / "b.txt"), str(r / "newdir")) == several
    assert out("cp", str(d / "a.txt"), str(d / "b.txt"), str(o / "existing.txt")) == several
    not_dir = f"cloudfiles: file://{o}/existing.txt is not a directory (not copied).\n"
    assert out("cp", "-r", str(d / "test"), str(o / "existing.txt")) == not_dir
    assert out("cp", str(d / "*.txt"), str(o / "existing.txt")) == not_dir
    # several sources, one of them missing: the others are copied
    assert out("cp", str(d / "a.txt"), str(d / "nope"), str(o)) == f"cloudfiles: source path not found: {d}/nope\n"
    assert files(r) == {**before, "out/a.txt": b"hello\n"}
    proc = strict("cp", str(d / "nope"), str(o))
    assert proc.returncode == 1 and proc.stdout == b"" and b"No such file" in proc.stderr


def test_cp_to_stdout(r: Path) -> None:
    d = r / "d"
    assert out("cp", str(d / "a.txt"), "-") == "hello\n"
    assert out("cp", str(d / "a.txt"), str(d / "b.txt"), "-") == "hello\nworld\n"
    assert out("cp", str(d / "packed"), "-") == PACKED.decode()
    assert out("cp", str(d / "nope"), "-") == f"cloudfiles: source path not found: {d}/nope\n"
    assert out("cp", str(d / "test"), "-") == f"cloudfiles: {d}/test is a directory (not copied).\n"
    # Deliberately different: binary bytes (it failed to decode them), and -r / globs / stdin lists go
    # to stdout (cloud-files created a directory named '-')
    assert run("cp", str(d / "bin.bin"), "-").stdout == TREE["d/bin.bin"]
    assert out("cp", "-r", str(d / "test"), "-", cwd=r) == "y\nx\n"
    assert out("cp", str(d / "*.txt"), "-", cwd=r) == "hello\nworld\nt\nh\u00e9llo \u2603\n"
    assert not (r / "-").exists()


def test_rm_r_then_cp_r_keeps_cloud_files_naming(r: Path) -> None:
    """rm -r leaves the emptied directory, so a following cp -r copies *into* it, as with 6.4.3."""
    d = r / "d"
    out("rm", "-r", str(d / "test"))
    out("cp", "-r", str(d / "test1"), str(d / "test"))
    assert files(d / "test") == {"test1/z": b"z\n"}


# -- mv ---------------------------------------------------------------------------------------------------
def test_mv_files_and_directories(r: Path) -> None:
    d, o = r / "d", r / "out"
    out("mv", str(d / "a.txt"), str(o / "new.txt"))
    out("mv", str(d / "b.txt"), str(o))
    out("mv", str(d / "test"), str(o))  # into an existing directory
    out("mv", str(d / "test1"), str(r / "renamed"))  # a new name: renamed
    out("mv", str(d / "emptydir"), str(r / "gone") + "/")  # shutil.move: the '/' changes nothing
    out("mv", str(d / "packed"), str(r / "p2"))
    assert files(o) == {"existing.txt": b"e\n", "new.txt": b"hello\n", "b.txt": b"world\n", "test/x": b"x\n",
                        "test/sub/y": b"y\n"}
    assert files(r / "renamed") == {"z": b"z\n"}
    assert (r / "gone").is_dir() and not (d / "emptydir").exists()
    assert files(r)["p2.gz"] == gzip.compress(PACKED, mtime=0)
    assert not {"test", "test1"} & dirs(d)
    out("mv", "d/noeol", "out/", cwd=r)
    assert files(o)["noeol"] == b"no newline"


def test_mv_messages(r: Path) -> None:
    d, o = r / "d", r / "out"
    before = files(r)
    assert out("mv", str(d / "nope"), str(o)) == f"cloudfiles: source path not found: {d}/nope\n"
    several = "cloudfiles: destination must be a directory for multiple source files.\n"
    assert out("mv", str(d / "a.txt"), str(d / "b.txt"), str(r / "newdir")) == several
    assert files(r) == before
    out("mv", str(d / "a.txt"), str(d / "b.txt"), str(o))
    assert {"a.txt", "b.txt"} <= set(files(o)) and not {"a.txt", "b.txt"} & set(files(d))
    out("mv", "-", str(o), stdin=f"{d}/test.txt\n{d}/test/x\n".encode())
    assert {"test.txt", "test/x"} <= set(files(o))


def test_mv_local_directory_to_mem_leaves_it_emptied(r: Path) -> None:
    m = f"{mem()}/t"
    invoke("mv", str(r / "d/test"), m)
    assert sorted(CloudFiles(m).list()) == ["sub/y", "x"]
    assert (r / "d/test/sub").is_dir() and files(r / "d/test") == {}  # as cloud-files left it


def test_mv_deliberate_differences(r: Path) -> None:
    d, o = r / "d", r / "out"
    out("mv", str(d / "a.txt"), str(r / "newdir") + "/")  # into newdir/ (cloud-files made a file 'newdir')
    assert files(r / "newdir") == {"a.txt": b"hello\n"}
    out("mv", str(d / "te*"), str(o))  # directories move whole (it made out/test/test/...)
    assert {"test/x", "test/sub/y", "test1/z", "test.txt", "testfile"} <= set(files(o))
    assert not {"test", "test1"} & dirs(d)
    (r / "again/test1").mkdir(parents=True)
    (r / "again/test1/old").write_bytes(b"o")
    out("mv", str(o / "test1"), str(r / "again"))  # merges into again/test1 (it failed)
    assert files(r / "again") == {"test1/old": b"o", "test1/z": b"z\n"} and not (o / "test1").exists()


# -- verify, alias, acl -----------------------------------------------------------------------------------
def test_verify_messages(r: Path) -> None:
    d = r / "d"
    out("cp", "-r", str(d), str(r / "e"))
    assert out("verify", "--md5", str(d), str(r / "e")) == "success. 12 files matching. 0 ignored.\n"
    assert out("verify", str(d), str(r / "e")) == (
        "cloudfiles: verify source and target must be object storage without --md5 option. "
        "The filesystem does not store hash information.\n"
    )
    assert out("verify", "--md5", str(d / "a.txt"), str(r / "out")) == (
        "cloudfiles: verify source and target must both be files or directories.\n"
    )
    assert out("verify", "--md5", str(d), str(r / "out")) == "failed. 12 source files, 1 target files.\n"  # exit 0
    assert strict("verify", "--md5", str(d), str(r / "out")).returncode == 1


def test_alias_and_acl_output(r: Path) -> None:
    lines = out("alias", "ls").splitlines()
    assert lines[0] == "nokura://       -> s3://https://c10s.pni.princeton.edu/ (official)"
    assert out("alias", "add", "gs", "s3://https://example.com/") == "gs cannot be aliased.\n"
    assert out("alias", "add", "matrix", "s3://https://example.com/") == "matrix already exists.\n"
    assert out("alias", "rm", "matrix") == "Cannot remove an official alias.\n"
    assert out("alias", "rm", "cfnosuchalias") == ""
    mode = os.stat(r / "d/a.txt").st_mode
    assert out("acl", "get", str(r / "d/a.txt")) == f"{oct(mode)}\n"
    top, _, rest = str(r).strip("/").partition("/")
    assert out("acl", "get", str(r / "d/a.txt"), str(r / "d/b.txt")) == (
        f"file:///{top}\n{{'{rest}/d/a.txt': {mode}, '{rest}/d/b.txt': {mode}}}\n"
    )

