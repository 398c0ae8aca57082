"""Schemathesis hooks for tests/server/test_api_fuzz.py (loaded with SCHEMATHESIS_HOOKS=schemathesis_hooks).

The OpenAPI document says each uploaded part is an image (multipart ``encoding.contentType``: the image
media types the server decodes). Schemathesis' documented extension point for such a part is a strategy
per media type (``schemathesis.openapi.media_type``); these draw real, decodable images of those formats
-- random pixels, mode RGB/RGBA/L where the format has it, all 64x64 (a repair or recolor mask must have
its image's size, which a schema cannot say) -- so that data the document calls valid is data the server
must accept.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import schemathesis
from hypothesis import strategies as st
from PIL import Image

SIDE = 64

# media type -> (Pillow format, modes it writes)
FORMATS = {
    "image/jpeg": ("JPEG", ("RGB", "L")),
    "image/png": ("PNG", ("RGB", "RGBA", "L")),
    "image/webp": ("WEBP", ("RGB", "RGBA")),
    "image/tiff": ("TIFF", ("RGB", "RGBA", "L")),
    "image/bmp": ("BMP", ("RGB", "L")),
    "image/gif": ("GIF", ("P",)),
}


@st.composite
def image_bytes(draw, pillow_format: str, modes: tuple[str, ...]) -> bytes:
    width = height = SIDE
    mode = draw(st.sampled_from(modes))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    # a flat background with a block in it (what a product photo looks like), plus noise
    pixels[...] = (pixels // 8) + np.array([200, 200, 200, 0], np.uint8)
    pixels[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4, :3] = rng.integers(0, 200, 3, dtype=np.uint8)
    pixels[..., 3] = 255
    image = Image.fromarray(pixels, "RGBA").convert("RGB" if mode == "P" else mode)
    if mode == "P":
        image = image.quantize(64)
    buf = io.BytesIO()
    image.save(buf, pillow_format)
    return buf.getvalue()


for media_type, (pillow_format, modes) in FORMATS.items():
    schemathesis.openapi.media_type(media_type, image_bytes(pillow_format, modes))

# `format: byte` (base64) is used for one field, /v1/process/json's image_base64: a base64 image file
schemathesis.openapi.format("byte", st.sampled_from(list(FORMATS.values())).flatmap(
    lambda found: image_bytes(*found)).map(lambda data: base64.b64encode(data).decode()))

# `format: recipe-json` marks the multipart `recipe` fields (/v1/process, /v1/jobs): a Recipe as JSON text.
# Light steps only (the fuzzer is bounded in time); the recipe's full schema is fuzzed through /v1/process/json.
STEPS = [{"op": "resize", "max_side": 48}, {"op": "fit_to_canvas", "size": 64}, {"op": "trim"},
         {"op": "white_background"}, {"op": "enhance", "strength": 0.3}]
recipes = st.fixed_dictionaries(
    {"steps": st.lists(st.sampled_from(STEPS), max_size=3)},
    optional={"name": st.text(min_size=1, max_size=30),
              "output": st.sampled_from([{"format": "png"}, {"format": "jpeg", "quality": 80}, {"format": "webp"}])})
schemathesis.openapi.format("recipe-json", recipes.map(json.dumps))
