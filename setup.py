"""Build the native codec extensions (src/*.pyx -> cloudfiles._<name>).

Each extension links one C library found with pkg-config (or the usual include paths).
A missing header stops the build with one line naming the Debian package that provides it:
there is deliberately no pure-Python fallback.

``CLOUDFILES_DEBUG_BUILD=1 pip install -e .`` builds the extensions for debugging instead: ``-O0 -g``,
Cython bounds checks, and line tracing/profiling hooks (``linetrace``, ``profile``, ``CYTHON_TRACE`` and
``CYTHON_TRACE_NOGIL``) so coverage and profilers see lines inside the .pyx files. The mode of the last
build is remembered in build/, and switching modes regenerates the C files and recompiles everything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG_BUILD = os.environ.get("CLOUDFILES_DEBUG_BUILD", "") not in ("", "0")
BUILD_MODE = "debug" if DEBUG_BUILD else "release"
MODE_STAMP = os.path.join("build", "cloudfiles-build-mode")

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
    # the engine's response sinks and socket loop: Python's C API, and libcurl reached through pycurl
    "_sink": [],
    "_loop": [],
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
        extra_compile_args=["-O0", "-g"] if DEBUG_BUILD else ["-O3"],
        # The trace macros compile Cython's line-tracing calls in (nogil sections included).
        define_macros=[("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")] if DEBUG_BUILD else [],
    )


def _mode_changed() -> bool:
    """True if the last build was of the other mode (or unknown); records this build's mode."""
    try:
        with open(MODE_STAMP) as f:
            previous = f.read().strip()
    except OSError:
        previous = ""
    os.makedirs(os.path.dirname(MODE_STAMP), exist_ok=True)
    with open(MODE_STAMP, "w") as f:
        f.write(BUILD_MODE)
    return previous != BUILD_MODE


MODE_CHANGED = _mode_changed()


class BuildExt(build_ext):
    """build_ext that recompiles every extension when the build mode changed: the .so files of the
    other mode are newer than their sources, so the timestamp check alone would keep them."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if MODE_CHANGED:
            self.force = True


def extensions() -> list[Extension]:
    from Cython.Build import cythonize

    return cythonize(
        [native_extension(name) for name in NATIVE_LIBS],
        compiler_directives={
            "language_level": "3",
            "boundscheck": DEBUG_BUILD,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
            "linetrace": DEBUG_BUILD,
            "profile": DEBUG_BUILD,
        },
        include_path=["src"],
        force=MODE_CHANGED,  # the generated C differs between modes
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
