"""Load on the HTTP service: /v1/check and /v1/process with 1 MP JPEGs at 1, 8 and 32 concurrent clients.

The server is started for real (`product-studio serve`, uvicorn, 1 worker) on a free loopback port
with a throwaway data folder; clients are httpx.AsyncClient tasks, each sending its next request
as soon as the previous answer arrives. For each endpoint and level: p50/p99 latency, throughput,
5xx count (must be 0), 429 count (kept apart: the server said "busy"), and the server's RSS after
each level. Baseline in the same run: the same check done in-process (decode + check_image), i.e.
what the HTTP layer adds.

Goals (issue 7): /v1/check p99 < 100 ms at 8 clients; zero 5xx; memory flat.

/v1/process runs the full amazon-main recipe (u2netp cut-out, ~0.5-1 s of CPU per image on 2 cores),
so it gets fewer requests by default (--process-requests); the output says so.

    python benchmarks/serve_load.py [--check-requests 2400] [--process-requests 240]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEVELS = (1, 8, 32)
SHARES = (0.2, 0.4, 0.4)  # of the requests, per level


def photo_1mp(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:1000, 0:1000]
    image = np.stack([222 + x * 12 // 1000, 222 + y * 12 // 1000, np.full((1000, 1000), 226)], axis=-1).astype(np.int16)
    image[260:760, 330:670] = (185, 35, 40)
    image[490:520, 330:670] = (110, 15, 20)
    image += rng.integers(-3, 4, size=image.shape, dtype=np.int16)
    buf = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's memory from /proc/PID/status in MB: VmRSS (now) or VmHWM (its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def running_server(prefix: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """`product-studio serve` (uvicorn, 1 worker, default settings) on a free loopback port with a throwaway
    data folder, once /v1/health answers: (the process, its base URL); stopped on exit."""
    port = free_port()
    env = {**os.environ, "PRODUCT_STUDIO_DATA_DIR": tempfile.mkdtemp(prefix=prefix)}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "product-studio"), "serve", "--port", str(port), "--workers", "1", "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-2000:] if server.stderr else ''}")
            time.sleep(0.2)
        yield server, url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_level(url: str, path: str, data: dict, image: bytes, clients: int, requests: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = requests
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                try:
                    r = await client.post(path, files={"file": ("photo.jpg", image, "image/jpeg")}, data=data)
                    status = r.status_code
                except httpx.HTTPError:
                    status = 599  # the connection failed: counted with the 5xx
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - start
    ok = sorted(lat for lat in latencies)
    return {
        "clients": clients,
        "requests": len(latencies),
        "p50": float(np.percentile(ok, 50)) * 1000,
        "p99": float(np.percentile(ok, 99)) * 1000,
        "rps": len(latencies) / wall,
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "429": statuses.get(429, 0),
        "other": {s: n for s, n in statuses.items() if s not in (200, 429) and s < 500},
    }


def split(total: int) -> list[int]:
    counts = [max(clients, int(total * share)) for clients, share in zip(LEVELS, SHARES)]
    counts[-1] += max(0, total - sum(counts))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check-requests", type=int, default=2400, help="over the three levels (>= 2000)")
    parser.add_argument("--process-requests", type=int, default=240, help="over the three levels")
    parser.add_argument("--preset", default="amazon-main")
    args = parser.parse_args()

    from product_studio.imageio import load_image
    from product_studio.marketplaces import check_image, load_preset

    image = photo_1mp()
    preset = load_preset(args.preset)
    base = []
    for _ in range(50):
        t = time.perf_counter()
        item = load_image(image)
        check_image(item, preset, file_bytes=len(image), file_format="jpeg", file_mode="RGB")
        base.append(time.perf_counter() - t)
    baseline_ms = float(np.median(base)) * 1000

    with running_server("serve-load-") as (server, url):
        rss_start = rss_mb(server.pid)
        rows = []
        rss_after = []
        for path, total, data in (("/v1/check", args.check_requests, {"preset": args.preset}),
                                  ("/v1/process", args.process_requests, {"preset": args.preset})):
            asyncio.run(run_level(url, path, data, image, 1, 3))  # warm-up (model load, first allocations)
            for clients, count in zip(LEVELS, split(total)):
                row = asyncio.run(run_level(url, path, data, image, clients, count))
                row["endpoint"] = path
                row["rss"] = rss_mb(server.pid)
                rss_after.append(row["rss"])
                rows.append(row)
        rss_end = rss_mb(server.pid)

    print(f"## serve load: 1 MP JPEG ({len(image):,} bytes), preset {args.preset}, uvicorn 1 worker, {os.cpu_count()} cores\n")
    print(f"baseline in-process decode + check_image: {baseline_ms:.1f} ms (p50 of 50)\n")
    print("| endpoint | clients | requests | p50 ms | p99 ms | req/s | 5xx | 429 | server RSS after, MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['endpoint']} | {r['clients']} | {r['requests']} | {r['p50']:.1f} | {r['p99']:.1f} | {r['rps']:.1f} | "
              f"{r['5xx']} | {r['429']} | {r['rss']:.0f} |" + (f" other: {r['other']}" if r["other"] else ""))
    print(f"\nserver RSS: {rss_start:.0f} MB at start, {rss_end:.0f} MB at the end "
          f"(after each level: {', '.join(f'{v:.0f}' for v in rss_after)})")
    check8 = next(r for r in rows if r["endpoint"] == "/v1/check" and r["clients"] == 8)
    total_5xx = sum(r["5xx"] for r in rows)
    n_check = sum(r["requests"] for r in rows if r["endpoint"] == "/v1/check")
    n_process = sum(r["requests"] for r in rows if r["endpoint"] == "/v1/process")
    print(f"goal /v1/check p99 < 100 ms at 8 clients: {'met' if check8['p99'] < 100 else 'NOT met'} ({check8['p99']:.1f} ms)")
    print(f"goal zero 5xx: {'met' if total_5xx == 0 else 'NOT met'} ({total_5xx})")
    print(f"requests: /v1/check {n_check}, /v1/process {n_process}"
          + (" (fewer than 2,000 for /v1/process: each runs the full recipe, ~0.5-1 s of CPU; "
             "--process-requests 2000 runs the full count in about 15-30 min)" if n_process < 2000 else ""))
    sys.exit(0 if total_5xx == 0 else 1)


if __name__ == "__main__":
    main()
