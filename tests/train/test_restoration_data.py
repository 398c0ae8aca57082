"""The restoration photographs, their written-down split, patches and degradations."""

from __future__ import annotations

import numpy as np
import pytest

from product_studio.errors import UsageError
from product_studio.train import restoration_data
from product_studio.train.restoration_data import (
    EVAL_NAMES,
    PHOTOS,
    add_gaussian_noise,
    add_poisson_noise,
    degrade_for_denoising,
    degrade_for_upscaling,
    downscale,
    eval_crops,
    gaussian_blur,
    jpeg_compress,
    load_photo,
    photo_source,
    poisson_sigma,
    random_patches,
    restoration_photos,
    to_float,
)


def test_split_is_fixed_disjoint_and_covers_every_photo():
    train, held_out = restoration_photos("train"), restoration_photos("eval")
    assert [p.name for p in held_out] == list(EVAL_NAMES) == ["astronaut", "coffee", "flower", "colorful_cups", "kite", "path"]
    assert not {p.name for p in train} & {p.name for p in held_out}
    assert {p.name for p in train} | {p.name for p in held_out} == {p.name for p in PHOTOS if p.collection == 1}
    assert len(train) == 12 and sum(p.product_like for p in held_out) == 4
    assert all(p.author and p.licence for p in PHOTOS)
    # The files behind the split are different files too (no photo listed twice under two names).
    assert len({str(p.path()) for p in PHOTOS}) == len(PHOTOS)
    with pytest.raises(UsageError, match="unknown split 'test'"):
        restoration_photos("test")  # type: ignore[arg-type]


def test_the_second_collection_adds_training_photos_only():
    first, both = restoration_photos("train"), restoration_photos("train", collection=2)
    assert first == restoration_photos("train", collection=1) and both[: len(first)] == first
    added = both[len(first):]
    assert len(added) == 12 and {p.origin for p in added} == {"mate"} and all(p.collection == 2 for p in added)
    assert restoration_photos("eval", collection=2) == restoration_photos("eval")  # the held-out set never changes
    assert all(p.path().is_file() and p.licence.startswith("GPL-2+") for p in added)
    assert load_photo(added[0], max_side=64).shape == (40, 64, 3)
    with pytest.raises(UsageError, match="unknown photo collection 4; use one of 1, 2, 3"):
        restoration_photos("train", collection=4)


def test_the_third_collection_adds_the_palapeli_photographs_to_training_only():
    both, three = restoration_photos("train", collection=2), restoration_photos("train", collection=3)
    assert three[: len(both)] == both
    added = three[len(both):]
    assert [p.name for p in added] == ["castle", "bridge", "citrus_fruits", "honey_bee", "chameleon"]
    assert {p.origin for p in added} == {"palapeli"} and all(p.collection == 3 for p in added)
    assert restoration_photos("eval", collection=3) == restoration_photos("eval")
    assert all(p.path().is_file() and "palapeli-data" in p.licence for p in added)
    assert load_photo(photo_source("citrus_fruits"), max_side=90).shape == (59, 90, 3)


def test_every_photo_loads_as_rgb_and_shrinks_to_max_side():
    for source in PHOTOS:
        image = load_photo(source, max_side=300)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert max(image.shape[:2]) == 300 or max(image.shape[:2]) < 300 and source.origin != "wallpaper"
    astronaut = load_photo(photo_source("astronaut"))
    assert astronaut.shape == (512, 512, 3)
    # RGB order: the astronaut's flag patch has more red than blue; the sky in the kite photo is blue.
    kite = load_photo(photo_source("kite"), max_side=256)
    assert kite[:20].reshape(-1, 3).mean(0)[2] > kite[:20].reshape(-1, 3).mean(0)[0]


def test_a_missing_wallpaper_names_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setattr(restoration_data, "WALLPAPERS_DIR", tmp_path)
    with pytest.raises(UsageError, match="apt-get install plasma-workspace-wallpapers"):
        load_photo(photo_source("kite"))


