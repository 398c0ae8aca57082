"""Per-process set-up for workers: one OpenCV thread, a heap that is kept between images, a per-file
deadline and an optional memory cap (PRODUCT_STUDIO_FILE_TIMEOUT_S, PRODUCT_STUDIO_WORKER_MEMORY_MB)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import cv2

from ..errors import FileTimeout
from ..limits import file_timeout_s, worker_memory_mb

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_TUNED = False


def tune_worker_process() -> None:
    """Make this process a good image worker; idempotent.

    - ``cv2.setNumThreads(1)``: the engine already runs one process per core, and OpenCV's own
      threads fight those processes (measured: grabCut 32% slower).
    - glibc ``mallopt``: keep freed image buffers in the heap instead of returning them to the OS
      after every image (per-image mmap/munmap churn is costly on these machines).
    - one torch (OpenMP) thread, for the models that still run on torch (the learned upscaler in
      ``fit_to_canvas``): torch defaults to every core, so N workers would run N x cores threads.
      ``OMP_NUM_THREADS`` covers a torch imported later; a torch already imported is set directly.
      onnxruntime sessions open with one thread already (``runtime.inference_threads``).
    """
    global _TUNED
    if _TUNED:
        return
    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(max(1, int(os.environ["OMP_NUM_THREADS"]) if os.environ["OMP_NUM_THREADS"].isdigit() else 1))
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

_POOL_WORKER = False


def limit_worker_process() -> None:
    """For pool worker processes (``local._worker_init``): cap the address space at
    ``PRODUCT_STUDIO_WORKER_MEMORY_MB`` when set (an allocation past it fails with MemoryError, which
    the engine records for that file), and arm the hard CPU-time backstop of ``file_deadline``."""
    global _POOL_WORKER
    _POOL_WORKER = True
    megabytes = worker_memory_mb()
    if megabytes:
        limit = megabytes * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


IMPORT_GRACE_S = 0.05


def _importing(frame: FrameType | None) -> bool:
    """Whether ``frame`` (where a signal landed) is inside an import: importlib's frames are on its stack."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


@dataclass
class Deadline:
    """What ``file_deadline`` yields: ``expired`` turns True when the limit fires, and ``message`` says it.

    The FileTimeout raised into the code can reach the caller wrapped in another error (a C extension
    that calls back into Python re-raises what it catches as its own RuntimeError, say), so a caller
    that catches errors itself asks ``expired`` rather than trusting the type it caught."""

    seconds: float
    expired: bool = False

    @property
    def message(self) -> str:
        return (f"took longer than the per-file limit of {self.seconds:g} s (PRODUCT_STUDIO_FILE_TIMEOUT_S); "
                "the file is skipped -- check it, or raise the limit")


@contextmanager
def file_deadline(seconds: float | None = None) -> Iterator[Deadline]:
    """Raise FileTimeout in the code inside after ``seconds`` (default ``file_timeout_s()``).

    Soft limit: SIGALRM, delivered between Python bytecodes (main thread only; elsewhere a no-op).
    It never lands inside an import: the limit then waits for the import to finish (``_importing``).
    Hard limit, in pool workers only: RLIMIT_CPU is set to the CPU time used so far + seconds + 10 s,
    so a decoder stuck inside one C call is killed by the kernel (SIGXCPU); the engine records
    "worker process failed" for that file and starts a new pool."""
    seconds = file_timeout_s() if seconds is None else seconds
    deadline = Deadline(seconds or 0.0)
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield deadline
        return

    def expire(_signum, frame):  # noqa: ANN001
        if _importing(frame):
            # An exception thrown into a module's import (torch's, say, loaded lazily by the first
            # file's step) leaves that module half-initialised, and the process crashes later.
            # Let the import finish and look again shortly.
            signal.setitimer(signal.ITIMER_REAL, IMPORT_GRACE_S)
            return
        deadline.expired = True
        raise FileTimeout(deadline.message)

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
        yield deadline
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_cpu is not None:
            resource.setrlimit(resource.RLIMIT_CPU, old_cpu)
