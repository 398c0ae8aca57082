"""Synthetic defects and the repair data: exact masks, seeds, the split."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from product_studio.errors import UsageError
from product_studio.train.defects import MASK_COVERAGE, add_defects, add_dust, add_scratches, add_stains
from product_studio.train.repair_data import (
    JITTER_SCALE,
    VALIDATION_NAMES,
    DamagedPatches,
    grow,
    jitter_photo,
    validation_set,
)
from product_studio.train.restoration_data import EVAL_NAMES, restoration_photos


def photo(h: int = 160, w: int = 200) -> np.ndarray:
    """A smooth mid-grey gradient with a soft disc: defects stand out against it."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.dstack([90 + 0.3 * x, 110 + 0.2 * y, 130 - 0.1 * x]).astype(np.float32)
    img[(y - h / 2) ** 2 + (x - w / 2) ** 2 < (h / 4) ** 2] += 25
    return np.clip(img, 0, 255).astype(np.uint8)


ADDERS = [(add_scratches, {"count": 3}), (add_stains, {"count": 2}), (add_dust, {"count": 8})]


@pytest.mark.parametrize("add, kwargs", ADDERS, ids=["scratches", "stains", "dust"])
def test_each_kind_returns_the_damaged_image_and_its_exact_mask(add, kwargs):
    clean = photo()
    damaged, mask = add(clean, 7, **kwargs)
    assert damaged.shape == clean.shape and damaged.dtype == np.uint8
    assert mask.shape == clean.shape[:2] and mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    diff = np.abs(damaged.astype(int) - clean).max(-1)
    inside, outside = diff[mask > 0], diff[mask == 0]
    assert inside.mean() > 20  # the defect is visible where the mask says
    # Outside the mask only the anti-aliased fringe (coverage < 15 %) changes, and by little.
    assert outside.max() <= 255 * MASK_COVERAGE + 1 and (outside > 8).mean() < 0.03


def test_same_seed_same_damage_other_seed_other_damage():
    clean = photo()
    a = add_defects(clean, 3, density=3.0)
    b = add_defects(clean, 3, density=3.0)
    c = add_defects(clean, 4, density=3.0)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    np.testing.assert_array_equal(add_dust(clean, g1)[1], add_dust(clean, g2)[1])


def test_scratches_are_thin_and_dust_is_small():
    clean = photo(300, 300)
    _, mask = add_scratches(clean, 11, count=1)
    area = np.count_nonzero(mask)
    # A 1-3 px stroke: its area divided by its extent along the longer side stays small.
    ys, xs = np.nonzero(mask)
    extent = max(np.ptp(ys), np.ptp(xs)) + 1
    assert area / extent <= 5.0, (area, extent)
    _, dust = add_dust(clean, 12, count=1)
    count, _, stats, _ = cv2.connectedComponentsWithStats(dust)
    assert count >= 2 and stats[1:, cv2.CC_STAT_AREA].max() < 300


def test_density_scales_the_damage_and_zero_is_a_clean_copy():
    clean = photo(300, 400)
    damaged, mask = add_defects(clean, 5, density=0)
    np.testing.assert_array_equal(damaged, clean)
    assert not mask.any()
    light = np.mean([np.count_nonzero(add_defects(clean, s, density=1.0)[1]) for s in range(6)])
    heavy = np.mean([np.count_nonzero(add_defects(clean, s, density=6.0)[1]) for s in range(6)])
    assert heavy > 3 * light > 0


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: add_defects(photo(), 0, kinds=("scratch", "rust")), "unknown defect kind\\(s\\) rust; choose from scratch, stain, dust"),
        (lambda: add_defects(photo(), 0, density=-1), "density must be a number >= 0"),
        (lambda: add_scratches(photo(), 0, count=-2), "count must be a whole number >= 0"),
        (lambda: add_dust(photo(), "seven"), "seed must be an int or a numpy Generator"),
        (lambda: add_stains(photo().astype(np.float32), 0), "must be uint8"),
    ],
)
def test_bad_input_is_refused_with_a_useful_message(call, words):
    with pytest.raises(UsageError, match=words):
        call()


def test_the_validation_photos_are_training_photos_and_never_evaluation_photos():
    train = {p.name for p in restoration_photos("train", collection=3)}
    assert set(VALIDATION_NAMES) <= train
    assert not set(VALIDATION_NAMES) & set(EVAL_NAMES)
    # each collection validates on its own photos: collection 1 (the older models) on two, collection 2 on four
    assert [s.name for s in validation_set(side=64, seeds=(0,))] == ["china", "evening_glow"]
    assert [s.name for s in validation_set(side=64, seeds=(0,), collection=2)] == ["china", "evening_glow", "garden", "lady_bird"]
    # collection 3 adds citrus_fruits and three product scenes made from the validation stamps
    third = validation_set(side=64, seeds=(0, 1), collection=3)
    assert [s.name for s in third][::2] == ["china", "evening_glow", "garden", "lady_bird", "citrus_fruits",
                                            "scene_validation_1000", "scene_validation_1001", "scene_validation_1002"]
    assert all(max(s.damaged.shape[:2]) == 64 and s.mask.shape == s.damaged.shape[:2] for s in third)


