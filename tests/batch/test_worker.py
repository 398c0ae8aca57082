"""Worker limits read from the environment: strict parsing, no silent fallback."""

from __future__ import annotations

import pytest

from product_studio.limits import (
    DEFAULT_FILE_TIMEOUT_S,
    FILE_TIMEOUT_ENV,
    WORKER_MEMORY_ENV,
    file_timeout_s,
    worker_memory_mb,
)
from product_studio.errors import UsageError


def test_file_timeout_reads_seconds_zero_means_none_and_rejects_the_rest(monkeypatch):
    monkeypatch.delenv(FILE_TIMEOUT_ENV, raising=False)
    assert file_timeout_s() == DEFAULT_FILE_TIMEOUT_S == 300.0
    monkeypatch.setenv(FILE_TIMEOUT_ENV, " 12.5 ")
    assert file_timeout_s() == 12.5
    monkeypatch.setenv(FILE_TIMEOUT_ENV, "0")
    assert file_timeout_s() is None
    for bad in ("five", "-1", "inf", "nan"):
        monkeypatch.setenv(FILE_TIMEOUT_ENV, bad)
        with pytest.raises(UsageError, match=f"{FILE_TIMEOUT_ENV} must be a number of seconds >= 0"):
            file_timeout_s()


def test_worker_memory_reads_megabytes_and_rejects_units_and_tiny_caps(monkeypatch):
    monkeypatch.delenv(WORKER_MEMORY_ENV, raising=False)
    assert worker_memory_mb() is None
    monkeypatch.setenv(WORKER_MEMORY_ENV, "2048")
    assert worker_memory_mb() == 2048
    monkeypatch.setenv(WORKER_MEMORY_ENV, "2G")
    with pytest.raises(UsageError, match="whole number of megabytes"):
        worker_memory_mb()
    monkeypatch.setenv(WORKER_MEMORY_ENV, "16")
    with pytest.raises(UsageError, match="at least 64"):
        worker_memory_mb()


def test_the_file_deadline_never_interrupts_an_import(tmp_path, monkeypatch):
    """A timeout thrown into a half-done import (torch's, loaded by a file's first step) used to leave
    the module half-initialised and crash the process later; the deadline now waits for the import."""
    import sys
    import time

    from product_studio.batch.worker import FileTimeout, file_deadline

    (tmp_path / "slow_module_for_deadline.py").write_text("import time\ntime.sleep(0.4)\nDONE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    started = time.perf_counter()
    with pytest.raises(FileTimeout, match="per-file limit of 0.1 s"):
        with file_deadline(0.1):
            import slow_module_for_deadline  # noqa: F401

            time.sleep(5)  # the limit strikes here, once the import is done
    assert 0.4 <= time.perf_counter() - started < 2
    assert sys.modules["slow_module_for_deadline"].DONE is True


def test_the_deadline_says_it_fired_even_when_the_timeout_comes_back_wrapped():
    """A C extension that calls back into Python re-raises what it catches as its own error; the
    engine asks the deadline instead of trusting the type it caught."""
    import time

    from product_studio.batch.worker import FileTimeout, file_deadline

    with pytest.raises(RuntimeError, match="wrapped"):
        with file_deadline(0.1) as deadline:
            try:
                time.sleep(5)
            except FileTimeout as exc:
                raise RuntimeError("wrapped by an extension") from exc
    assert deadline.expired and "per-file limit of 0.1 s" in deadline.message
    with file_deadline(5) as quiet:
        pass
    assert not quiet.expired


def test_a_tuned_worker_runs_torch_on_one_thread():
    """N workers each running torch on every core would run N x cores threads (the learned upscaler
    in fit_to_canvas runs on torch): a tuned worker uses one, whether torch comes before or after."""
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    for order in ("tune(); import torch", "import torch; tune()"):
        code = f"from product_studio.batch.worker import tune_worker_process as tune\n{order}\nprint(torch.get_num_threads())"
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip() == "1", order
