"""Product classification: the shipped Fashion-MNIST CNN on real photos, and Grad-CAM.

Colour photos are brought into the Fashion-MNIST domain the way Zalando built the data set
(Xiao et al. 2017): cut the product out of its background, convert to grayscale, trim to the
product, fit the longer side into 28×28 keeping the aspect (centred), and invert so the product is
light on black. ``to_fashion_mnist`` does exactly that; ``classify_item`` runs the model on it.

    >>> from product_studio import load_image
    >>> from product_studio.understand.classify import classify_item
    >>> classify_item(load_image("samples/sneaker.jpg"), top_k=3)
    [('Sneaker', 0.91), ('Sandal', 0.05), ('Ankle boot', 0.02)]

``classify_product`` adds the answer "unknown" for a product that is none of the model's categories
(a laptop, a coffee cup): the in-category score (the largest softmax probability, with flip TTA) below
the threshold stored with the weights (``"ood"`` metadata, set by training with outlier exposure to keep
98% of the validation images known).

Training a classifier is ``train.classifier.train_classifier``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError, OperationError, UsageError
from ..item import ImageItem

DEFAULT_WEIGHTS = "fmnist_resnet.safetensors"  # fmnist_cnn.safetensors, the first one, stays for the GAN metrics
FMNIST_SIZE = 28


# ---- the domain mapping ------------------------------------------------------------------------------


def to_fashion_mnist(item: ImageItem, *, size: int = FMNIST_SIZE, cut_out: bool = True, method: str = "u2netp") -> np.ndarray:
    """The photo as a Fashion-MNIST image: size×size uint8, the product light on black.

    Uses the item's alpha when it already has one; otherwise cuts the product out with
    ``product_studio.vision.segmentation`` (``method``: u2netp, grabcut). ``cut_out=False`` keeps the
    whole frame (for images already on a plain background).
    """
    import cv2

    from ..vision.geometry import product_bbox

    alpha = item.alpha
    if alpha is None and cut_out:
        alpha = _cut_out_alpha(item, method)
    if alpha is None:
        alpha = np.full(item.pixels.shape[:2], 255, np.uint8)
    gray = cv2.cvtColor(item.pixels, cv2.COLOR_RGB2GRAY).astype(np.float32)
    a = alpha.astype(np.float32) / 255.0
    # Invert inside the product, black outside: Fashion-MNIST's light-on-black.
    light = (255.0 - gray) * a
    try:
        left, top, right, bottom = product_bbox(alpha)
    except OperationError:  # nothing cut out: use the whole frame
        left, top, right, bottom = 0, 0, alpha.shape[1], alpha.shape[0]
    crop = light[top:bottom, left:right]
    h, w = crop.shape
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((size, size), np.float32)
    y0, x0 = (size - nh) // 2, (size - nw) // 2
    canvas[y0 : y0 + nh, x0 : x0 + nw] = small
    # Zalando's last step stretches the intensities to the full range.
    peak = float(canvas.max())
    if peak > 0:
        canvas *= 255.0 / peak
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def _cut_out_alpha(item: ImageItem, method: str) -> np.ndarray:
    from ..vision.segmentation import segment_product

    return segment_product(item.pixels, method=method)


# ---- the shipped model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifierShape:
    """What an exported classifier takes (the torch config's ``in_channels`` and ``image_size``)."""

    in_channels: int
    image_size: int


@dataclass(frozen=True)
class OnnxClassifier:
    """A shipped classifier exported to ONNX (``scripts/export_classifier_onnx.py``), run with onnxruntime:
    no torch at run time. Its metadata carries the class names, input shape and the ``ood`` threshold
    copied from the safetensors, so it decides "unknown" as the torch model does."""

    loaded: Any  # runtime.LoadedModel

    @property
    def metadata(self) -> dict[str, str]:
        return self.loaded.metadata

    @property
    def class_names(self) -> list[str]:
        import json

        return json.loads(self.metadata.get("class_names", "[]"))

    @property
    def config(self) -> ClassifierShape:
        return ClassifierShape(int(self.metadata.get("in_channels", 1)), int(self.metadata.get("image_size", FMNIST_SIZE)))

    @property
    def model_name(self) -> str:
        return self.loaded.model_name

    @property
    def weight_path(self) -> Path:
        return self.loaded.path

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Logits (N×classes) of a float32 batch N×C×S×S in [0, 1]."""
        return self.loaded.run(np.asarray(batch, dtype=np.float32))[0]


@lru_cache(maxsize=1)
def load_default_classifier() -> OnnxClassifier:
    """The shipped Fashion-MNIST classifier as ONNX on onnxruntime (sha256-checked), loaded once per process."""
    from ..models.registry import WEIGHTS_DIR
    from ..runtime import load_shipped

    onnx_name = Path(DEFAULT_WEIGHTS).with_suffix(".onnx").name
    return OnnxClassifier(load_shipped(WEIGHTS_DIR / onnx_name, threads=2,
                                       hint=" (or export it with scripts/export_classifier_onnx.py)"))


@lru_cache(maxsize=1)
def load_torch_classifier() -> Any:
    """The same shipped classifier as a torch module (Grad-CAM, training, benchmarks: needs torch)."""
    import torch

    from ..models.registry import load_model, shipped_weight_path

    torch.set_num_threads(min(torch.get_num_threads(), 2))
    return load_model(shipped_weight_path(DEFAULT_WEIGHTS))


def _input_array(image28: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(image28).astype(np.float32) / 255.0
    if x.ndim == 2:
        x = x[None]
    elif x.ndim == 3 and x.shape[-1] in (1, 3):
        x = x.transpose(2, 0, 1)
    return x[None]


def _input_tensor(image28: np.ndarray, model: Any) -> Any:
    if isinstance(model, OnnxClassifier):
        return _input_array(image28)
    import torch

    x = torch.from_numpy(np.ascontiguousarray(image28)).float().div(255.0)
    if x.ndim == 2:
        x = x[None]
    elif x.ndim == 3 and x.shape[-1] in (1, 3):
        x = x.permute(2, 0, 1)
    return x[None]


def predict_probabilities(model: Any, batch: Any, *, flip_tta: bool = True) -> Any:
    """Softmax probabilities (N×classes) for a float batch in [0, 1], averaged with the mirror image
    (a numpy array for an ``OnnxClassifier``, a torch tensor for a torch module)."""
    if isinstance(model, OnnxClassifier):
        x = np.asarray(batch, dtype=np.float32)
        probs = _softmax(model.logits(x))
        if flip_tta:
            probs = (probs + _softmax(model.logits(np.ascontiguousarray(x[..., ::-1])))) / 2
        return probs
    import torch

    with torch.no_grad():
        probs = model(batch).float().softmax(1)
        if flip_tta:
            probs = (probs + model(batch.flip(3)).float().softmax(1)) / 2
    return probs


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _top(probs: Any, names: list[str], top_k: int) -> list[tuple[str, float]]:
    p = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-p, kind="stable")[: min(top_k, len(names))]
    return [(names[int(i)], round(float(p[int(i)]), 6)) for i in order]


def classify_image(image28: np.ndarray, *, top_k: int = 3, model: Any = None) -> list[tuple[str, float]]:
    """Top-k ``(label, probability)`` for an image already in the model's domain (e.g. 28×28 uint8)."""
    if top_k < 1:
        raise UsageError(f"top_k must be at least 1; got {top_k}")
    model = model or load_default_classifier()
    probs = predict_probabilities(model, _input_tensor(image28, model))[0]
    names = list(model.class_names) or [str(i) for i in range(len(probs))]
    return _top(probs, names, top_k)


@dataclass(frozen=True)
class ModelInput:
    """What a classifier takes: ``channels`` (1: the Fashion-MNIST domain, 3: RGB) and ``size`` (square side)."""

    channels: int
    size: int

    @classmethod
    def of(cls, model: Any) -> ModelInput:
        return cls(channels=getattr(model.config, "in_channels", 1), size=model.config.image_size)


def model_input(item: ImageItem, domain: ModelInput, *, cut_out: bool = True) -> np.ndarray:
    """The photo as a classifier with input ``domain`` sees it: 1 channel: ``to_fashion_mnist`` (size×size
    uint8); 3 channels: the frame resized and centre-cropped to size×size×3. Training (outlier exposure)
    converts its images with this same function."""
    if domain.channels == 1:
        return to_fashion_mnist(item, size=domain.size, cut_out=cut_out)
    from ..vision.geometry import resize_square

    return resize_square(item.pixels, domain.size)


def classify_item(item: ImageItem, *, top_k: int = 3, model: Any = None, cut_out: bool = True) -> list[tuple[str, float]]:
    """Top-k ``(label, probability)`` of the product in ``item`` (a colour photo), among the model's
    categories only: no "unknown" (``classify_product`` adds that decision).

    The photo is mapped into the Fashion-MNIST domain with ``to_fashion_mnist``; ``model`` defaults
    to the shipped classifier.
    """
    model = model or load_default_classifier()
    return classify_image(model_input(item, ModelInput.of(model), cut_out=cut_out), top_k=top_k, model=model)


# ---- out of the taxonomy: "unknown" ---------------------------------------------------------------------

UNKNOWN = "unknown"
OOD_SCORE = "max_softmax_flip"  # the largest softmax probability, averaged with the mirror image
DEFAULT_TRUST = 0.5  # models without a stored threshold: a top probability below this is not trusted


def ood_scores(model: Any, batch: Any) -> Any:
    """The in-taxonomy score (N floats, higher = more like the training categories) of a float batch in [0, 1]:
    the maximum softmax probability with flip TTA, as ``classify`` predicts. Models trained with outlier
    exposure (``train.outliers``) give non-category images a flat softmax, so a low maximum."""
    probs = predict_probabilities(model, batch)
    return probs.max(1) if isinstance(model, OnnxClassifier) else probs.max(1).values


def ood_settings(model: Any) -> dict[str, Any] | None:
    """The out-of-distribution threshold stored with the weights (``"ood"`` metadata), or None."""
    import json

    raw = (getattr(model, "metadata", None) or {}).get("ood")
    if not raw:
        return None
    try:
        settings = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelError(f"the weights' 'ood' metadata is not JSON ({exc}); retrain the classifier") from None
    return settings if isinstance(settings, dict) and "threshold" in settings else None


@dataclass(frozen=True)
class Classification:
    """A classification with the "unknown" decision: ``label`` is a category or ``"unknown"``.

    score: the in-taxonomy score (``ood_scores``); threshold: the model's (None: it has none, then
    ``DEFAULT_TRUST`` on the top probability decides); top_k: the nearest categories with their
    probabilities, also when the answer is unknown; note: why it is unknown, in words.
    """

    label: str
    in_taxonomy: bool
    score: float
    threshold: float | None
    top_k: list[tuple[str, float]]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "in_taxonomy": self.in_taxonomy,
            "score": self.score,
            "threshold": self.threshold,
            "top_k": [{"label": label, "probability": p} for label, p in self.top_k],
            "note": self.note,
        }


