"""Feedback: people accept or reject results; the report; the feedback-tuned defaults."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from ...marketplaces import list_presets
from ...store import acceptance_report
from ...store import repository as repo
from ..deps import get_studio, require_api_key
from ..work import Studio

router = APIRouter(prefix="/v1/feedback", tags=["feedback"], dependencies=[Depends(require_api_key)])


class FeedbackIn(BaseModel):
    result_id: str
    verdict: Literal["accept", "reject"]
    comment: str | None = Field(None, max_length=4000)


@router.post("", summary="Accept or reject a result (a second verdict on the same result replaces the first)")
def post_feedback(body: FeedbackIn, studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    try:
        row = repo.record_feedback(studio.db, result_id=body.result_id, verdict=body.verdict, comment=body.comment)
    except LookupError:
        raise HTTPException(404, f"no result {body.result_id}") from None
    studio.forget_defaults()
    return {"id": row.id, "result_id": row.result_id, "verdict": row.verdict, "comment": row.comment, "preset": row.preset,
            "ops": row.ops, "models": row.models, "variant": row.variant}


@router.get("/report", summary="Acceptance rate per op, preset, model version and variant; the tuned defaults")
def report(studio: Studio = Depends(get_studio)) -> dict[str, Any]:
    out = acceptance_report(studio.db)
    out["defaults"] = [t for name in list_presets() for t in studio.default_recipe(name)[1]]
    out["min_votes"] = studio.settings.feedback_min_votes
    return out
