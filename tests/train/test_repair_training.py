import math

import pytest
import torch

from product_studio.errors import UsageError
from product_studio.train.defect_detector import detector_loss_fn
from product_studio.train.repair import RECIPES, train_repair_model

pytestmark = pytest.mark.slow  # trains models (`make test-fast` leaves it out)


def test_the_recipes_keep_their_weight_averaging():
    # the shipped detector was trained on raw weights and the inpainter on an average; their commands must still reproduce them
    assert RECIPES["detector"]["ema"] == 0.0 and RECIPES["inpainter"]["ema"] == 0.995


@pytest.mark.parametrize("ema", [1.0, -0.1, 1.5])
def test_an_ema_outside_zero_to_one_is_refused_before_any_work(tmp_path, ema):
    with pytest.raises(UsageError, match=f"ema is a decay between 0 \\(off\\) and 1 \\(exclusive\\), such as 0.998; got {ema}"):
        train_repair_model("detector", tmp_path / "run", ema=ema, model_name="defect_unet_tiny", steps=1)
    assert not (tmp_path / "run").exists()


def _constant_logits(logits):
    return lambda damaged: logits


def test_the_ignored_band_around_a_defect_does_not_move_the_detectors_loss():
    mask = torch.zeros(1, 1, 12, 12)
    mask[..., 4:7, 4:7] = 1
    batch = (torch.zeros(1, 3, 12, 12), mask)
    zero = torch.zeros(1, 1, 12, 12)
    assert detector_loss_fn(1)(_constant_logits(zero), batch).item() == pytest.approx(math.log(2))  # every counted pixel at p = 0.5
    band = zero.clone()
    band[..., 3:8, 3:8] = 9.0  # confident "defect" on the 1-px ring around the square (and on the square)
    band[..., 4:7, 4:7] = 0.0
    assert detector_loss_fn(1)(_constant_logits(band), batch).item() == pytest.approx(math.log(2))
    assert detector_loss_fn(0)(_constant_logits(band), batch).item() > 2 * math.log(2)  # counted without the band
    far = zero.clone()
    far[..., 0, 0] = 9.0  # beyond the band: counted
    assert detector_loss_fn(1)(_constant_logits(far), batch).item() > math.log(2)


@pytest.mark.parametrize("band", [-1, 5, 1.5, True])
def test_an_ignore_band_outside_zero_to_four_px_is_refused(band):
    with pytest.raises(UsageError, match="ignore_band is a whole number of px from 0 \\(off\\) to 4"):
        detector_loss_fn(band)


def test_the_inpainter_refuses_an_ignore_band(tmp_path):
    with pytest.raises(UsageError, match="ignore_band applies to the detector's loss only"):
        train_repair_model("inpainter", tmp_path / "run", ignore_band=1, model_name="inpaint_gated_tiny", steps=1)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("patch", [16, 400, 96.0, True])
def test_a_patch_side_outside_32_to_384_px_is_refused_before_any_work(tmp_path, patch):
    with pytest.raises(UsageError, match="patch_size is a whole number of px from 32 to 384"):
        train_repair_model("detector", tmp_path / "run", patch_size=patch, model_name="defect_unet_tiny", steps=1)
    assert not (tmp_path / "run").exists()


def test_an_unknown_kind_is_refused():
    with pytest.raises(UsageError, match="kind must be 'detector' or 'inpainter'; got 'denoiser'"):
        train_repair_model("denoiser", "unused")


def _script(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_training_script_refuses_an_out_of_range_value_in_one_line_with_exit_status_2(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "train_defect_detector.py"
    done = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "run"), "--patch", "500", "--steps", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "error: patch_size is a whole number of px from 32 to 384; got 500" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()


def test_the_shipping_script_rebuilds_every_cycle_of_a_chain_of_runs(tmp_path):
    script = _script("train_inpainter")
    tiny = {"model_name": "defect_unet_tiny", "steps": 1, "batch_size": 2, "progress": False, "validation_seeds": (0,),
            "validation_side": 128}
    first = train_repair_model("detector", tmp_path / "a", patch_size=96, **tiny)
    second = train_repair_model("detector", tmp_path / "b", init_weights=first["weights"], collection=2,
                                edge_negatives=0.5, photo_jitter=0.5, ema=0.99, lr=5e-4, seed=2, ignore_band=1, bf16=True,
                                **tiny)
    chain = script.lineage(script.defaults("detector"), second["weights"])
    assert [c["writes"] for c in chain] == [str(tmp_path / "a" / "model.safetensors"), str(tmp_path / "b" / "model.safetensors")]
    assert chain[0]["command"].endswith(f"--out {tmp_path / 'a'} --steps 1 --batch-size 2 --lr 0.002 --threads 1 --patch 96")
    assert chain[1]["command"].endswith(f"--lr 0.0005 --threads 1 --init {tmp_path / 'a' / 'model.safetensors'} "
                                        "--collection 2 --edge-negatives 0.5 --photo-jitter 0.5 --ema 0.99 --ignore-band 1 --bf16 --seed 2")
    assert [c["steps"] for c in chain] == [1, 1]
    stray = tmp_path / "stray.safetensors"
    stray.write_bytes((tmp_path / "a" / "model.safetensors").read_bytes() + b" ")
    with pytest.raises(SystemExit, match="neither a run folder's weights"):
        script.lineage(script.defaults("detector"), stray)
