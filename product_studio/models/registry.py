"""The model registry: named presets, ``create_model``, and safetensors save/load with checks.

Learned from timm: every model family lives in one file with a config dataclass (a ``ModelConfig``), an ``nn.Module``
built from that config, and named presets registered here::

    @register_model("fmnist_cnn")
    def fmnist_cnn(**overrides) -> ClassifierConfig:
        return ClassifierConfig(...).replace(**overrides)

A preset function returns the *config*; the registry knows how to turn the config into the module
(``config.build()``). So a weight file only needs the preset name and the config JSON to rebuild the
exact network, and nothing a user hands in is ever unpickled.

Weight files are safetensors with string metadata:

    ``format``          ``"product-studio"``
    ``model``           the preset name
    ``config``          the resolved config as JSON
    ``package_version`` the product_studio version that wrote the file
    ``class_names``     JSON list (classifiers; ``[]`` otherwise)
    ``metrics``         JSON dict (anything the writer measured)
    ``ood``             JSON dict, classifiers trained with outlier exposure: the "unknown" threshold

``load_model`` keeps every metadata string in ``model.metadata``; ``update_metadata`` adds some later.

``load_model`` rebuilds the model from the preset and config, refuses a file written by a package
with a different major.minor version or whose config does not fit the preset, and, for files inside
``product_studio/weights/``, refuses a file whose sha256 differs from the one in ``manifest.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from ..errors import ModelError, UsageError

FORMAT = "product-studio"
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
MANIFEST_PATH = WEIGHTS_DIR / "manifest.json"


class ModelConfig:
    """Base of every family's config dataclass: ``build()`` makes the ``nn.Module``; ``replace(**changes)``
    a changed copy, in which lists given for the ``tuple_fields`` become tuples and, where the config
    names its classes, new ``class_names`` set ``num_classes`` and a new ``num_classes`` alone (a
    different count) clears the names."""

    tuple_fields: ClassVar[tuple[str, ...]] = ()

    def build(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not say how to build its module")

    def replace(self, **changes: Any) -> Self:
        for key in self.tuple_fields:
            if isinstance(changes.get(key), list):
                changes[key] = tuple(changes[key])
        if hasattr(self, "class_names"):
            if "class_names" in changes and "num_classes" not in changes and changes["class_names"]:
                changes["num_classes"] = len(changes["class_names"])
            if "num_classes" in changes and "class_names" not in changes and changes["num_classes"] != self.num_classes:
                changes["class_names"] = ()
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    family: str
    make_config: Callable[..., Any]
    description: str


_REGISTRY: dict[str, ModelEntry] = {}
_FAMILIES_IMPORTED = False


def register_model(name: str, *, description: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a preset: a function ``(**overrides) -> config``; the config has ``build()``."""

    def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name].make_config is not function:
            raise ValueError(f"model preset {name!r} is registered twice")
        first_line = ((function.__doc__ or "").strip().splitlines() or [""])[0]
        _REGISTRY[name] = ModelEntry(
            name=name,
            family=function.__module__.rsplit(".", 1)[-1],
            make_config=function,
            description=description or first_line,
        )
        return function

    return decorator


def _import_families() -> None:
    """Import every family module so its presets register (lazily: torch is heavy)."""
    global _FAMILIES_IMPORTED
    if _FAMILIES_IMPORTED:
        return
    import importlib
    import pkgutil

    package = __name__.rsplit(".", 1)[0]
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name not in {"registry", "__init__"} and not module.name.startswith("_"):
            importlib.import_module(f"{package}.{module.name}")
    _FAMILIES_IMPORTED = True


def list_models(family: str | None = None) -> list[str]:
    """Names of every registered preset, sorted; ``family`` filters by file (e.g. ``"classifier"``)."""
    _import_families()
    return sorted(n for n, e in _REGISTRY.items() if family is None or e.family == family)


def model_entry(name: str) -> ModelEntry:
    _import_families()
    if name not in _REGISTRY:
        raise UsageError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return _REGISTRY[name]


def model_config(name: str, **overrides: Any) -> Any:
    """The resolved config of preset ``name`` with ``overrides`` applied."""
    entry = model_entry(name)
    try:
        return entry.make_config(**overrides)
    except TypeError as exc:
        raise UsageError(f"model {name!r} does not take these options: {exc}") from exc


def create_model(name: str, **overrides: Any) -> Any:
    """Build preset ``name`` (an ``nn.Module``), options in ``overrides`` replacing the preset's.

    The module gets ``model_name`` and ``config`` attributes so ``save_model`` can record them.
    """
    config = model_config(name, **overrides)
    model = config.build()
    model.model_name = name
    model.config = config
    return model


