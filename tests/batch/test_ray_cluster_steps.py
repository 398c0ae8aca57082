"""The README's Ray cluster steps, run as written on a two-node cluster on one machine (a head
raylet and a worker raylet with their own ports): the head generates a token and starts with token
authentication (Ray 2.60 turns it on by itself whenever ~/.ray/auth_token exists), the worker joins
with a copy of the head's token file, the driver runs `process --engine ray
--address HEAD:PORT` with it, every image is processed, and the cluster is left running."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("ray")

pytestmark = pytest.mark.slow  # starts two raylets and loads the models in Ray actors (about a minute)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def stop_cluster(temp_dir: str) -> None:
    """Stop only this test's Ray processes (each names the temp dir in its command line); `ray stop`
    would stop every Ray on the machine."""
    mine = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if temp_dir.encode() in (entry / "cmdline").read_bytes():
                    mine.append(int(entry.name))
            except OSError:
                pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(2)


@pytest.fixture()
def cluster():
    temp_dir = tempfile.mkdtemp(prefix="psray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    home = Path(temp_dir) / "home"  # the head's ~/.ray/auth_token lands here, not in the user's home
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(home), RAY_USAGE_STATS_ENABLED="0")
    gcs, *node_ports = free_ports(7)
    generated = subprocess.run([BIN / "ray", "get-auth-token", "--generate"], env=env, capture_output=True, text=True, timeout=60)
    assert generated.returncode == 0, generated.stderr[-2000:]
    head = subprocess.run(
        [BIN / "ray", "start", "--head", f"--port={gcs}", "--num-cpus=1", f"--temp-dir={temp_dir}", "--include-dashboard=false"],
        env=dict(env, RAY_AUTH_MODE="token"), capture_output=True, text=True, timeout=120,
    )
    try:
        assert head.returncode == 0, head.stderr[-2000:]
        yield {"address": f"127.0.0.1:{gcs}", "home": home, "env": env, "ports": node_ports, "temp_dir": temp_dir}
    finally:
        stop_cluster(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_readme_cluster_steps_on_two_nodes(cluster, tmp_path):
    token = cluster["home"] / ".ray" / "auth_token"
    assert token.is_file(), "`ray get-auth-token --generate` wrote no token: Ray's authentication changed; update README's cluster steps"
    copied = tmp_path / "auth_token"  # what a worker node holds after copying the head's token file
    shutil.copy(token, copied)
    elsewhere = dict(cluster["env"], HOME=str(tmp_path))  # another node: no token in its home
    nm, om, lo, hi, agent, metrics = cluster["ports"][:6]
    node_ports = [f"--node-manager-port={nm}", f"--object-manager-port={om}", f"--dashboard-agent-listen-port={agent}",
                  f"--metrics-export-port={metrics}", f"--min-worker-port={max(lo, hi) + 1}", f"--max-worker-port={max(lo, hi) + 400}"]

    joined = subprocess.run(
        [BIN / "ray", "start", f"--address={cluster['address']}", "--num-cpus=1", *node_ports],
        env=dict(elsewhere, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(copied)), capture_output=True, text=True, timeout=120,
    )
    assert joined.returncode == 0, joined.stderr[-2000:]

    shots = tmp_path / "in"
    shots.mkdir()
    for i, name in enumerate(["boot_on_deck.jpg", "coffee_cup.jpg", "colorful_cups.jpg", "teddy_bear.png"]):
        with Image.open(ROOT / "samples" / name) as im:
            im.convert("RGB").resize((300, 300)).save(shots / f"p{i}.jpg", quality=92)
    driver_env = dict(elsewhere, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(copied))
    run = subprocess.run(
        [BIN / "product-studio", "process", str(shots), "-o", str(tmp_path / "out"), "--preset", "amazon-main",
         "--engine", "ray", "--address", cluster["address"]],
        env=driver_env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode in (0, 1), run.stderr[-3000:]  # 1: processed, but an output fails a preset rule
    assert "4/4 processed, 0 failed" in run.stdout + run.stderr
    assert len(list((tmp_path / "out").glob("p*.jpg"))) == 4

    status = subprocess.run([BIN / "ray", "status", "--address", cluster["address"]], env=driver_env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr[-2000:]
    active = status.stdout.split("Active:")[1].split("Pending:")[0]
    assert active.count("node_") == 2  # both nodes still up: a cluster we did not start is never shut down