def test_damaged_patches_are_deterministic_batches_centred_on_defects():
    photos = [photo(200, 260), photo(240, 240)]
    data = DamagedPatches(photos, size=48, length=64, density=4.0, centred_share=1.0)
    idx = torch.arange(8)
    damaged, mask, clean, defect = data.get_batch(idx)
    assert damaged.shape == clean.shape == (8, 3, 48, 48) and mask.shape == defect.shape == (8, 1, 48, 48)
    assert torch.equal(mask, defect)  # no free-form holes asked for
    assert damaged.dtype == torch.float32 and 0 <= damaged.min() and damaged.max() <= 1
    assert set(mask.unique().tolist()) <= {0.0, 1.0} and mask.mean() > 0.005
    # Outside the mask the damaged patch is the clean one (up to the faint fringe).
    assert ((damaged - clean).abs().amax(1, keepdim=True) * (1 - mask)).max() <= MASK_COVERAGE + 0.01
    again = data.get_batch(idx)
    assert all(torch.equal(a, b) for a, b in zip((damaged, mask, clean), again))
    assert not torch.equal(mask, data.get_batch(torch.arange(8, 16))[1])
    free = DamagedPatches(photos, size=48, length=64, density=0.0, free_form=1.0)
    _, holes, _, defects = free.get_batch(idx)
    assert holes.mean() > 0.01 and not defects.any()  # strokes, boxes or letters, which are not defects


def test_edge_negatives_centre_the_clean_patches_on_edges():
    flat = np.full((240, 320, 3), 120, np.uint8)
    flat[:, 250:252] = 250  # the only structure: a bright line near the right edge
    edges = DamagedPatches([flat], size=32, length=64, density=0.0, edge_negatives=1.0)
    anywhere = DamagedPatches([flat], size=32, length=64, density=0.0)
    idx = torch.arange(32)
    with_line = lambda batch: (batch[2].amax(dim=(1, 2, 3)) > 0.9).float().mean().item()
    assert with_line(edges.get_batch(idx)) == 1.0  # every patch holds the line
    assert with_line(anywhere.get_batch(idx)) < 0.5  # a uniform position mostly misses it
    with pytest.raises(UsageError, match="edge_negatives is a share between 0 and 1; got 1.5"):
        DamagedPatches([flat], size=32, edge_negatives=1.5)


def test_jitter_photo_changes_light_colour_and_size_within_its_ranges():
    clean = photo(200, 300)
    variants = [jitter_photo(clean, np.random.default_rng(seed), min_side=32) for seed in range(12)]
    again = jitter_photo(clean, np.random.default_rng(3), min_side=32)
    assert np.array_equal(again, variants[3])  # a function of the generator's state
    for v in variants:
        assert v.dtype == np.uint8 and v.ndim == 3 and v.shape[2] == 3
        scale = v.shape[0] / 200
        assert JITTER_SCALE[0] - 0.01 <= scale <= 1.0 and abs(v.shape[1] / 300 - scale) < 0.01  # shrunk, shape kept
    assert len({v.shape for v in variants}) > 3  # sizes vary
    means = np.array([v.reshape(-1, 3).mean(0) for v in variants])
    assert np.ptp(means, axis=0).min() > 8  # each channel's level moves: white balance and exposure
    assert min(min(v.shape[:2]) for v in (jitter_photo(clean, np.random.default_rng(s), min_side=190) for s in range(8))) >= 190
    with pytest.raises(UsageError, match="RGB"):
        jitter_photo(clean[..., 0], np.random.default_rng(0))


def test_jittered_patches_keep_exact_masks():
    photos = [photo(200, 260), photo(240, 240)]
    data = DamagedPatches(photos, size=48, length=64, density=4.0, centred_share=1.0, photo_jitter=1.0, edge_negatives=0.5)
    damaged, mask, clean, _ = data.get_batch(torch.arange(8))
    plain = DamagedPatches(photos, size=48, length=64, density=4.0, centred_share=1.0).get_batch(torch.arange(8))
    assert mask.mean() > 0.005 and not torch.equal(clean, plain[2])  # the clean patches are the changed photos
    # the mask is drawn on the changed photo: outside it, damaged equals clean (up to the faint fringe)
    assert ((damaged - clean).abs().amax(1, keepdim=True) * (1 - mask)).max() <= MASK_COVERAGE + 0.01
    with pytest.raises(UsageError, match="photo_jitter is a share between 0 and 1; got -0.1"):
        DamagedPatches(photos, size=48, photo_jitter=-0.1)


def test_grow_dilates_by_a_disk():
    mask = np.zeros((9, 9), np.uint8)
    mask[4, 4] = 255
    assert np.count_nonzero(grow(mask, 1)) == 5 and np.count_nonzero(grow(mask, 0)) == 1


def test_a_defect_that_changes_nothing_is_not_in_the_mask():
    black = np.zeros((120, 160, 3), np.uint8)
    damaged, mask = add_stains(black, 3, count=4)  # a tint multiplies: black stays black
    np.testing.assert_array_equal(damaged, black)
    assert not mask.any()
