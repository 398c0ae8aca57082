"""Per-process set-up for workers: one OpenCV thread, a heap that is kept between images, a per-file
deadline and an optional memory cap (PRODUCT_STUDIO_FILE_TIMEOUT_S, PRODUCT_STUDIO_WORKER_MEMORY_MB)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import cv2

from ..errors import StudioError

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_TUNED = False


def tune_worker_process() -> None:
    """Make this process a good image worker; idempotent.

    - ``cv2.setNumThreads(1)``: the engine already runs one process per core, and OpenCV's own
      threads fight those processes (measured: grabCut 32% slower).
    - glibc ``mallopt``: keep freed image buffers in the heap instead of returning them to the OS
      after every image (per-image mmap/munmap churn is costly on these machines).
    """
    global _TUNED
    if _TUNED:
        return
    cv2.setNumThreads(1)
    name = ctypes.util.find_library("c")
    if name:
        try:
            libc = ctypes.CDLL(name)
            libc.mallopt(_M_MMAP_THRESHOLD, 256 * 1024 * 1024)
            libc.mallopt(_M_TRIM_THRESHOLD, 512 * 1024 * 1024)
        except (OSError, AttributeError):  # not glibc: nothing to tune
            pass
    _TUNED = True


# --- limits: a per-file deadline and an optional memory cap for worker processes

DEFAULT_FILE_TIMEOUT_S = 300.0
_POOL_WORKER = False


class FileTimeout(StudioError):
    """One file took longer than the per-file limit (PRODUCT_STUDIO_FILE_TIMEOUT_S)."""


def file_timeout_s() -> float | None:
    """The per-file limit in seconds: ``PRODUCT_STUDIO_FILE_TIMEOUT_S`` (default 300; 0 = none)."""
    try:
        value = float(os.environ.get("PRODUCT_STUDIO_FILE_TIMEOUT_S", DEFAULT_FILE_TIMEOUT_S))
    except ValueError:
        value = DEFAULT_FILE_TIMEOUT_S
    return value if value > 0 else None


def limit_worker_process() -> None:
    """For pool worker processes (``local._worker_init``): cap the address space at
    ``PRODUCT_STUDIO_WORKER_MEMORY_MB`` when set (an allocation past it fails with MemoryError, which
    the engine records for that file), and arm the hard CPU-time backstop of ``file_deadline``."""
    global _POOL_WORKER
    _POOL_WORKER = True
    megabytes = os.environ.get("PRODUCT_STUDIO_WORKER_MEMORY_MB")
    if megabytes:
        try:
            limit = int(megabytes) * 1024 * 1024
        except ValueError:
            return
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


@contextmanager
def file_deadline(seconds: float | None = None) -> Iterator[None]:
    """Raise FileTimeout in the code inside after ``seconds`` (default ``file_timeout_s()``).

    Soft limit: SIGALRM, delivered between Python bytecodes (main thread only; elsewhere a no-op).
    Hard limit, in pool workers only: RLIMIT_CPU is set to the CPU time used so far + seconds + 10 s,
    so a decoder stuck inside one C call is killed by the kernel (SIGXCPU); the engine records
    "worker process failed" for that file and starts a new pool."""
    seconds = file_timeout_s() if seconds is None else seconds
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum, _frame):  # noqa: ANN001
        raise FileTimeout(f"took longer than the per-file limit of {seconds:g} s (PRODUCT_STUDIO_FILE_TIMEOUT_S); "
                          "the file is skipped -- check it, or raise the limit")

    previous = signal.signal(signal.SIGALRM, expire)
    old_cpu = None
    if _POOL_WORKER:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        old_cpu = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(usage.ru_utime + usage.ru_stime + seconds + 10)
        if old_cpu[1] == resource.RLIM_INFINITY or soft < old_cpu[1]:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, old_cpu[1]))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_cpu is not None:
            resource.setrlimit(resource.RLIMIT_CPU, old_cpu)
