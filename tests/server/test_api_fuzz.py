"""An independent schema-based fuzzer (schemathesis) against the real server on loopback, with a valid key,
bounded in time: no 5xx, every status code and every body as the OpenAPI document says, the content types
it names. What it does not check, and why: positive_data_acceptance (a schema cannot say "a decodable image":
random bytes as `file` are rightly 415/422) and allow_header_conformance (Starlette's 405 on a path with a
GET and a DELETE route names one method only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEY, LiveServer  # tests/server/conftest.py

from product_studio.server import Settings

pytestmark = pytest.mark.slow  # about two minutes: `make test` and CI run it

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_schema_fuzzer_finds_no_contract_failure(tmp_path):
    st = Path(sys.executable).with_name("st")
    assert st.exists(), "schemathesis is a dev dependency (pyproject.toml [dev]); run `make setup`"
    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY, cpu_slots=1, request_timeout_s=30, max_queued_jobs=8)
    report = tmp_path / "report"
    with LiveServer(settings) as live:
        done = subprocess.run(
            [str(st), "run", f"{live.url}/openapi.json", "--header", f"X-API-Key: {KEY}", "--checks", CHECKS,
             "--max-examples", "3", "--max-time", "90", "--seed", "1", "--workers", "1", "--request-timeout", "60",
             "--report", "json", "--report-dir", str(report)],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its .schemathesis/ cache stays out of the tree
        )
    summary = json.loads(next(report.glob("*.json")).read_text())
    failures = {f["code"]: f["count"] for f in summary.get("failures", [])}
    assert done.returncode == 0 and not failures, (failures, done.stdout[-4000:])
    assert summary["operations"]["tested"] >= 25 and summary["operations"]["errored"] == 0, summary["operations"]
    assert summary["test_cases"]["generated"] >= 100 and summary["test_cases"]["errored"] == 0, summary["test_cases"]
