"""The store on SQLite and on a real PostgreSQL server: results, jobs, feedback, the report, the tuning."""

from __future__ import annotations

import pytest

from product_studio.errors import UsageError
from product_studio.marketplaces import preset_recipe
from product_studio.store import (
    acceptance_report,
    decide,
    new_id,
    open_database,
    tune_recipe,
    variant_of,
    wilson_interval,
)
from product_studio.store import repository as repo


@pytest.fixture
def db(database_url):
    database = open_database(database_url)
    yield database
    database.dispose()


def _result(db, *, preset="amazon-main", ops=("remove_background", "white_background"), models=("u2netp@abc",),
            shadow="contact", status="done"):
    return repo.add_result(db, kind="process", status=status, preset=preset, ops=list(ops), models=list(models),
                           variant={"white_background.shadow": shadow}, recipe_hash="h", error=None if status == "done" else "bad")


def _votes(db, n_accept, n_reject, **kwargs):
    for verdict, n in (("accept", n_accept), ("reject", n_reject)):
        for _ in range(n):
            repo.record_feedback(db, result_id=_result(db, **kwargs).id, verdict=verdict)


def test_wilson_interval_known_values():
    low, high = wilson_interval(18, 20)
    assert (round(low, 3), round(high, 3)) == (0.699, 0.972)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)


def test_feedback_is_stored_with_what_produced_the_result(db):
    result = _result(db, ops=("enhance", "remove_background"), models=("u2netp@123",), shadow="drop")
    row = repo.record_feedback(db, result_id=result.id, verdict="reject", comment="halo on the left")
    assert (row.preset, row.ops, row.models, row.variant) == (
        "amazon-main", ["enhance", "remove_background"], ["u2netp@123"], {"white_background.shadow": "drop"})
    # a second verdict on the same result replaces the first
    repo.record_feedback(db, result_id=result.id, verdict="accept")
    report = acceptance_report(db)
    assert report["total"]["votes"] == 1 and report["total"]["accepted"] == 1


def test_feedback_refuses_unknown_results_and_verdicts(db):
    with pytest.raises(LookupError):
        repo.record_feedback(db, result_id=new_id(), verdict="accept")
    result = _result(db)
    with pytest.raises(UsageError, match="verdict must be one of accept, reject"):
        repo.record_feedback(db, result_id=result.id, verdict="maybe")
    failed = _result(db, status="failed")
    with pytest.raises(UsageError, match="no image to rate"):
        repo.record_feedback(db, result_id=failed.id, verdict="accept")


def test_report_counts_per_op_preset_and_model(db):
    _votes(db, 3, 1, preset="amazon-main", ops=("enhance", "remove_background"), models=("u2netp@aaa",))
    _votes(db, 1, 3, preset="jd-main", ops=("remove_background",), models=())
    report = acceptance_report(db)
    by_op = {r["key"]: (r["votes"], r["accepted"]) for r in report["by_op"]}
    assert by_op == {"enhance": (4, 3), "remove_background": (8, 4)}
    by_preset = {r["key"]: r["rate"] for r in report["by_preset"]}
    assert by_preset == {"amazon-main": 0.75, "jd-main": 0.25}
    by_model = {r["key"]: (r["votes"], r["accepted"]) for r in report["by_model"]}
    assert by_model == {"u2netp@aaa": (4, 3), "(no model)": (4, 1)}
    assert report["total"]["votes"] == 8


def test_feedback_switches_the_default_shadow_only_with_enough_evidence(db):
    base = preset_recipe("amazon-main")
    assert variant_of(base) == {"white_background.shadow": "contact"}
    # contact: 10 of 20 accepted; none: 19 of 19 accepted -- one vote short of the 20 needed
    _votes(db, 10, 10, shadow="contact")
    _votes(db, 19, 0, shadow="none")
    (decision,) = decide("amazon-main", base, db, min_votes=20)
    assert decision.chosen == "contact" and tune_recipe(base, [decision]) == base
    _votes(db, 1, 0, shadow="none")  # 20 of 20: Wilson lower bound 0.84 > 0.5
    (decision,) = decide("amazon-main", base, db, min_votes=20)
    assert decision.chosen == "none", decision.reason
    tuned = tune_recipe(base, [decision])
    assert variant_of(tuned) == {"white_background.shadow": "none"}
    assert tuned.hash != base.hash and [s.op for s in tuned.steps] == [s.op for s in base.steps]
    # other presets are not affected by amazon-main's votes
    (other,) = decide("jd-main", preset_recipe("jd-main"), db, min_votes=20)
    assert other.chosen == other.preset_value


def test_feedback_does_not_switch_to_a_variant_that_is_not_clearly_better(db):
    _votes(db, 15, 5, shadow="contact")  # 75%
    _votes(db, 17, 3, shadow="drop")  # 85%, Wilson lower bound 0.64 < 0.75
    (decision,) = decide("amazon-main", preset_recipe("amazon-main"), db, min_votes=20)
    assert decision.chosen == "contact"
    assert {e["value"]: e["votes"] for e in decision.evidence} == {"contact": 20, "drop": 20}


def test_jobs_progress(db):
    job = repo.create_job(db, job_id=new_id(), preset="amazon-main", recipe={"steps": []},
                          inputs=[{"name": "a.jpg", "blob": "x"}, {"name": "b.jpg", "blob": "y"}],
                          worker=repo.new_worker_id(), lease_s=60)
    assert repo.count_active_jobs(db) == 1
    repo.set_job_status(db, job.id, "running")
    repo.add_result(db, kind="process", status="failed", error="bad", job_id=job.id, position=1, input_name="b.jpg")
    repo.add_result(db, kind="process", status="done", job_id=job.id, position=0, input_name="a.jpg")
    repo.count_job_progress(db, job.id, failed=False)
    repo.count_job_progress(db, job.id, failed=True)
    stored, results = repo.get_job(db, job.id)
    assert (stored.status, stored.done, stored.failed, stored.total) == ("running", 2, 1, 2)
    assert [r.input_name for r in results] == ["a.jpg", "b.jpg"]
    assert [j.id for j in repo.list_jobs(db)] == [job.id]


def test_bad_database_url_is_a_usage_error():
    with pytest.raises(UsageError, match="not a database URL"):
        open_database("not a url")
