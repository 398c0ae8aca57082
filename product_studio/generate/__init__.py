"""Product image generation: a class-conditional GAN trained on Fashion-MNIST or your own catalogue.

    from product_studio.generate import load_generator, generate_images, make_grid
    gan = load_generator()                               # the shipped Fashion-MNIST model
    images = generate_images(gan, "sneaker", n=16, seed=0)

``training`` trains (``train_gan``), ``augment`` holds DiffAugment, ``sample`` generates and
``evaluate`` measures (FID on the project's own classifier features, class consistency, CAS).
Importing this package is cheap: torch loads with the submodules.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "GANRecipe": "training",
    "train_gan": "training",
    "load_generator": "sample",
    "generate_images": "sample",
    "interpolate": "sample",
    "make_grid": "sample",
    "resolve_category": "sample",
    "evaluate_gan": "evaluate",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(name)


__all__ = ["GANRecipe", "evaluate_gan", "generate_images", "interpolate", "load_generator", "make_grid", "resolve_category", "train_gan"]