def decide(model: Any, top_k: list[tuple[str, float]], score: float) -> Classification:
    """The category, or unknown when ``score`` is below the model's threshold."""
    settings = ood_settings(model)
    threshold = float(settings["threshold"]) if settings else None
    known = score >= (threshold if threshold is not None else DEFAULT_TRUST)
    count = len(getattr(model, "class_names", []) or [])
    note = None
    if not known:
        limit = f"threshold {threshold:.2f}" if threshold is not None else f"{DEFAULT_TRUST:.0%} (this model stores no threshold: retrain it)"
        note = (f"not one of the model's {count} categories (in-category score {score:.2f} below {limit}); "
                f"the nearest is {top_k[0][0]}")
    return Classification(label=top_k[0][0] if known else UNKNOWN, in_taxonomy=known, score=round(score, 6),
                          threshold=threshold, top_k=top_k, note=note)


def classify_product(item: ImageItem, *, top_k: int = 3, model: Any = None, cut_out: bool = True) -> Classification:
    """The product's category, or ``"unknown"`` when it is none of the model's categories.

    >>> classify_product(load_image("samples/coffee_cup.jpg")).label     # doctest: +SKIP
    'unknown'
    """
    if top_k < 1:
        raise UsageError(f"top_k must be at least 1; got {top_k}")
    model = model or load_default_classifier()
    image = model_input(item, ModelInput.of(model), cut_out=cut_out)
    probs = predict_probabilities(model, _input_tensor(image, model))[0]
    names = list(model.class_names) or [str(i) for i in range(len(probs))]
    return decide(model, _top(probs, names, top_k), float(probs.max()))


