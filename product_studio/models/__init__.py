"""Torch models and their registry (timm-style): ``create_model("fmnist_cnn")``, ``list_models()``.

Each family is one file here with a config dataclass, the ``nn.Module`` and named presets; importing
this package is cheap — torch and the families load on first use of the registry.
"""

from .registry import (
    create_model,
    list_models,
    load_model,
    model_config,
    read_manifest,
    read_metadata,
    register_model,
    save_model,
    sha256_file,
    ship_weights,
    shipped_weight_path,
)

__all__ = [
    "create_model",
    "list_models",
    "load_model",
    "model_config",
    "read_manifest",
    "read_metadata",
    "register_model",
    "save_model",
    "sha256_file",
    "ship_weights",
    "shipped_weight_path",
]