def config_to_json(config: Any) -> str:
    return json.dumps(dataclasses.asdict(config), sort_keys=True)


def config_from_dict(name: str, values: dict[str, Any]) -> Any:
    """Rebuild preset ``name``'s config from a saved dict; refuses unknown or missing fields."""
    base = model_config(name)
    fields = {f.name for f in dataclasses.fields(base)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ModelError(
            f"the weight file's config for {name!r} has fields this version of the code does not know: "
            f"{', '.join(unknown)}; use the product-studio version that wrote the file or retrain"
        )
    converted = {}
    for f in dataclasses.fields(base):
        if f.name in values:
            value = values[f.name]
            default = getattr(base, f.name)
            converted[f.name] = tuple(value) if isinstance(default, tuple) and isinstance(value, list) else value
    return dataclasses.replace(base, **converted)


def _package_version() -> str:
    from ..version import __version__

    return __version__


def _compatible(saved: str, current: str) -> bool:
    """Same major.minor: patch releases never change a network's layout."""
    return saved.split(".")[:2] == current.split(".")[:2]


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest() -> dict[str, Any]:
    """The shipped weights' manifest: ``{"weights": {file_name: entry}}``."""
    if not MANIFEST_PATH.exists():
        return {"weights": {}}
    return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))


def ship_weights(source: str | Path, file_name: str, entry: dict[str, Any], *, float16: bool = False) -> Path:
    """Copy trained weights into the shipped folder and record ``entry`` (plus file, sha256, bytes)
    in the manifest, under a file lock so runs that finish together do not lose each other's entry.

    ``float16`` stores the floating-point tensors in half precision (half the bytes; ``load_model``
    loads them back into the float32 network). Check the metrics of the half copy before shipping it.

    ``entry`` should say at least ``model``, ``command`` (the command that reproduces the file),
    ``data``, ``steps``, ``training_seconds`` and ``metrics``.
    """
    import fcntl
    import shutil

    source = Path(source)
    if not source.is_file():
        raise UsageError(f"cannot ship {source}: no such file; train the model first")
    if Path(file_name).name != file_name or not file_name.endswith((".safetensors", ".onnx")):
        raise UsageError(f"shipped weight names are plain '*.safetensors' or '*.onnx' file names, not {file_name!r}")
    if float16 and not file_name.endswith(".safetensors"):
        raise UsageError("float16 copies are for safetensors files only")
    target = WEIGHTS_DIR / file_name
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(WEIGHTS_DIR / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        tmp = target.with_suffix(".tmp")
        if float16:
            write_float16_copy(source, tmp)
        else:
            shutil.copyfile(source, tmp)
        tmp.replace(target)
        manifest = read_manifest()
        manifest.setdefault("weights", {})[file_name] = {
            "file": file_name,
            **{k: v for k, v in entry.items() if k not in {"file", "sha256", "bytes"}},
            "sha256": sha256_file(target),
            "bytes": target.stat().st_size,
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        tmp_manifest = MANIFEST_PATH.with_suffix(".tmp")
        tmp_manifest.write_text(text, encoding="utf-8")
        tmp_manifest.replace(MANIFEST_PATH)
    return target


def write_float16_copy(source: str | Path, target: str | Path) -> Path:
    """``source`` (a safetensors file) with every floating-point tensor in float16, metadata kept."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(source), "pt") as handle:
        metadata = handle.metadata()
    tensors = {k: (v.half() if v.is_floating_point() else v) for k, v in load_file(str(source)).items()}
    save_file(tensors, str(target), metadata=metadata)
    return Path(target)


def shipped_weight_path(file_name: str) -> Path:
    entry = read_manifest()["weights"].get(file_name)
    path = WEIGHTS_DIR / file_name
    if entry is None or not path.exists():
        raise ModelError(
            f"the shipped weight {file_name!r} is missing from {WEIGHTS_DIR}; reinstall product-studio "
            f"or train it again with scripts/train_classifier.py"
        )
    return path


def verify_shipped(path: Path) -> None:
    """If ``path`` is inside the shipped weights folder, its sha256 must match the manifest."""
    path = Path(path).resolve()
    if path.parent != WEIGHTS_DIR:
        return
    entry = read_manifest()["weights"].get(path.name)
    if entry is None:
        raise ModelError(
            f"{path.name} sits in the shipped weights folder but has no manifest entry; "
            "add it to product_studio/weights/manifest.json or move it elsewhere",
            path=str(path),
        )
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise ModelError(
            f"sha256 mismatch: the file is {actual[:16]}..., the manifest says {entry['sha256'][:16]}...; "
            "the shipped weight was modified or damaged: reinstall product-studio",
            path=str(path),
        )


def save_model(
    model: Any,
    path: str | Path,
    *,
    metrics: dict[str, Any] | None = None,
    class_names: list[str] | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """Write ``model``'s weights and its recipe (name, config, version, class names) as safetensors."""
    from safetensors.torch import save_file

    name = getattr(model, "model_name", None)
    config = getattr(model, "config", None)
    if name is None or config is None:
        raise UsageError("save_model needs a model made by create_model (it records the preset name and config)")
    if class_names is None:
        class_names = list(getattr(config, "class_names", ()) or ())
    metadata = {
        "format": FORMAT,
        "model": name,
        "config": config_to_json(config),
        "package_version": _package_version(),
        "class_names": json.dumps(list(class_names), ensure_ascii=False),
        "metrics": json.dumps(metrics or {}, sort_keys=True, default=float),
    }
    metadata.update(extra or {})
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    tmp.replace(path)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except FileNotFoundError as exc:
        raise ModelError("weight file not found", path=str(path)) from exc
    except Exception as exc:  # safetensors raises its own SafetensorError for bad headers
        raise ModelError(
            f"not a readable safetensors file ({exc}): give the final.safetensors a training run wrote, or retrain it "
            "(a damaged shipped file: git checkout product_studio/weights)",
            path=str(path),
        ) from exc


def load_model(path: str | Path, *, expect_model: str | None = None, expect_family: str | None = None,
               family_hint: str | None = None, strict_version: bool = True) -> Any:
    """Rebuild the model a ``save_model`` file describes and load its weights (eval mode).

    Checks, each with a clear ``ModelError``: a shipped file's sha256 against the manifest; the file is
    a Product Studio weight; the preset exists (and equals ``expect_model`` if given, and belongs to the
    family ``expect_family`` if given, e.g. ``"classifier"``: the file it is registered in; that error
    ends with ``family_hint``, by default "give a file written by `product-studio train <family>`"); the config fits
    the preset; the package version matches (same major.minor) unless ``strict_version=False``; the
    tensors' names and shapes match the rebuilt network.
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise ModelError("weight file not found", path=str(path))
    verify_shipped(path)
    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        raise ModelError("not a Product Studio weight file (no 'format' metadata); save it with save_model", path=str(path))
    name = meta.get("model", "")
    if expect_model is not None and name != expect_model:
        raise ModelError(f"the file holds model {name!r}, expected {expect_model!r}", path=str(path))
    try:
        entry = model_entry(name)
    except UsageError as exc:
        raise ModelError(f"the file holds an unknown model: {exc.message}", path=str(path)) from exc
    if expect_family is not None and entry.family != expect_family:
        kind = expect_family.replace("_", " ")
        hint = family_hint or f"give a file written by `product-studio train {expect_family.replace('_', '-')}`"
        raise ModelError(f"the file holds model {name!r}, which is not {'an' if kind[0] in 'aeiou' else 'a'} {kind}; {hint}", path=str(path))
    saved_version, current = meta.get("package_version", "?"), _package_version()
    if strict_version and not _compatible(saved_version, current):
        raise ModelError(
            f"version mismatch: written by product-studio {saved_version}, this is {current}; "
            "retrain with this version or load with strict_version=False at your own risk",
            path=str(path),
        )
    try:
        config = config_from_dict(name, json.loads(meta.get("config", "{}")))
    except json.JSONDecodeError as exc:
        raise ModelError(f"the config metadata is not JSON: {exc}", path=str(path)) from exc
    model = config.build()
    model.model_name = name
    model.config = config
    state = load_file(str(path))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        details = "; ".join(
            part
            for part in (
                f"missing {missing[:5]}" if missing else "",
                f"unexpected {unexpected[:5]}" if unexpected else "",
                f"wrong shape {wrong[:5]}" if wrong else "",
            )
            if part
        )
        raise ModelError(f"config mismatch: the tensors do not fit model {name!r} with the saved config ({details})", path=str(path))
    model.load_state_dict(state)
    model.eval()
    model.class_names = json.loads(meta.get("class_names", "[]"))
    model.metrics = json.loads(meta.get("metrics", "{}"))
    model.metadata = meta  # every string the file carries (e.g. a classifier's "ood" threshold)
    model.weight_path = str(path)
    return model


def update_metadata(path: str | Path, changes: dict[str, str]) -> Path:
    """Rewrite the safetensors file ``path`` with ``changes`` merged into its string metadata (tensors kept)."""
    from safetensors.torch import load_file, save_file

    path = Path(path)
    meta = read_metadata(path)
    meta.update({str(k): str(v) for k, v in changes.items()})
    tmp = path.with_name(path.name + ".tmp")
    save_file(load_file(str(path)), str(tmp), metadata=meta)
    tmp.replace(path)
    return path