def test_random_patches_are_deterministic_and_come_from_the_photos():
    photos = [np.arange(40 * 50 * 3, dtype=np.uint32).reshape(40, 50, 3).astype(np.uint8), np.full((20, 20, 3), 7, np.uint8)]
    a = random_patches(photos, 16, 10, np.random.default_rng(3))
    b = random_patches(photos, 16, 10, np.random.default_rng(3))
    assert a.shape == (10, 16, 16, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    unaugmented = random_patches(photos[:1], 16, 5, np.random.default_rng(0), augment=False)
    for patch in unaugmented:  # each is a real crop of the photo
        y, x = np.argwhere((photos[0][..., 0] == patch[0, 0, 0]) & (photos[0][..., 1] == patch[0, 0, 1]))[0]
        np.testing.assert_array_equal(photos[0][y : y + 16, x : x + 16], patch)
    with pytest.raises(UsageError, match="no photo is at least 64x64"):
        random_patches(photos, 64, 1, np.random.default_rng(0))


def test_gaussian_and_poisson_noise_have_the_asked_strength():
    rng = np.random.default_rng(0)
    grey = np.full((200, 200, 3), 0.5, np.float32)
    noisy = add_gaussian_noise(grey, 25 / 255, rng)
    assert np.std(noisy - grey) * 255 == pytest.approx(25, rel=0.03)
    assert noisy.min() >= 0 and noisy.max() <= 1
    batch = np.stack([grey, grey])
    per_item = add_gaussian_noise(batch, np.array([5 / 255, 40 / 255], np.float32), rng)
    assert np.std(per_item[0] - grey) * 255 == pytest.approx(5, rel=0.05)
    assert np.std(per_item[1] - grey) * 255 == pytest.approx(40, rel=0.05)
    shot = add_poisson_noise(grey, 100.0, rng)
    assert np.std(shot - grey) == pytest.approx(poisson_sigma(100.0), rel=0.05)
    assert poisson_sigma(100.0) * 255 == pytest.approx(18.03, abs=0.01)
    with pytest.raises(UsageError, match="sigma must be >= 0"):
        add_gaussian_noise(grey, -1.0, rng)


def test_jpeg_blur_and_downscale():
    rng = np.random.default_rng(1)
    image = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    low_q, high_q = jpeg_compress(image, 20), jpeg_compress(image, 95)
    assert low_q.shape == image.shape
    assert np.abs(low_q.astype(int) - image).mean() > np.abs(high_q.astype(int) - image).mean() > 0
    blurred = gaussian_blur(to_float(image), 2.0)
    assert blurred.std() < to_float(image).std() / 3 and blurred.mean() == pytest.approx(to_float(image).mean(), abs=0.01)
    flat = np.full((30, 42, 3), 100, np.uint8)
    small = downscale(flat, 4)
    assert small.shape == (7, 10, 3) and (small == 100).all()  # cropped to a multiple of 4 first
    assert downscale(flat, 2, method="area").shape == (15, 21, 3)
    with pytest.raises(UsageError, match="JPEG quality must be 1..100"):
        jpeg_compress(image, 0)


def test_training_degradations_shapes_and_levels():
    rng = np.random.default_rng(2)
    clean = np.full((8, 32, 32, 3), 128, np.uint8)
    noisy, sigma = degrade_for_denoising(clean, rng, max_sigma=50)
    assert noisy.shape == (8, 32, 32, 3) and noisy.dtype == np.float32 and sigma.shape == (8,)
    assert (sigma >= 0).all() and (sigma <= 50 / 255).all()
    measured = (noisy - 128 / 255).reshape(8, -1).std(1)
    loud = sigma > 10 / 255  # JPEG smooths a little, Poisson matches at mid-grey
    assert np.allclose(measured[loud], sigma[loud], rtol=0.35)
    low = degrade_for_upscaling(clean, 4, rng)
    assert low.shape == (8, 8, 8, 3) and low.dtype == np.uint8


def test_eval_crops_are_the_held_out_photos():
    crops = eval_crops(128, max_side=400)
    assert list(crops) == list(EVAL_NAMES)
    assert all(c.shape == (128, 128, 3) for c in crops.values())
