import pytest

from product_studio.errors import UsageError
from product_studio.restore.repair_training import RECIPES, train_repair_model


def test_the_recipes_keep_their_weight_averaging():
    # the shipped detector was trained on raw weights and the inpainter on an average; their commands must still reproduce them
    assert RECIPES["detector"]["ema"] == 0.0 and RECIPES["inpainter"]["ema"] == 0.995


@pytest.mark.parametrize("ema", [1.0, -0.1, 1.5])
def test_an_ema_outside_zero_to_one_is_refused_before_any_work(tmp_path, ema):
    with pytest.raises(UsageError, match=f"ema is a decay between 0 \\(off\\) and 1 \\(exclusive\\), such as 0.998; got {ema}"):
        train_repair_model("detector", tmp_path / "run", ema=ema, model_name="defect_unet_tiny", steps=1)
    assert not (tmp_path / "run").exists()


def test_an_unknown_kind_is_refused():
    with pytest.raises(UsageError, match="kind must be 'detector' or 'inpainter'; got 'denoiser'"):
        train_repair_model("denoiser", "unused")
