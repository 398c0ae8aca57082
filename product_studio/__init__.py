"""Product Studio: marketplace-ready product photos, offline, on a CPU.

    >>> from product_studio import load_image, run_recipe, save_image
    >>> from product_studio.marketplaces import load_preset
    >>> item = load_image("photo.jpg")
    >>> ready = run_recipe(item, load_preset("amazon-main").recipe())
    >>> save_image(ready, "ready.jpg")
"""

from .version import __version__  # noqa: E402

from .errors import StudioError  # noqa: E402
from .imageio import encode_image, load_image, save_image  # noqa: E402
from .item import ImageItem  # noqa: E402
from .recipe import Recipe, Step, run_recipe  # noqa: E402

__all__ = [
    "ImageItem",
    "Recipe",
    "Step",
    "StudioError",
    "__version__",
    "encode_image",
    "load_image",
    "run_recipe",
    "save_image",
]
