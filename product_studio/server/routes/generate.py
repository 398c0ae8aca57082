"""Generate route: new product images of a category from the shipped Fashion-MNIST GAN.

POST /v1/generate with a JSON body (category, n, seed, truncation, keep_best, output) answers either
one PNG contact sheet (``output="grid"``) or JSON with each image as base64 PNG (``output="json"``).
Like the other routes the work runs in a CPU slot under the concurrency and time limits; nothing in
the request names a file: the model is the shipped one.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..deps import get_studio, require_api_key
from ..work import Studio

router = APIRouter(prefix="/v1", tags=["generate"], dependencies=[Depends(require_api_key)])

MAX_IMAGES = 64
MAX_CANDIDATES = 1024


def category_pattern(names: tuple[str, ...]) -> str:
    """A regular expression for what ``resolve_category`` takes: an index, or a name (or one part of a name
    like 'T-shirt/top' that no other name has), plural 's'/'es' allowed, in any case, with any punctuation."""
    keys = [re.sub(r"[^0-9a-z]+", "", n.lower()) for n in names]
    parts = [re.sub(r"[^0-9a-z]+", "", p.lower()) for n in names for p in re.split(r"[/|,;]", n)]
    words = sorted({k for k in keys + [p for p in parts if parts.count(p) == 1] if k})
    gap = "[^0-9A-Za-z]*"
    spelled = [gap.join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in w) + f"{gap}(?:[sS]|[eE]{gap}[sS])?" for w in words]
    index = f"0*[0-{len(names) - 1}]" if len(names) <= 10 else "[0-9]+"  # (more names: the range is the route's 400)
    return f"^(?:\\s*{index}\\s*|{gap}(?:{'|'.join(spelled)}){gap})$"


def _category_schema(schema: dict[str, Any]) -> None:
    from ...models.classifier import FASHION_MNIST_CLASSES  # the shipped GAN's classes; torch only when asked

    schema["pattern"] = category_pattern(FASHION_MNIST_CLASSES)


class GenerateIn(BaseModel):
    category: str = Field(..., description="category name (any case and punctuation: 'sneaker', 't-shirt', 'ankle boot') or index",
                          max_length=100, examples=["sneaker"], json_schema_extra=_category_schema)
    n: int = Field(16, ge=1, le=MAX_CANDIDATES, description=f"images to make (candidates with keep_best); at most {MAX_IMAGES} returned")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="same seed, same images")
    truncation: float | None = Field(None, gt=0.0, le=10.0, description="truncation trick: redraw latent values beyond ±truncation")
    keep_best: int | None = Field(None, ge=1, le=MAX_IMAGES, description="keep the K of the n candidates the discriminator and classifier rate best")
    output: Literal["grid", "json"] = Field("grid", description="grid: one PNG contact sheet; json: base64 PNGs")


class GeneratedImage(BaseModel):
    index: int
    png_base64: str = Field(description="the image as PNG, base64")


class GenerateOut(BaseModel):
    category: str = Field(description="the category as the model names it")
    index: int
    seed: int
    width: int
    height: int
    images: list[GeneratedImage]
    model: dict[str, Any] = Field(description="model name, weights file, categories")
    seconds: float


@router.post(
    "/generate",
    response_model=GenerateOut,
    summary="New product images of a category from the shipped GAN: a PNG contact sheet or base64 PNGs",
    responses={200: {"content": {"image/png": {}}, "description": "output=grid: a PNG contact sheet; output=json: GenerateOut"}},
)
async def generate(body: GenerateIn, studio: Studio = Depends(get_studio)) -> Any:
    def work() -> Any:
        from ...errors import UsageError
        from ...generate.sample import generate_images, generation_info, load_generator, make_grid, resolve_category
        from ...imageio import encode_image

        start = time.perf_counter()
        returned = body.keep_best or body.n
        if returned > MAX_IMAGES:
            raise UsageError(f"at most {MAX_IMAGES} images per request; lower n or set keep_best")
        gan = load_generator()
        label = resolve_category(body.category, gan.config.class_names)
        images = generate_images(gan, label, n=body.n, seed=body.seed, truncation=body.truncation, keep_best=body.keep_best)
        if body.output == "grid":
            data, _ = encode_image(make_grid(images, columns=min(8, len(images))), format="png")
            return Response(content=data, media_type="image/png",
                            headers={"X-Category": gan.config.class_names[label], "X-Images": str(len(images))})
        encoded = [base64.b64encode(encode_image(image, format="png")[0]).decode("ascii") for image in images]
        info = generation_info(gan)
        info.pop("metrics", None)
        return {
            "category": gan.config.class_names[label], "index": label, "seed": body.seed,
            "width": gan.config.image_size, "height": gan.config.image_size,
            "images": [{"index": i, "png_base64": e} for i, e in enumerate(encoded)],
            "model": {**info, "weights": "fmnist_cgan.safetensors"}, "seconds": round(time.perf_counter() - start, 4),
        }

    return await studio.limiter.run(work)
