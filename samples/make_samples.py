"""Rebuild the bundled sample photos from offline sources, byte for byte.

Sources (see SOURCES.md for authors and licences):
  - scikit-image's bundled data (a dev dependency of this project),
  - Debian's plasma-workspace-wallpapers (photographs under /usr/share/wallpapers),
  - Debian's openclipart-png (public-domain clip art under /usr/share/openclipart/png).

    apt-get install plasma-workspace-wallpapers openclipart-png
    .venv/bin/python samples/make_samples.py            # writes next to this file
    .venv/bin/python samples/make_samples.py -o /tmp/x  # or elsewhere

Every step is a fixed crop, a fixed resize or a fixed composite, so a rebuild with the pinned
Pillow gives the same files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

WALLPAPERS = Path("/usr/share/wallpapers")
CLIPART = Path("/usr/share/openclipart/png")
JPEG_QUALITY = 90


def skimage_photo(name: str) -> Image.Image:
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)(), "RGB")


def wallpaper(name: str, size: str = "2560x1600") -> Image.Image:
    path = WALLPAPERS / name / "contents" / "images" / f"{size}.jpg"
    if not path.exists():
        raise SystemExit(f"{path} is missing: apt-get install plasma-workspace-wallpapers")
    return Image.open(path).convert("RGB")


def clipart(relative: str) -> Image.Image:
    path = CLIPART / relative
    if not path.exists():
        raise SystemExit(f"{path} is missing: apt-get install openclipart-png")
    image = Image.open(path).convert("RGBA")
    return image.crop(image.getchannel("A").getbbox())


def boot_on_deck() -> Image.Image:
    """Clip-art hiking boot standing on a photographed wooden deck, with a soft contact shadow."""
    background = wallpaper("BytheWater").resize((1600, 1000), Image.Resampling.LANCZOS)
    boot = clipart("recreation/holiday/hiking_boot_jarno_vasama_.png")
    boot = boot.resize((boot.width * 13 // 10, boot.height * 13 // 10), Image.Resampling.LANCZOS)
    x, y = 820, 1000 - boot.height - 90
    shadow_alpha = np.zeros((background.height, background.width), np.uint8)
    boot_alpha = np.asarray(boot.getchannel("A"))
    sx, sy = x + 18, y + 14
    shadow_alpha[sy : sy + boot.height, sx : sx + boot.width] = (boot_alpha * 0.55).astype(np.uint8)
    shadow = Image.fromarray(shadow_alpha, "L").filter(ImageFilter.GaussianBlur(14))
    background.paste(Image.new("RGB", background.size, (20, 16, 12)), (0, 0), shadow)
    background.paste(boot, (x, y), boot)
    return background


def teddy_bear() -> Image.Image:
    """Clip-art teddy bear on a transparent background, with a margin."""
    bear = clipart("recreation/toys/teddybear_jarno_vasamaa_.png")
    canvas = Image.new("RGBA", (bear.width + 80, bear.height + 80), (0, 0, 0, 0))
    canvas.paste(bear, (40, 40))
    return canvas


def build() -> dict[str, Image.Image]:
    """File name -> image, in the order listed in SOURCES.md."""
    return {
        "coffee_cup.jpg": skimage_photo("coffee"),
        "rocket_launch.jpg": skimage_photo("rocket"),
        "autumn_leaf.jpg": wallpaper("FallenLeaf").crop((880, 340, 2480, 1540)),
        "colorful_cups.jpg": wallpaper("ColorfulCups").crop((1290, 220, 2490, 1420)),
        "kite_blue_sky.jpg": wallpaper("Kite").crop((1109, 112, 2309, 1012)),
        "rowing_boats.jpg": wallpaper("EveningGlow", "2560x1440").crop((780, 600, 1980, 1400)),
        "boot_on_deck.jpg": boot_on_deck(),
        "teddy_bear.png": teddy_bear(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, image in build().items():
        path = args.out / name
        if name.endswith(".png"):
            image.save(path, "PNG", optimize=True)
        else:
            image.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True)
        print(f"{path}  {image.width}x{image.height}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
