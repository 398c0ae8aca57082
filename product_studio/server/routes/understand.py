"""Understanding routes: classify, read, describe (multipart uploads) and search (an index folder).

Like the image routes, the work runs in the CPU slots under the concurrency limit (429) and the
time limit (504). Nothing here takes a path from a client: the classifier is the shipped one, a
brand list comes as text, and search reads the one index folder the server is configured with.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile
from pydantic import BaseModel, Field

from ...errors import UsageError
from ...store import new_id
from ...store import repository as repo
from ..deps import get_studio, known_preset, read_upload, require_api_key
from ..work import Studio, result_dict
from .images import ResultOut

router = APIRouter(prefix="/v1", tags=["understand"], dependencies=[Depends(require_api_key)])

ATTRIBUTE_FIELDS_HELP = "attributes to measure, comma-separated: category,colors,size,text,quality,background; default all"


def _split(value: str | None) -> list[str]:
    """A comma-separated form field as a list (the Chinese comma counts too), like the CLI's options."""
    return [part.strip() for part in (value or "").replace("，", ",").split(",") if part.strip()]


# --- classify


class Category(BaseModel):
    label: str
    probability: float


class ClassifyOut(BaseModel):
    input_name: str
    model: dict[str, Any] = Field(description="the classifier: model name, weights file, class names")
    label: str = Field(description='the answer: a category, or "unknown" when the product is none of the categories')
    in_taxonomy: bool = Field(description="false: the product is none of the model's categories (label is unknown)")
    score: float = Field(description="in-category score (largest softmax probability, flip TTA); unknown below threshold")
    threshold: float | None = Field(description="the model's unknown threshold (null: none stored, 0.5 on the top probability)")
    note: str | None = Field(None, description="why the answer is unknown, in words")
    top_k: list[Category] = Field(description="best first (the nearest categories, also when the label is unknown)")
    explain: ResultOut | None = Field(
        None, description="with explain=true: a stored result whose output is the Grad-CAM heat map PNG (photo | 28x28 input)"
    )
    seconds: float


@router.post("/classify", response_model=ClassifyOut, summary="The product category of an uploaded photo, top-k with probabilities")
async def classify(
    file: UploadFile = File(..., description="the photo"),
    top_k: int = Form(3, ge=1, le=50, description="how many categories to list"),
    explain: bool = Form(False, description="also store a Grad-CAM heat map of the pixels that drove the decision"),
    cut_out: bool = Form(True, description="cut the product out first (u2netp); false: use the whole frame"),
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    data, name = await read_upload(file)

    def work() -> dict[str, Any]:
        from ...understand.classify import classifier_info, classify_product, explain_item, load_default_classifier

        start = time.perf_counter()
        model = load_default_classifier()
        item = studio.decode(data, name)
        if cut_out and item.alpha is None:  # cut out once: the heat map reuses the same mask
            from ...vision.segmentation import segment_product

            item = item.replace(alpha=segment_product(item.pixels))
        found = classify_product(item, top_k=top_k, model=model, cut_out=cut_out)
        out: dict[str, Any] = {"input_name": name, "model": classifier_info(model), **found.to_dict(), "explain": None}
        if explain:
            explain_start = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="studio-explain-") as tmp:  # 0700, removed at once
                explained = explain_item(item, Path(tmp) / "heat.png", model=model, cut_out=cut_out)
                heat = Path(explained["path"]).read_bytes()
            out["explain"] = result_dict(_store_explain(studio, data, heat, name, item, explained, out["model"],
                                                        seconds=time.perf_counter() - explain_start))
        out["seconds"] = round(time.perf_counter() - start, 4)
        return out

    return await studio.limiter.run(work)


def _store_explain(studio: Studio, data: bytes, heat: bytes, name: str, item, explained: dict[str, Any],
                   model: dict[str, Any], *, seconds: float):
    """The upload and its heat map as a result (``/v1/results/{id}/input|output``), through the blob store."""
    from ...imageio import image_size

    rid = new_id()
    source_format = item.metadata["source_format"]
    input_path = studio.keep_input(rid, source_format, data)  # None unless keep_inputs
    output_path = studio.blobs.put(rid, "output.png", heat)
    width, height = image_size(heat, name="heat map")
    label = model.get("weights") or model.get("model")
    step = {"op": "grad_cam", "params": {"cut_out": item.alpha is not None, "class": explained["label"]},
            "seconds": round(seconds, 4), "model": label}
    return repo.add_result(
        studio.db,
        id=rid, kind="classify-explain", status="done", input_name=name, recipe={"name": "classify-explain"},
        ops=["grad_cam"], models=[label] if label else [], steps=[step],
        input_path=str(input_path) if input_path is not None else None, input_format=source_format,
        input_width=item.width, input_height=item.height,
        output_path=str(output_path), output_format="png", output_width=width, output_height=height, output_bytes=len(heat),
        seconds=round(seconds, 4),
    )


# --- read


class TextLineOut(BaseModel):
    text: str
    box: list[list[float]] = Field(description="four corners (x, y) in the upload's pixels")
    confidence: float


class ReadOut(BaseModel):
    input_name: str
    width: int
    height: int
    lines: list[TextLineOut] = Field(description="top to bottom")
    entities: dict[str, Any] = Field(description="prices, brands and model numbers found in the lines, best first")
    seconds: float


