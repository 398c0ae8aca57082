"""Never silent (issue 30.7): `index` and `eval gan` show a progress bar on a terminal, as the batch
commands do; none with --quiet/--json or when stderr is not a terminal."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from product_studio.cli import common
from product_studio.cli.common import StageProgress

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stage_progress_restarts_the_bar_per_stage(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(common.sys, "stderr", screen)
    with StageProgress(unit="img") as progress:
        progress("measure", 0, 3)
        progress("measure", 3, 3)
        progress("embed", 0, 2)
        progress("embed", 2, 2)
    shown = screen.getvalue()
    assert "measure" in shown and "3/3" in shown and "embed" in shown and "2/2" in shown
    for quiet, stream in ((True, Terminal()), (False, io.StringIO())):  # --quiet; not a terminal
        monkeypatch.setattr(common.sys, "stderr", stream)
        with StageProgress(quiet=quiet) as progress:
            progress("measure", 1, 3)
        assert stream.getvalue() == ""


def run_on_a_terminal(args: list[str], timeout: float = 300) -> tuple[int, str]:
    """The command with its stderr on a pseudo-terminal (as a user sees it): exit code and what stderr showed."""
    script = Path(sys.executable).parent / "product-studio"
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal 120 columns wide
    proc = subprocess.Popen([str(script), *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    shown = b""
    while True:
        ready, _, _ = select.select([primary], [], [], timeout)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    return proc.wait(timeout=60), shown.decode(errors="replace")


@pytest.mark.slow  # the CLI several times in subprocesses
def test_index_shows_a_bar_for_measuring_then_embedding(tmp_path):
    for name in ("coffee_cup.jpg", "teddy_bear.png"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    code, shown = run_on_a_terminal(["index", str(tmp_path), "-o", str(tmp_path / "idx"), "--fields", "colors,size"])
    assert code == 0, shown
    assert "measure" in shown and "2/2" in shown and "embed" in shown, shown
    code, quiet = run_on_a_terminal(["index", str(tmp_path), "-o", str(tmp_path / "idx2"), "--fields", "colors,size", "-q"])
    assert code == 0 and "measure" not in quiet and "2 item(s)" in quiet


@pytest.mark.slow  # samples a GAN and measures FID through the CLI
def test_eval_gan_shows_its_stages():
    code, shown = run_on_a_terminal(["eval", "gan", "--samples", "200", "--test-images", "200", "--no-cas"])
    assert code == 0, shown
    for stage in ("generate 200 samples", "measure the samples", "measure the real test images", "keep-best consistency"):
        assert stage in shown, shown
