from __future__ import annotations

import numpy as np
import pytest

from product_studio.errors import UsageError
from product_studio.train.repair_data import SCENES_PER_SIDE, training_photos
from product_studio.train.scenes import STAMPS_DIR, product_scene, scene_photos, stamp_files


def test_the_fit_and_validation_stamps_are_disjoint_photographs_of_the_package():
    fit, validation = stamp_files("fit"), stamp_files("validation")
    assert len(fit) > 60 and len(validation) > 15
    assert not set(fit) & set(validation)
    assert all(p.is_file() and STAMPS_DIR in p.parents for p in fit + validation)
    # drawings and letters are left out
    assert not any(part in ("cartoon", "symbols") for p in fit + validation for part in p.parts)
    with pytest.raises(UsageError, match="part must be 'fit' or 'validation'"):
        stamp_files("eval")  # type: ignore[arg-type]


def test_a_scene_is_a_function_of_its_seed_with_the_longer_side_asked_for():
    stamps = stamp_files("fit")
    first, again, other = product_scene(stamps, 7, 256), product_scene(stamps, 7, 256), product_scene(stamps, 8, 256)
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3 and max(first.shape[:2]) == 256
    assert np.array_equal(first, again) and not np.array_equal(first[:192, :192], other[:192, :192])
    # a backdrop with an object on it: the corners are near-flat, the whole image is not
    corner = first[:12, :12].astype(float)
    assert corner.std() < 8 and first.astype(float).std() > corner.std() + 5


def test_scenes_are_named_by_part_and_seed_and_join_the_third_collection_only():
    named = scene_photos("validation", 2, (96, 128), first_seed=5)
    assert [n for n, _ in named] == ["scene_validation_5", "scene_validation_6", "scene_validation_7", "scene_validation_8"]
    assert [max(img.shape[:2]) for _, img in named] == [96, 96, 128, 128]
    third = training_photos("fit", sides=(96,), collection=3)
    assert len(third) == len(training_photos("fit", sides=(96,), collection=2)) + 4 + SCENES_PER_SIDE


def test_bad_scene_requests_say_what_to_pass():
    with pytest.raises(UsageError, match="no stamps"):
        product_scene([], 0)
    with pytest.raises(UsageError, match="side must be at least 64"):
        product_scene(stamp_files("fit"), 0, side=32)