@router.post("/read", response_model=ReadOut, summary="Read the text on an uploaded photo (OCR, zh + en); prices, brands, models")
async def read(
    file: UploadFile = File(..., description="the photo"),
    min_confidence: float = Form(0.5, ge=0.0, le=1.0, description="drop text lines read with a lower confidence"),
    brands: str | None = Form(None, description="your own brands, added to the bundled list: one a line, aliases separated by '|'",
                              max_length=200_000),
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    data, name = await read_upload(file)

    def work() -> dict[str, Any]:
        from ...understand.entities import BrandIndex, extract_entities, load_brands
        from ...vision.ocr import read_text

        start = time.perf_counter()
        index = load_brands()
        if brands and brands.strip():  # checked before any OCR: a bad list is a 400
            index = index.merged(BrandIndex.from_text(brands, source="brands"))
        item = studio.decode(data, name)
        lines = read_text(item.pixels, min_confidence=min_confidence)
        return {
            "input_name": name,
            "width": item.width,
            "height": item.height,
            "lines": [line.to_dict() for line in lines],
            "entities": extract_entities(lines, brands=index).to_dict(),
            "seconds": round(time.perf_counter() - start, 4),
        }

    return await studio.limiter.run(work)


# --- describe


class DescribeOut(BaseModel):
    input_name: str
    preset: str
    attributes: dict[str, Any] = Field(description="what was measured: category, colours, size, text, quality, background")
    listings: dict[str, dict[str, Any]] = Field(description="per language (zh, en): title, bullets, description, lengths, warnings")
    seconds: float


@router.post("/describe", response_model=DescribeOut,
             summary="Measure an uploaded photo and draft listings (title, bullets, description) in Chinese and/or English")
async def describe(
    file: UploadFile = File(..., description="the photo"),
    preset: str = Form("taobao-main", description="marketplace preset: its title limit applies"),
    lang: str = Form("zh,en", description="languages: zh, en or zh,en"),
    brand: str | None = Form(None, max_length=200, description="brand (put first where the marketplace wants it)"),
    model: str | None = Form(None, max_length=200, description="model number (else the one read on the photo)"),
    category: str | None = Form(None, max_length=200, description="product type, e.g. sneakers or 运动鞋 (else the classifier's)"),
    material: str | None = Form(None, max_length=200, description="material, e.g. cotton or 纯棉"),
    gender: str | None = Form(None, max_length=50, description="women, men, unisex, kids, girls or boys"),
    season: str | None = Form(None, max_length=50, description="spring, summer, autumn, winter ..."),
    sizes: str | None = Form(None, max_length=2000, description="comma-separated sizes, e.g. S,M,L"),
    keywords: str | None = Form(None, max_length=2000, description="comma-separated keywords, most important first"),
    colors: str | None = Form(None, max_length=2000, description="comma-separated colours (else the measured ones)"),
    fields: str | None = Form(None, description=ATTRIBUTE_FIELDS_HELP),
    segment: Literal["auto", "u2netp", "grabcut", "none"] = Form(
        "auto", description="product mask: auto (alpha, else u2netp, else grabcut), u2netp, grabcut, none"),
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    # No LLM polishing here: the CLI's --llm-url would let a client make the server call any URL.
    from ...marketplaces import load_preset
    from ...understand.describe import describe as describe_listing
    from ...understand.listing_rules import ListingFields

    data, name = await read_upload(file)
    preset_name = known_preset(preset)
    rule = load_preset(preset_name).title_rule()
    langs = tuple(_split(lang))
    seller = ListingFields(brand=brand, model=model, category=category, material=material, gender=gender, season=season,
                           sizes=_split(sizes), keywords=_split(keywords), colors=_split(colors))
    describe_listing(None, seller, title_rule=rule, preset=preset_name, langs=langs)  # bad languages are a 400 before any work

    def work() -> dict[str, Any]:
        from ...understand.attributes import extract_attributes

        start = time.perf_counter()
        item = studio.decode(data, name)
        attrs = extract_attributes(item, fields=_split(fields) or None, segment=segment)
        listings = describe_listing(attrs, seller, title_rule=rule, preset=preset_name, langs=langs)
        return {
            "input_name": name,
            "preset": preset_name,
            "attributes": attrs.to_dict(),
            "listings": {lang_: listing.to_dict() for lang_, listing in listings.items()},
            "seconds": round(time.perf_counter() - start, 4),
        }

    return await studio.limiter.run(work)


# --- search


class SearchHit(BaseModel):
    rank: int
    score: float = Field(description="cosine similarity of the query and the item's text")
    path: str = Field(description="the item's file as it was indexed")
    title_zh: str | None = None
    title_en: str | None = None
    category: str | None = None
    colors: list[str] = Field(default_factory=list)


class SearchOut(BaseModel):
    query: str
    items: int = Field(description="items in the index")
    results: list[SearchHit]


@router.get("/search", response_model=SearchOut, summary="Search the server's product index with words in Chinese or English",
            responses={404: {"description": "the server has no search index configured"}})
async def search(
    q: str = Query(..., min_length=1, max_length=500,
                   description='words, e.g. "红色 运动鞋" or "red sneaker" (either finds both)'),
    k: int = Query(10, ge=1, le=100, description="how many results"),
    studio: Studio = Depends(get_studio),
) -> dict[str, Any]:
    folder = studio.settings.search_index
    if folder is None:
        raise HTTPException(404, "no index configured; run product-studio index PHOTOS -o FOLDER and set "
                                 "PRODUCT_STUDIO_SEARCH_INDEX=FOLDER")
    if not q.strip():
        raise UsageError("q is blank; give some words to search for")

    def work() -> dict[str, Any]:
        from ...understand.search import load_index
        from ...understand.search import search as run_search

        try:
            index = load_index(Path(folder).expanduser())
        except UsageError as exc:  # the server's own index is missing or damaged: not the client's fault
            raise HTTPException(503, f"the server's search index is unusable: {exc}") from None
        return {"query": q, "items": len(index), "results": run_search(index, q, top_k=k)}

    return await studio.limiter.run(work)
