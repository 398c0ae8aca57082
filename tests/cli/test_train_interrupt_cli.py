"""Ctrl-C in `train classifier` (issue 30.7): one line saying where it stopped and that the same command
resumes, exit 130; the same command then starts at that step."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # two short training runs in subprocesses


def train(data: Path, out: Path) -> subprocess.Popen:
    script = Path(sys.executable).parent / "product-studio"
    return subprocess.Popen([str(script), "train", "classifier", "--data", str(data), "-o", str(out), "--epochs", "300",
                             "--batch-size", "4", "--outlier-weight", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def ctrl_c_once_training(proc: subprocess.Popen, out: Path) -> tuple[int, str]:
    history = out / "history.csv"
    before = history.stat().st_mtime_ns if history.exists() else None  # a resumed run finds the old one
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if history.exists() and history.stat().st_mtime_ns != before:
            break  # history.csv: written at each epoch's end, so this run's steps are running
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_ctrl_c_says_where_it_stopped_and_the_same_command_resumes(tmp_path):
    data = tmp_path / "data"
    for name, colour in (("red", (220, 20, 20)), ("blue", (20, 20, 220))):
        (data / name).mkdir(parents=True)
        for i in range(12):
            Image.new("RGB", (40, 40), tuple(c + i for c in colour)).save(data / name / f"{i}.png")
    out = tmp_path / "run"
    code, err = ctrl_c_once_training(train(data, out), out)
    assert code == 130, err
    last = err.strip().splitlines()[-1]
    stopped = re.fullmatch(r"error: stopped at step (\d+) of 1,500 \(epoch [\d.]+ of 300\); .*run the same command again to resume.*", last)
    assert stopped, last
    assert "Traceback" not in err
    code, err = ctrl_c_once_training(train(data, out), out)
    assert code == 130 and f"{stopped.group(1)}/1500" in err  # the bar starts where the first run stopped
