"""Recipes that try to outgrow the server's limits: answered at once, with the server's memory unchanged.

The server is started for real (`product-studio serve`, uvicorn, 1 worker, default settings) on a
free loopback port. Baseline in the same run: one ordinary /v1/process request with the
amazon-main recipe (what a real image costs). Then each hostile recipe, posted with the same
800x600 upload to /v1/process: a 10000-px canvas with upscale "always" (made a 100 MP PNG and a 6 GB
server before the one execution path), x4 upscale three times (12800x9600), and 5,000 steps. For each:
the status, the time to the answer, and the server's peak RSS (VmHWM) after it.

    python benchmarks/serve_limits.py
"""

from __future__ import annotations

import io
import json
import time

import httpx
import numpy as np
from PIL import Image
from serve_load import rss_mb, running_server  # benchmarks/serve_load.py: the real server on a loopback port

HOSTILE = {
    "canvas 10000, upscale always": {"steps": [{"op": "fit_to_canvas", "size": 10000, "upscale": "always"}]},
    "upscale x4, three times": {"steps": [{"op": "upscale", "scale": 4}] * 3},
    "5,000 steps": {"steps": [{"op": "trim"}] * 5000},
}


def photo() -> bytes:
    image = np.full((600, 800, 3), 228, np.uint8)
    image[150:450, 260:540] = (185, 35, 40)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def main() -> None:
    image, rows = photo(), []
    with running_server("serve-limits-") as (server, url), httpx.Client(base_url=url, timeout=600) as client:
        for label, recipe in [("baseline: amazon-main", None), *HOSTILE.items()]:
            data = {"preset": "amazon-main"} | ({"recipe": json.dumps(recipe)} if recipe else {})
            start = time.perf_counter()
            r = client.post("/v1/process", files={"file": ("photo.jpg", image, "image/jpeg")}, data=data)
            seconds = time.perf_counter() - start
            detail = "" if r.status_code == 200 else r.json().get("detail", "")[:90]
            rows.append((label, r.status_code, seconds, rss_mb(server.pid, "VmHWM"), detail))
    print("## hostile recipes to /v1/process (800x600 JPEG, default server settings)\n")
    print("| recipe | status | seconds | server peak RSS after, MB | detail |")
    print("|---|---:|---:|---:|---|")
    for label, status, seconds, rss, detail in rows:
        print(f"| {label} | {status} | {seconds:.3f} | {rss:.0f} | {detail} |")
    base = rows[0][3]
    print(f"\npeak RSS after the hostile recipes / after the baseline request: {rows[-1][3] / base:.3f}")


if __name__ == "__main__":
    main()
