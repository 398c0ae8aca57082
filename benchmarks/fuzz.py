"""Longer fuzzing than the test suite's bounded run: N iterations per target, then a table.

    .venv/bin/python benchmarks/fuzz.py                 # 2000 iterations per target
    .venv/bin/python benchmarks/fuzz.py -n 20000 --seed 7

Targets (the builders are tests/test_hostile_inputs.py's, so the tests and this script fuzz the same way):
  load_image/mutated   real JPEG/PNG/WebP/TIFF/GIF/BMP seeds with bit flips, truncations, header field
                       changes, insertions, deletions, splices
  load_image/magic     random bytes behind each accepted format's magic
  load_image/bombs     every decompression bomb, unsupported format and polyglot (once each per round)
  recipe/from_dict     random JSON-like structures, half of them shaped like recipes
  recipe/from_yaml     random text and bytes as a YAML file
  upload/route         multipart posts of mutated/random bytes with hostile file names and presets
  recipe/route         random recipes posted to a running server (uvicorn on loopback): /v1/process/json and
                       /v1/process's recipe field; a 5xx or a status its OpenAPI document does not list is a crash

A crash is an exception that is not a StudioError (for the route: a 5xx or a status outside
200/400/413/415/422); a hang is an iteration over 5 s. The process runs under an address-space cap
(--memory-mb over its size after imports), so "memory cap held" means no iteration needed more.
The baseline row (the seeds, unmutated) runs in the same process for comparison.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from test_hostile_inputs import (  # noqa: E402
    FUZZ_MAX_PIXELS,
    HANG_S,
    MUTATIONS,
    SEEDS,
    bombs,
    mutate,
    polyglots,
    unsupported_files,
)

from product_studio.errors import StudioError  # noqa: E402
from product_studio.imageio import load_image  # noqa: E402
from product_studio.recipe import Recipe  # noqa: E402

MAGICS = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"RIFF\x00\x00\x00\x00WEBPVP8X",
          b"II*\x00", b"MM\x00*", b"GIF89a", b"GIF87a", b"BM")
NAMES = ["../../x", "..\\..\\x.jpg", "/etc/passwd", "a\x00.jpg", "x" * 3000, "\u202egpj.exe", "", "..", "\r\nX: 1",
         "商品.jpg", "a/../../b.jpg", "%2e%2e%2fx"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_json(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 4 or roll < 0.45:
        return rng.choice([None, True, False, rng.randint(-(2**70), 2**70), rng.random() * 10 ** rng.randint(-5, 40),
                           float("nan"), "", "x" * rng.randint(0, 50), rng.choice(["jpeg", "png", "svg", "amazon-main"])])
    if roll < 0.7:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["name", "preset", "steps", "output", "op", "size", "fill", "format", "quality", "max_bytes", "mask_path",
            "method", "strength", "color", "x" * rng.randint(1, 8)]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_recipe(rng: random.Random):
    from product_studio.ops import list_ops

    ops = [s.name for s in list_ops()] + ["nope", "../op"]
    if rng.random() < 0.5:
        return random_json(rng)
    steps = [{"op": rng.choice(ops), **{rng.choice(["size", "fill", "method", "strength", "color", "mask_path", "zz"]):
                                         random_json(rng, 3) for _ in range(rng.randint(0, 3))}}
             for _ in range(rng.randint(0, 4))]
    doc = {"steps": steps}
    if rng.random() < 0.5:
        doc["output"] = {"format": rng.choice(["jpeg", "png", "webp", "gif", 3]), "quality": rng.choice([None, 0, 50, 101])}
    if rng.random() < 0.3:
        doc["preset"] = rng.choice(["amazon-main", "nope", None, 7])
    return doc


class Target:
    def __init__(self, name: str, make: Callable[[random.Random, int], object], run: Callable[[object], None]) -> None:
        self.name, self.make, self.run = name, make, run
        self.iterations = self.crashes = self.hangs = 0
        self.slowest = 0.0
        self.examples: list[str] = []

    def step(self, rng: random.Random, i: int) -> None:
        case = self.make(rng, i)
        start = time.perf_counter()
        try:
            self.run(case)
        except StudioError:
            pass
        except Exception as exc:  # noqa: BLE001 - that is what we count
            self.crashes += 1
            if len(self.examples) < 5:
                self.examples.append(f"{type(exc).__name__}: {exc} | case {repr(case)[:200]}\n"
                                     + "".join(traceback.format_exc().splitlines(True)[-4:]))
        took = time.perf_counter() - start
        self.slowest = max(self.slowest, took)
        if took > HANG_S:
            self.hangs += 1
        self.iterations += 1


def build_targets(tmp: Path) -> list[Target]:
    seeds = list(SEEDS.values())
    fixed = [d for d, _ in bombs().values()] + list(unsupported_files().values()) + list(polyglots().values())

    def load(data):
        load_image(data, name="fuzz", max_pixels=FUZZ_MAX_PIXELS)

    def mutated(rng, _i):
        return mutate(rng.choice(seeds), rng.choice(MUTATIONS), rng.randrange(2**20), rng.randrange(256), rng.randrange(2**16))

    def magic(rng, _i):
        return rng.choice(MAGICS) + rng.randbytes(rng.randint(0, 512))

    def from_dict(case):
        try:
            recipe = Recipe.from_dict(case, source="fuzz")
        except StudioError:
            raise
        recipe.hash  # noqa: B018 - must not fail for a recipe that parsed
        Recipe.from_dict(recipe.resolved())

    yaml_path = tmp / "r.yaml"

    def from_yaml(case):
        yaml_path.write_bytes(case)
        Recipe.from_yaml(yaml_path)

    def yaml_text(rng, _i):
        if rng.random() < 0.5:
            return rng.randbytes(rng.randint(0, 300))
        return json.dumps(random_recipe(rng), default=str).encode()

    targets = [
        Target("baseline (seeds, unmutated)", lambda rng, i: seeds[i % len(seeds)], load),
        Target("load_image/mutated", mutated, load),
        Target("load_image/magic+random", magic, load),
        Target("load_image/bombs+formats+polyglots", lambda rng, i: fixed[i % len(fixed)],
               lambda d: load_image(d, name="fixed")),
        Target("recipe/from_dict", lambda rng, i: random_recipe(rng), from_dict),
        Target("recipe/from_yaml", yaml_text, from_yaml),
    ]
    return targets


def upload_target(tmp: Path) -> tuple[Target, object]:
    from fastapi.testclient import TestClient

    from product_studio.server import Settings, create_app

    client = TestClient(create_app(Settings(data_dir=tmp / "server", cpu_slots=1, max_upload_bytes=3_000_000,
                                            max_pixels=20_000_000)))
    client.__enter__()
    seeds = list(SEEDS.values())

    def make(rng, _i):
        if rng.random() < 0.5:
            body = mutate(rng.choice(seeds), rng.choice(MUTATIONS), rng.randrange(2**20), rng.randrange(256), rng.randrange(2**16))
        else:
            body = rng.randbytes(rng.randint(0, 2048))
        name = rng.choice(NAMES) if rng.random() < 0.6 else "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 40)))
        preset = rng.choice(["amazon-main", "amazon-main", "nope", "x" * rng.randint(0, 5000)])
        route = rng.choice(["/v1/check", "/v1/check", "/v1/process"])
        return route, name, body, preset

    def run(case):
        route, name, body, preset = case
        r = client.post(route, files={"file": (name, body, "application/octet-stream")}, data={"preset": preset})
        if r.status_code not in (200, 400, 413, 415, 422):
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")

    return Target("upload/route (multipart)", make, run), client


def recipe_route_target(tmp: Path) -> tuple[Target, object]:
    """Random recipes (random_recipe: half shaped like recipes) posted to a running server (uvicorn on loopback,
    in this process) with a small valid image: as JSON to /v1/process/json and as the recipe form field of
    /v1/process. A crash is a 5xx or a status the OpenAPI document does not list for the route."""
    import base64
    import io

    import httpx
    import numpy as np
    import importlib.util

    from PIL import Image

    spec = importlib.util.spec_from_file_location("server_conftest", REPO / "tests" / "server" / "conftest.py")
    server_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server_conftest)
    LiveServer = server_conftest.LiveServer  # noqa: N806 - uvicorn in a thread, as the server tests run it

    from product_studio.server import Settings

    live = LiveServer(Settings(data_dir=tmp / "live", cpu_slots=1, max_upload_bytes=3_000_000, request_timeout_s=30))
    live.__enter__()
    client = httpx.Client(base_url=live.url, timeout=60)
    document = client.get("/openapi.json").json()["paths"]
    listed = {route: {int(c) for c in document[route]["post"]["responses"]} for route in ("/v1/process", "/v1/process/json")}
    buf = io.BytesIO()
    pixels = np.full((48, 48, 3), 235, np.uint8)
    pixels[12:36, 16:32] = (180, 40, 40)
    Image.fromarray(pixels).save(buf, "PNG")
    image = buf.getvalue()

    statuses: dict[int, int] = {}

    def make(rng, _i):
        return rng.choice(["/v1/process/json", "/v1/process"]), random_recipe(rng)

    def run(case):
        route, recipe = case
        if route == "/v1/process/json":
            r = client.post(route, content=json.dumps({"image_base64": base64.b64encode(image).decode(), "recipe": recipe},
                                                      default=str, allow_nan=True), headers={"Content-Type": "application/json"})
        else:
            r = client.post(route, files={"file": ("fuzz.png", image, "image/png")},
                            data={"recipe": json.dumps(recipe, default=str, allow_nan=True)})
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code >= 500 or r.status_code not in listed[route]:
            raise RuntimeError(f"HTTP {r.status_code} from {route}: {r.text[:200]}")

    def close():
        client.close()
        live.__exit__(None, None, None)

    target = Target("recipe/route (live server)", make, run)
    target.statuses = statuses  # type: ignore[attr-defined]
    return target, close


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--iterations", type=int, default=2000, help="iterations per target (default 2000)")
    parser.add_argument("--upload-iterations", type=int, default=None, help="for the upload route (default: n / 4)")
    parser.add_argument("--route-iterations", type=int, default=None, help="recipes posted to the live server (default: n / 10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-mb", type=int, default=1536, help="address space allowed above the size after imports")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        targets = build_targets(tmp)
        upload, client = upload_target(tmp)
        targets.append(upload)
        posted, stop_server = recipe_route_target(tmp)
        targets.append(posted)
        vsz = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
        cap = vsz + args.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
        start_rss = peak_rss_mb()
        rows = []
        for target in targets:
            count = (args.upload_iterations or max(1, args.iterations // 4)) if target is upload else args.iterations
            if target is posted:
                count = args.route_iterations or max(1, args.iterations // 10)
            t0 = time.perf_counter()
            for i in range(count):
                target.step(rng, i)
            rows.append({"target": target.name, "iterations": target.iterations, "crashes": target.crashes,
                         "hangs": target.hangs, "slowest_ms": round(target.slowest * 1000, 1),
                         "per_iteration_ms": round((time.perf_counter() - t0) * 1000 / max(1, count), 2),
                         "peak_rss_mb": round(peak_rss_mb(), 1), "examples": target.examples})
        client.__exit__(None, None, None)
        stop_server()
    held = all(r["crashes"] == 0 or not any("MemoryError" in e for e in r["examples"]) for r in rows)
    summary = {"address_space_cap_mb": round(cap / 2**20), "rss_after_imports_mb": round(start_rss, 1),
               "memory_cap_held": held, "total_iterations": sum(r["iterations"] for r in rows[1:]),
               "total_crashes": sum(r["crashes"] for r in rows[1:]), "total_hangs": sum(r["hangs"] for r in rows[1:])}
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, indent=2))
    else:
        print(f"{'target':38s} {'iterations':>10s} {'crashes':>8s} {'hangs':>6s} {'slowest ms':>11s} {'ms/iter':>8s} {'peak RSS MB':>12s}")
        for r in rows:
            print(f"{r['target']:38s} {r['iterations']:>10d} {r['crashes']:>8d} {r['hangs']:>6d} {r['slowest_ms']:>11.1f} "
                  f"{r['per_iteration_ms']:>8.2f} {r['peak_rss_mb']:>12.1f}")
        print(f"\naddress-space cap {summary['address_space_cap_mb']} MB (RSS after imports {summary['rss_after_imports_mb']} MB); "
              f"memory cap held: {'yes' if held else 'NO'}; fuzz iterations (without the baseline): {summary['total_iterations']}; "
              f"crashes {summary['total_crashes']}, hangs {summary['total_hangs']}")
        print(f"recipe/route statuses: {dict(sorted(posted.statuses.items()))}; "
              f"5xx: {sum(n for code, n in posted.statuses.items() if code >= 500)}")
        for r in rows:
            for example in r["examples"]:
                print(f"\n[{r['target']}] {example}")
    return 1 if summary["total_crashes"] or summary["total_hangs"] else 0


if __name__ == "__main__":
    sys.exit(main())
