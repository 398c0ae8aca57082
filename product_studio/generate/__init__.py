"""Product image generation: a class-conditional GAN trained on Fashion-MNIST or your own catalogue.

    from product_studio.generate import load_generator, generate_images, make_grid
    gan = load_generator()                               # the shipped Fashion-MNIST model
    images = generate_images(gan, "sneaker", n=16, seed=0)

``augment`` holds DiffAugment and ``sample`` generates. Training (``train.gan.train_gan``) and the
measures (``train.gan_evaluation.evaluate_gan``: FID on the project's own classifier features, class
consistency, CAS) live in ``product_studio.train``. Importing this package is cheap: torch loads with
the submodules.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "load_generator": "sample",
    "generate_images": "sample",
    "interpolate": "sample",
    "make_grid": "sample",
    "resolve_category": "sample",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(name)


__all__ = ["generate_images", "interpolate", "load_generator", "make_grid", "resolve_category"]