# ---- Grad-CAM -------------------------------------------------------------------------------------------


def grad_cam(model: Any, image: np.ndarray, *, class_index: int | None = None) -> tuple[np.ndarray, int]:
    """Grad-CAM (Selvaraju et al. 2017) over the last stage: (heat map h×w in [0, 1] at input size, class)."""
    import torch
    from torch.nn import functional as F

    if isinstance(model, OnnxClassifier):  # gradients need the torch module of the same weights
        model = load_torch_classifier()
    x = _input_tensor(image, model)
    model.eval()
    with torch.enable_grad():
        maps = model.features(x)
        maps.retain_grad()
        logits = model.classify_features(maps)
        index = int(logits.argmax(1)) if class_index is None else int(class_index)
        logits[0, index].backward()
    weights = maps.grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * maps).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0].detach()
    peak = float(cam.max())
    heat = (cam / peak).numpy() if peak > 0 else cam.numpy()
    return heat.astype(np.float32), index


def explain_item(item: ImageItem, path: str | Path, *, model: Any = None, cut_out: bool = True) -> dict[str, Any]:
    """Write a PNG: the photo with the Grad-CAM heat map laid over the product, beside the 28×28 input.

    Returns ``{"path", "label", "class_index"}``.
    """
    import cv2

    from ..imageio import save_image
    from ..vision.geometry import product_bbox

    model = model or load_default_classifier()
    alpha = item.alpha
    if alpha is None and cut_out:
        alpha = _cut_out_alpha(item, "u2netp")
    if alpha is None:
        alpha = np.full(item.pixels.shape[:2], 255, np.uint8)
    prepared = item.replace(alpha=alpha)
    size = model.config.image_size
    image = to_fashion_mnist(prepared, size=size, cut_out=False)
    heat, index = grad_cam(model, image)
    # Undo the fit: place the input-size heat map back over the product's box on the photo.
    h, w = item.pixels.shape[:2]
    try:
        left, top, right, bottom = product_bbox(alpha)
    except OperationError:
        left, top, right, bottom = 0, 0, w, h
    bh, bw = bottom - top, right - left
    scale = size / max(bh, bw)
    nh, nw = max(1, round(bh * scale)), max(1, round(bw * scale))
    y0, x0 = (size - nh) // 2, (size - nw) // 2
    box_heat = cv2.resize(heat[y0 : y0 + nh, x0 : x0 + nw], (bw, bh), interpolation=cv2.INTER_LINEAR)
    full = np.zeros((h, w), np.float32)
    full[top:bottom, left:right] = box_heat
    photo = _overlay(item.pixels, full)
    small = _overlay(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB), heat)
    panel_h = h
    small_big = cv2.resize(small, (panel_h, panel_h), interpolation=cv2.INTER_NEAREST)
    gap = np.full((h, max(4, h // 50), 3), 255, np.uint8)
    sheet = np.ascontiguousarray(np.concatenate([photo, gap, small_big], axis=1))
    names = list(model.class_names) or []
    label = names[index] if index < len(names) else str(index)
    saved = save_image(ImageItem(sheet), path, format="png", overwrite=True)
    return {"path": str(saved.path), "label": label, "class_index": index}


def _overlay(rgb: np.ndarray, heat: np.ndarray, strength: float = 0.55) -> np.ndarray:
    import cv2

    colours = cv2.applyColorMap(np.clip(heat * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    colours = cv2.cvtColor(colours, cv2.COLOR_BGR2RGB).astype(np.float32)
    weight = (strength * heat)[:, :, None]
    return np.clip(rgb.astype(np.float32) * (1 - weight) + colours * weight, 0, 255).astype(np.uint8)


def classifier_info(model: Any) -> dict[str, Any]:
    """Name, weights file and metrics of a loaded classifier (for reports)."""
    return {
        "model": getattr(model, "model_name", None),
        "weights": Path(getattr(model, "weight_path", "")).name or None,
        "classes": list(getattr(model, "class_names", [])),
        "ood_threshold": (ood_settings(model) or {}).get("threshold"),
    }


__all__ = [
    "ModelError",
    "UNKNOWN",
    "Classification",
    "ModelInput",
    "classifier_info",
    "classify_image",
    "classify_item",
    "classify_product",
    "decide",
    "model_input",
    "ood_scores",
    "ood_settings",
    "explain_item",
    "grad_cam",
    "load_default_classifier",
    "load_torch_classifier",
    "OnnxClassifier",
    "to_fashion_mnist",
]
