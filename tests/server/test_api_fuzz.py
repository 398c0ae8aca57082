"""An independent schema-based fuzzer (schemathesis) against the real server on loopback, with a valid key,
bounded in time: no 5xx, every status code, Allow header, content type and body as the OpenAPI document says.
Real images for the uploaded parts come from schemathesis' documented extension point, a strategy per media
type (tests/server/schemathesis_hooks.py): the document names the image media types of each file part.
Phases: examples, coverage and fuzzing, 15 examples per operation (the stateful phase needs results that
exist; tests/server/test_results.py covers those).

Two checks stay off, and why (measured 2026-12-08 with every check on: 6 ST202 and 1 ST201 left of 27):
positive_data_acceptance, because some rules a JSON schema cannot hold -- an upscale target reachable
within x16 of the image's own size, a repair mask that leaves something to fill from, the learned
detector's threshold under 1 where the classical one's is grey levels, a colour name, and schemathesis
sending an array's file parts without a filename; negative_data_rejection, because in a multipart form
every value is text (a number "becomes" a valid string)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEY, LiveServer  # tests/server/conftest.py

from product_studio.server import Settings

pytestmark = pytest.mark.slow  # up to five minutes on 2 busy cores: `make test` and CI run it


def test_schema_fuzzer_finds_no_contract_failure(tmp_path):
    st = Path(sys.executable).with_name("st")
    assert st.exists(), "schemathesis is a dev dependency (pyproject.toml [dev]); run `make setup`"
    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY, cpu_slots=1, request_timeout_s=150, max_queued_jobs=8)
    report = tmp_path / "report"
    with LiveServer(settings) as live:
        done = subprocess.run(
            [str(st), "run", f"{live.url}/openapi.json", "--header", f"X-API-Key: {KEY}", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance,negative_data_rejection",
             "--max-response-time", "160",  # (the server's own deadline is request_timeout_s: 150 s)
             "--phases", "examples,coverage,fuzzing", "--max-examples", "15", "--max-time", "280", "--seed", "1",
             "--workers", "2", "--request-timeout", "180", "--report", "json", "--report-dir", str(report)],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its .schemathesis/ cache stays out of the tree
            env={**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(Path(__file__).parent)},
        )
    summary = json.loads(next(report.glob("*.json")).read_text())
    failures = {f["code"]: f["count"] for f in summary.get("failures", [])}
    assert done.returncode == 0 and not failures, (failures, done.stdout[-4000:])
    assert summary["operations"]["tested"] >= 25 and summary["operations"]["errored"] == 0, summary["operations"]
    assert summary["test_cases"]["generated"] >= 100 and summary["test_cases"]["errored"] == 0, summary["test_cases"]
