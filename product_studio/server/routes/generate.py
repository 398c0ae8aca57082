"""Routes for generate (filled in by its issue)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ..deps import require_api_key

router = APIRouter(prefix="/v1", tags=["generate"], dependencies=[Depends(require_api_key)])
