from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from product_studio import load_image
from product_studio.errors import UsageError
from product_studio.understand.search import (
    build_index,
    dhash,
    duplicate_pairs,
    find_duplicates,
    hamming,
    load_index,
    search,
    similar,
)

FAST = ["colors", "size", "background"]
PRODUCTS = {  # file -> (colour of the product, seller's fields, shape)
    "red_sneaker.jpg": ((225, 25, 35), {"category": "sneakers", "gender": "men"}, "shoe"),
    "blue_trousers.jpg": ((25, 55, 190), {"category": "trousers", "material": "denim"}, "tall"),
    "black_bag.jpg": ((15, 15, 15), {"category": "handbag", "material": "leather"}, "box"),
    "white_tshirt.jpg": ((245, 245, 245), {"category": "t-shirt", "material": "cotton"}, "wide"),
}


def product_photo(colour, shape: str, size: int = 256, seed: int = 0) -> np.ndarray:
    """A product (a shape in one colour, with a darker band) on a softly lit light background."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    light = 205 + 40 * np.cos(2.5 * x + 1.3 * seed) * np.sin(1.5 * y + seed)  # differs per photo
    img = np.repeat(light[..., None], 3, axis=2)
    if colour[0] > 240:
        img -= 60
    boxes = {"shoe": (40, 120, 216, 200), "tall": (90, 20, 166, 236), "box": (60, 70, 196, 200), "wide": (30, 60, 226, 190)}
    x0, y0, x1, y1 = boxes[shape]
    img[y0:y1, x0:x1] = colour
    band = (y1 - y0) // 4
    img[y1 - band : y1, x0:x1] = np.array(colour) * 0.8
    return np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for seed, (name, (colour, _, shape)) in enumerate(PRODUCTS.items()):
        Image.fromarray(product_photo(colour, shape, seed=seed)).save(folder / name, quality=95)
    # a near-duplicate: the sneaker photo resized and recompressed
    sneaker = np.asarray(Image.open(folder / "red_sneaker.jpg"))
    Image.fromarray(cv2.resize(sneaker, (180, 180), interpolation=cv2.INTER_AREA)).save(folder / "red_sneaker_copy.jpg", quality=60)
    seller = {str(folder / name): fields for name, (_, fields, _) in PRODUCTS.items()}
    seller[str(folder / "red_sneaker_copy.jpg")] = PRODUCTS["red_sneaker.jpg"][1]
    paths = sorted(folder.iterdir())
    index = build_index(paths, tmp_path_factory.mktemp("catalog"), fields=FAST, listing_fields=seller, segment="grabcut")
    return folder, index


def test_hashes_known_values_and_distances():
    flat = np.full((64, 64, 3), 128, np.uint8)
    assert dhash(flat) == 0
    ramp = np.tile(np.arange(64, dtype=np.uint8)[None, :, None] * 4, (64, 1, 3))
    assert dhash(ramp) == 2**64 - 1  # every pixel brighter than its left neighbour
    assert hamming(0b1011, 0b0001) == 2
    assert duplicate_pairs([0, 1, 2**64 - 1], threshold=2) == [(0, 1, 1)]
    with pytest.raises(UsageError, match="0..64"):
        duplicate_pairs([0], threshold=65)


def test_index_files_and_reload(catalog):
    _folder, index = catalog
    again = load_index(index.path)
    assert len(again) == 5 and again.embeddings.shape == (5, 384)
    assert np.allclose(np.linalg.norm(again.embeddings, axis=1), 1.0, atol=1e-3)
    meta = json.loads((index.path / "index.json").read_text(encoding="utf-8"))
    titles = {r["path"].rsplit("/", 1)[-1]: r["titles"] for r in meta["items"]}
    assert "运动鞋" in titles["red_sneaker.jpg"]["zh"] and "Sneakers" in titles["red_sneaker.jpg"]["en"]
    assert "红色" in titles["red_sneaker.jpg"]["zh"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("红色 运动鞋", "red_sneaker"),
        ("red sneaker", "red_sneaker"),
        ("蓝色 牛仔裤子", "blue_trousers"),
        ("black leather handbag", "black_bag"),
        ("白色纯棉T恤", "white_tshirt"),
    ],
)
def test_search_across_languages(catalog, query, expected):
    _, index = catalog
    hits = search(index, query, top_k=3)
    assert hits[0]["path"].rsplit("/", 1)[-1].startswith(expected), hits
    assert hits[0]["score"] >= hits[1]["score"]


def test_duplicates_are_grouped(catalog):
    _, index = catalog
    groups = find_duplicates(index)
    assert len(groups) == 1
    names = sorted(m["path"].rsplit("/", 1)[-1] for m in groups[0])
    assert names == ["red_sneaker.jpg", "red_sneaker_copy.jpg"]
    assert find_duplicates(index, threshold=0) == [] or all(m["distance"] == 0 for g in find_duplicates(index, threshold=0) for m in g)


def test_similar_ranks_the_same_kind_first(catalog, tmp_path):
    _folder, index = catalog
    query = tmp_path / "another_red_shoe.jpg"
    Image.fromarray(product_photo((205, 30, 45), "shoe", seed=9)[:, ::-1].copy()).save(query, quality=90)
    hits = similar(index, load_image(query), fields=FAST, listing_fields={"category": "sneakers"}, segment="grabcut", top_k=5)
    top = [h["path"].rsplit("/", 1)[-1] for h in hits[:2]]
    assert sorted(top) == ["red_sneaker.jpg", "red_sneaker_copy.jpg"]
    assert hits[0]["parts"]["colour"] > 0.8 and hits[-1]["score"] < hits[0]["score"]
    assert hits[0]["parts"]["brand"] is None  # no brand on either side: left out of the blend


def test_reindex_reuses_unchanged_files(catalog, tmp_path):
    folder, index = catalog
    again = build_index(sorted(folder.iterdir()), index.path, fields=FAST)
    assert [r["titles"] for r in again.items] == [r["titles"] for r in index.items]  # kept, not re-measured
    assert np.array_equal(again.embeddings, index.embeddings)


def test_missing_index_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no index"):
        load_index(tmp_path)
