"""`small_disk(folder, size)`: a tmpfs of ``size`` mounted at ``folder`` for a test (needs root, as in CI;
the test is skipped, saying why, where mounting is not allowed), unmounted afterwards.

Imported by the full-disk and read-only tests (pytest puts tests/ on sys.path: there is no __init__.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount(folder: Path, options: str) -> None:
    """Change a mounted tmpfs (``size=8m``, ``ro``)."""
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)
