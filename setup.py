"""Build the native codec extensions (src/*.pyx -> cloudfiles._<name>).

Each extension links one C library found with pkg-config (or the usual include paths).
A missing header stops the build with one line naming the Debian package that provides it:
there is deliberately no pure-Python fallback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup

# extension -> list of (pkg-config name, header, link library, Debian package)
NATIVE_LIBS: dict[str, list[tuple[str, str, str, str]]] = {
    "_gzip": [
        ("libdeflate", "libdeflate.h", "deflate", "libdeflate-dev"),
        ("zlib", "zlib.h", "z", "zlib1g-dev"),
    ],
    "_brotli": [
        ("libbrotlienc", "brotli/encode.h", "brotlienc", "libbrotli-dev"),
        ("libbrotlidec", "brotli/decode.h", "brotlidec", "libbrotli-dev"),
    ],
    "_zstd": [("libzstd", "zstd.h", "zstd", "libzstd-dev")],
    # the engine's response sinks: Python's C API only
    "_sink": [],
}

SEARCH_DIRS = ["/usr/include", "/usr/local/include", "/opt/homebrew/include"]


def _pkg_config(name: str, flag: str) -> list[str] | None:
    if shutil.which("pkg-config") is None:
        return None
    try:
        out = subprocess.run(
            ["pkg-config", flag, name], check=True, capture_output=True, text=True
        ).stdout
    except subprocess.CalledProcessError:
        return None
    return out.split()


def _find_header(header: str, include_dirs: list[str]) -> bool:
    return any(os.path.exists(os.path.join(d, header)) for d in include_dirs + SEARCH_DIRS)


def native_extension(name: str) -> Extension:
    include_dirs: list[str] = []
    library_dirs: list[str] = []
    libraries: list[str] = []
    for pc_name, header, lib, debian_pkg in NATIVE_LIBS[name]:
        cflags = _pkg_config(pc_name, "--cflags-only-I") or []
        include_dirs += [f[2:] for f in cflags if f.startswith("-I")]
        libs = _pkg_config(pc_name, "--libs") or []
        library_dirs += [f[2:] for f in libs if f.startswith("-L")]
        if not _find_header(header, include_dirs):
            sys.exit(
                f"error: cannot build cloudfiles.{name}: C header <{header}> not found; "
                f"install the Debian package {debian_pkg} (apt-get install {debian_pkg})"
            )
        libraries.append(lib)
    return Extension(
        f"cloudfiles.{name}",
        [f"src/{name}.pyx"],
        include_dirs=include_dirs,
        library_dirs=library_dirs,
        libraries=libraries,
        extra_compile_args=["-O3"],
    )


def extensions() -> list[Extension]:
    from Cython.Build import cythonize

    return cythonize(
        [native_extension(name) for name in NATIVE_LIBS],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
        },
        include_path=["src"],
    )


setup(ext_modules=extensions())
