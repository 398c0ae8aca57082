"""Routes for recolor (filled in by its issue)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ..deps import require_api_key

router = APIRouter(prefix="/v1", tags=["recolor"], dependencies=[Depends(require_api_key)])
