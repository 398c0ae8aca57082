"""Hostile input: formats we must not decode, decompression bombs of every accepted format, polyglots,
bounded fuzzing (hypothesis) of load_image and the recipe parser.

The builders here (seeds, bombs, unsupported files, mutations) are shared with ``benchmarks/fuzz.py``,
which runs the same targets for longer.
"""

from __future__ import annotations

import functools
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from product_studio.errors import (
    CorruptImageError,
    ImageTooLargeError,
    RecipeError,
    StudioError,
    UnsupportedFormatError,
)
from product_studio.imageio import image_size, load_image, sniff_format
from product_studio.recipe import Recipe

FUZZ_MAX_PIXELS = 4_000_000  # a mutated header may claim any size; the fuzz decodes at most this
HANG_S = 5.0
FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------------------------
# real, small files of every accepted format (the fuzz seeds)

def _pixels(width: int = 48, height: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, (x ^ y) & 255], -1).astype(np.uint8)


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def seed_files() -> dict[str, bytes]:
    rgb = Image.fromarray(_pixels())
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray((_pixels()[..., 0] // 2 + 100).astype(np.uint8)))
    frames = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return {
        "jpeg": _save(rgb, "JPEG", quality=85),
        "jpeg-progressive": _save(rgb, "JPEG", quality=80, progressive=True),
        "png": _save(rgba, "PNG"),
        "png-palette": _save(rgb.convert("P"), "PNG"),
        "webp": _save(rgb, "WEBP", quality=80),
        "webp-lossless-alpha": _save(rgba, "WEBP", lossless=True),
        "tiff": _save(rgb, "TIFF", compression="tiff_lzw"),
        "tiff-pages": _save(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "gif": _save(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "bmp": _save(rgb, "BMP"),
    }


# --------------------------------------------------------------------------------------------
# formats nothing may decode: real minimal files of each

def _psd() -> bytes:
    width = height = 2
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    return header + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + bytes(3 * width * height)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../evil.txt", "x")
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def unsupported_files() -> dict[str, bytes]:
    rgb = Image.fromarray(_pixels(16, 16))
    files = {
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><script>alert(1)</script>'
               b'<rect width="10" height="10"/></svg>',
        "svgz": __import__("gzip").compress(b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
        "pdf": _save(rgb, "PDF"),
        "eps": _save(rgb, "EPS"),
        "psd": _psd(),
        "ico": _save(rgb, "ICO"),
        "ppm": _save(rgb, "PPM"),
        "pcx": _save(rgb, "PCX"),
        "tga": _save(rgb, "TGA"),
        "sgi": _save(rgb, "SGI"),
        "im": _save(rgb, "IM"),
        "dds": _save(rgb, "DDS"),
        "xbm": _save(rgb.convert("1"), "XBM"),
        "jpeg2000": _save(rgb, "JPEG2000"),
        "html": b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>",
        "zip": _zip(),
        "elf": b"\x7fELF\x02\x01\x01" + bytes(57),
        "text": b"just some text, named photo.jpg",
    }
    return files


# Those Pillow itself would open (so refusing them is our doing, not Pillow's inability).
PILLOW_OPENS = ("eps", "psd", "ico", "ppm", "pcx", "tga", "sgi", "im", "dds", "xbm", "jpeg2000")


@pytest.mark.parametrize("kind", sorted(unsupported_files()))
def test_unsupported_formats_are_refused_by_content(kind, tmp_path):
    data = unsupported_files()[kind]
    if kind in PILLOW_OPENS:
        with Image.open(io.BytesIO(data)) as im:  # a real file of that format
            assert im.size[0] > 0
    assert sniff_format(data[:32]) is None
    path = tmp_path / "photo.jpg"  # the name lies; the content decides
    path.write_bytes(data)
    with pytest.raises(UnsupportedFormatError, match="not a supported image"):
        load_image(path)
    with pytest.raises(UnsupportedFormatError):
        image_size(data)


# --------------------------------------------------------------------------------------------
# decompression bombs, each format

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int, height: int, *, real: bool = True) -> bytes:
    """A grey PNG of width x height zeros: a few hundred KB that decode to width*height bytes."""
    comp = zlib.compressobj(9)
    row = bytes(1 + width)
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush() if real else zlib.compress(row)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    small = _save(Image.fromarray(_pixels(8, 8)), "PNG")
    return small[:33] + _chunk(kind, payload) + small[33:]


def png_huge_iccp() -> bytes:
    return png_with_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(bytes(50_000_000), 9))


def png_huge_ztxt() -> bytes:
    return png_with_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(bytes(50_000_000), 9))


def png_many_ztxt() -> bytes:
    """70 zTXt chunks of 1 MB each once inflated: past Pillow's MAX_TEXT_MEMORY (64 MB)."""
    small = _save(Image.fromarray(_pixels(8, 8)), "PNG")
    one = _chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(bytes(1_000_000), 9))
    return small[:33] + one * 70 + small[33:]


def apng_claiming_frames(frames: int) -> bytes:
    small = _save(Image.fromarray(_pixels(8, 8)), "PNG")
    return small[:33] + _chunk(b"acTL", struct.pack(">II", frames, 0)) + small[33:]


def _gif_frame(x: int = 0, y: int = 0) -> bytes:
    # image descriptor 1x1, LZW min code size 2, one sub-block: clear, 0, end-of-information
    return b"\x2c" + struct.pack("<HHHHB", x, y, 1, 1, 0) + b"\x02\x02\x44\x01\x00"


def gif_bomb(width: int, height: int, frames: int = 1) -> bytes:
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    return header + _gif_frame() * frames + b"\x3b"


def _tiff(entries: list[tuple[int, int, int, int]], next_ifd: int = 0, extra: bytes = b"") -> bytes:
    """Little-endian TIFF: header, one IFD at offset 8, then ``extra`` (strip data) right after."""
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in sorted(entries):
        ifd += struct.pack("<HHII", tag, typ, count, value)
    ifd += struct.pack("<I", next_ifd)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + extra


def tiff_bomb(width: int, height: int) -> bytes:
    n = 9
    data_at = 8 + 2 + 12 * n + 4
    return _tiff([(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
                  (273, 4, 1, data_at), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 64)], extra=bytes(64))


def tiff_huge_strip_count() -> bytes:
    """A 16x16 TIFF whose StripOffsets and StripByteCounts claim 2^28 entries (1 GiB of tag data)."""
    return _tiff([(256, 4, 1, 16), (257, 4, 1, 16), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
                  (273, 4, 1 << 28, 200), (277, 3, 1, 1), (278, 4, 1, 1), (279, 4, 1 << 28, 200)], extra=bytes(256))


def tiff_ifd_loop() -> bytes:
    """A TIFF whose IFD points to itself as the next page: an endless page list."""
    n = 9
    return _tiff([(256, 4, 1, 4), (257, 4, 1, 4), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
                  (273, 4, 1, 8 + 2 + 12 * n + 4), (277, 3, 1, 1), (278, 4, 1, 4), (279, 4, 1, 16)],
                 next_ifd=8, extra=bytes(16))


def tiff_many_pages(pages: int) -> bytes:
    """``pages`` 1x1 grey pages, their IFDs chained, sharing one strip byte."""
    out = b"II*\x00" + struct.pack("<I", 10) + b"\x80\x00"  # first IFD at 10; the strip byte at 8
    size = 2 + 12 * 9 + 4
    for i in range(pages):
        entries = [(256, 4, 1, 1), (257, 4, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
                   (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, 1), (279, 4, 1, 1)]
        out += struct.pack("<H", 9) + b"".join(struct.pack("<HHII", *e) for e in entries)
        out += struct.pack("<I", 10 + (i + 1) * size if i + 1 < pages else 0)
    return out


def webp_canvas_bomb() -> bytes:
    """An animated WebP whose VP8X canvas is 16384x16384 (268 MP) around 2x2 frames."""
    frames = [Image.new("RGB", (2, 2), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = bytearray(_save(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True))
    assert data[12:16] == b"VP8X"
    data[24:27] = (16383).to_bytes(3, "little")
    data[27:30] = (16383).to_bytes(3, "little")
    return bytes(data)


def webp_many_frames(frames: int) -> bytes:
    images = [Image.new("RGB", (1, 1), (i % 256, 0, 0)) for i in range(frames)]
    return _save(images[0], "WEBP", save_all=True, append_images=images[1:], lossless=True, duration=1)


def jpeg_sof(width: int, height: int) -> bytes:
    data = bytearray(_save(Image.fromarray(_pixels(16, 16)), "JPEG"))
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def bmp_dims(width: int, height: int) -> bytes:
    data = bytearray(_save(Image.fromarray(_pixels(4, 4)), "BMP"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


@functools.lru_cache(maxsize=1)
def bombs() -> dict[str, tuple[bytes, type[StudioError] | None]]:
    """name -> (file bytes, the error load_image must raise; None: harmless, decoded at its true size)."""
    return {
        "png 150 MP of zeros": (png_bomb(12_248, 12_248), ImageTooLargeError),
        "png header 65535x65535": (png_bomb(65_535, 65_535, real=False), ImageTooLargeError),
        "png huge iCCP (50 MB inflated)": (png_huge_iccp(), CorruptImageError),
        "png huge zTXt (50 MB inflated)": (png_huge_ztxt(), CorruptImageError),
        "png 70 x 1 MB zTXt": (png_many_ztxt(), CorruptImageError),
        "apng claiming 2^31 frames": (apng_claiming_frames(2**31 - 1), ImageTooLargeError),
        "gif canvas 65535x65535, 1x1 frame": (gif_bomb(65_535, 65_535), ImageTooLargeError),
        "gif 50000 frames": (gif_bomb(1, 1, frames=50_000), ImageTooLargeError),
        "tiff header 100000x100000": (tiff_bomb(100_000, 100_000), ImageTooLargeError),
        "tiff 2^28 strips": (tiff_huge_strip_count(), CorruptImageError),
        "tiff IFD loop": (tiff_ifd_loop(), None),  # Pillow sees the loop: one page, decoded at once
        "tiff 1500 pages": (tiff_many_pages(1500), ImageTooLargeError),
        "webp canvas 16384x16384, 2x2 frames": (webp_canvas_bomb(), ImageTooLargeError),
        "webp 1500 frames": (webp_many_frames(1500), ImageTooLargeError),
        "jpeg SOF 65500x65500": (jpeg_sof(65_500, 65_500), ImageTooLargeError),
        "bmp 100000x100000": (bmp_dims(100_000, 100_000), ImageTooLargeError),
        "bmp negative height": (bmp_dims(100_000, -100_000), ImageTooLargeError),
    }


# The bombs run in a child process under an address-space cap, so "bounded memory" is checked by the
# kernel, not assumed; the child also tries OpenCV's decoder on the PNG bomb.
_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import product_studio  # sets OPENCV_IO_MAX_IMAGE_PIXELS before cv2 is imported
    from product_studio.imageio import load_image
    import cv2, numpy as np

    def rss_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    names = json.loads(sys.argv[2])
    vsz = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
    cap = vsz + int(sys.argv[3]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    base = rss_mb()
    out = []
    for i, name in enumerate(names):
        data = open(f"{sys.argv[1]}/{i}", "rb").read()
        start = time.perf_counter()
        try:
            load_image(data, name=name)
            outcome, message = "decoded", ""
        except Exception as exc:
            outcome, message = type(exc).__name__, str(exc)
        out.append({"name": name, "outcome": outcome, "message": message[:300],
                    "seconds": time.perf_counter() - start, "peak_rss_mb": rss_mb()})
    png = open(f"{sys.argv[1]}/0", "rb").read()
    start = time.perf_counter()
    try:
        decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
        cv_outcome = "decoded" if decoded is not None else "refused"
    except cv2.error:
        cv_outcome = "refused"
    print(json.dumps({"base_rss_mb": base, "bombs": out, "opencv": cv_outcome,
                      "opencv_seconds": time.perf_counter() - start, "peak_rss_mb": rss_mb()}))
""")


def run_bombs_in_child(folder: Path, memory_headroom_mb: int = 1024) -> dict:
    table = bombs()
    folder.mkdir(parents=True, exist_ok=True)
    for i, (data, _) in enumerate(table.values()):
        (folder / str(i)).write_bytes(data)
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_IO_MAX_IMAGE_PIXELS"}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(folder), json.dumps(list(table)), str(memory_headroom_mb)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_bomb_is_refused_fast_with_bounded_memory(tmp_path):
    report = run_bombs_in_child(tmp_path / "bombs")
    expected = {name: err.__name__ if err else "decoded" for name, (_, err) in bombs().items()}
    for row in report["bombs"]:
        assert row["outcome"] == expected[row["name"]], row
        assert row["seconds"] < 2.0, row
    messages = {row["name"]: row["message"] for row in report["bombs"]}
    assert "claims 4290.2 MP, over the limit of 100 MP (checked before decoding)" in messages["jpeg SOF 65500x65500"]
    assert "frames" in messages["gif 50000 frames"] and "frames" in messages["tiff 1500 pages"]
    # 150 MP of pixels would be 150 MB grey, 450 MB as RGB: nothing near that was ever allocated.
    assert report["peak_rss_mb"] - report["base_rss_mb"] < 150, report
    assert report["opencv"] == "refused" and report["opencv_seconds"] < 2.0, report


def test_opencv_limit_is_set_at_package_import():
    code = "import product_studio, os, cv2; print(os.environ['OPENCV_IO_MAX_IMAGE_PIXELS'])"
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_IO_MAX_IMAGE_PIXELS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, check=True)
    assert out.stdout.strip() == "100000000"


def test_pillow_bomb_warning_is_an_error_above_our_limit():
    # A header just over max_pixels but under Pillow's hard error (2 x MAX_IMAGE_PIXELS): refused.
    data = png_bomb(10_100, 10_000, real=False)
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        load_image(data)
    assert Image.MAX_IMAGE_PIXELS == 100_000_000
    # A caller may allow more than the default: then our own check decides, not Pillow's warning.
    no_pixels = data[: data.index(b"IDAT") - 4] + _chunk(b"IEND", b"")
    with pytest.raises(CorruptImageError):  # past the size checks; there is no pixel data
        load_image(no_pixels, max_pixels=150_000_000)


@pytest.mark.parametrize("fmt", ["gif", "tiff", "webp", "png"])
def test_frame_limit_for_each_animated_format(fmt):
    frame = Image.new("RGB", (4, 4), (200, 10, 10))
    others = [Image.new("RGB", (4, 4), (i * 20, 0, 0)) for i in range(1, 12)]
    pil_format = {"gif": "GIF", "tiff": "TIFF", "webp": "WEBP", "png": "PNG"}[fmt]
    data = _save(frame, pil_format, save_all=True, append_images=others)
    assert load_image(data, max_frames=12).metadata["frames"] == 12
    with pytest.raises(ImageTooLargeError, match="more than 5 frames"):
        load_image(data, max_frames=5)


# --------------------------------------------------------------------------------------------
# polyglots: decoded as images, nothing else

@functools.lru_cache(maxsize=1)
def polyglots() -> dict[str, bytes]:
    jpeg = _save(Image.fromarray(_pixels()), "JPEG", quality=90)
    png = _save(Image.fromarray(_pixels()), "PNG")
    html = b"<html><body><script>alert(document.domain)</script></body></html>"
    with_comment = jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(html) + 2) + html + jpeg[2:]
    return {
        "jpeg+zip": jpeg + _zip(),
        "jpeg with html comment": with_comment,
        "png+trailing script": png + b"<script>alert(1)</script>",
        "png+zip": png + _zip(),
    }


@pytest.mark.parametrize("kind", sorted(polyglots()))
def test_polyglots_decode_as_images_only(kind):
    data = polyglots()[kind]
    item = load_image(data)
    assert item.metadata["source_format"] == ("jpeg" if kind.startswith("jpeg") else "png")
    assert item.pixels.shape == (32, 48, 3)
    expected = _pixels()
    tolerance = 12 if kind.startswith("jpeg") else 0
    assert np.abs(item.pixels.astype(int) - expected).mean() <= tolerance


# --------------------------------------------------------------------------------------------
# fuzzing: mutated real files -> an image or a StudioError, never anything else, never slow

SEEDS = seed_files()


def mutate(data: bytes, kind: str, a: int, b: int, c: int) -> bytes:
    """One mutation of ``data``: kind in bitflip | truncate | header | insert | delete | splice."""
    buf = bytearray(data)
    n = len(buf)
    if kind == "bitflip":
        for k in range(1 + c % 8):
            i = (a + k * 7919 * (b + 1)) % n
            buf[i] ^= 1 << ((b + k) % 8)
    elif kind == "truncate":
        del buf[max(1, a % n):]
    elif kind == "header":  # field changes in the first 64 bytes: sizes, counts, lengths, flags
        i = a % min(n, 64)
        width = 1 + b % 4
        value = [0, 0xFF, 0x7F, 0x80, c & 0xFF][c % 5]
        buf[i:i + width] = bytes([value]) * width
    elif kind == "insert":
        i = a % n
        buf[i:i] = bytes([(b + k) & 0xFF for k in range(1 + c % 64)])
    elif kind == "delete":
        i = a % n
        del buf[i:i + 1 + c % 64]
    else:  # splice the tail of another seed in
        other = list(SEEDS.values())[b % len(SEEDS)]
        buf = buf[: a % n] + bytearray(other[c % len(other):])
    return bytes(buf)


MUTATIONS = ("bitflip", "truncate", "header", "insert", "delete", "splice")


def check_load(data: bytes) -> str:
    """load_image on fuzzed bytes: 'ok' or the StudioError's name; anything else propagates."""
    start = time.perf_counter()
    try:
        item = load_image(data, name="fuzz", max_pixels=FUZZ_MAX_PIXELS)
    except StudioError as exc:
        outcome = type(exc).__name__
    else:
        assert item.pixels.dtype == np.uint8 and item.pixels.ndim == 3 and item.pixels.shape[2] == 3
        assert item.alpha is None or item.alpha.shape == item.pixels.shape[:2]
        outcome = "ok"
    assert time.perf_counter() - start < HANG_S
    return outcome


@FUZZ
@given(seed=st.sampled_from(sorted(SEEDS)), kind=st.sampled_from(MUTATIONS),
       a=st.integers(0, 2**20), b=st.integers(0, 255), c=st.integers(0, 2**16))
def test_fuzz_load_image_mutated_real_files(seed, kind, a, b, c):
    check_load(mutate(SEEDS[seed], kind, a, b, c))


@FUZZ
@given(st.binary(min_size=0, max_size=512))
def test_fuzz_load_image_random_bytes_behind_real_magic(tail):
    for magic in (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"II*\x00", b"GIF89a", b"BM"):
        check_load(magic + tail)


# --------------------------------------------------------------------------------------------
# fuzzing the recipe parser: random structures and text

_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=20)
_json = st.recursive(_scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
                     max_leaves=25)


def _op_names() -> list[str]:
    from product_studio.ops import list_ops

    return sorted(spec.name for spec in list_ops())


_step = st.fixed_dictionaries({"op": st.sampled_from(_op_names()) | st.text(max_size=12)},
                              optional={"size": _json, "fill": _json, "method": _json, "mask_path": _json,
                                        "strength": _json, "color": _json})
_recipe_like = st.fixed_dictionaries({}, optional={
    "name": _json, "preset": _json | st.sampled_from(["amazon-main", "taobao-main", "../../etc/passwd"]),
    "steps": st.lists(_step | _json, max_size=5), "output": st.fixed_dictionaries({}, optional={
        "format": _json | st.sampled_from(["jpeg", "png", "svg"]), "quality": _json, "max_bytes": _json}) | _json,
})


def check_recipe(data) -> str:
    start = time.perf_counter()
    try:
        recipe = Recipe.from_dict(data, source="fuzz")
    except RecipeError:
        outcome = "RecipeError"
    else:
        assert isinstance(recipe.hash, str) and len(recipe.hash) == 16
        Recipe.from_dict(recipe.resolved())  # what we write we can read back
        outcome = "ok"
    assert time.perf_counter() - start < HANG_S
    return outcome


@FUZZ
@given(_recipe_like | _json)
def test_fuzz_recipe_from_dict(data):
    check_recipe(data)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_fuzz_recipe_from_yaml(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("y") / "r.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    start = time.perf_counter()
    try:
        Recipe.from_yaml(path)
    except RecipeError:
        pass
    assert time.perf_counter() - start < HANG_S


def test_yaml_alias_bomb_recipe_is_refused_fast(tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    for tail in ("steps:\n  - op: fit_to_canvas\n    size: *a8\n", "name: *a8\n", "steps: *a8\n"):
        path = tmp_path / "laughs.yaml"
        path.write_text("\n".join(lines) + "\n" + tail)
        start = time.perf_counter()
        with pytest.raises(RecipeError):
            Recipe.from_yaml(path)
        assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------------------------
# the local engine's workers: a per-file timeout and a memory cap

def _slow_inputs(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = folder / f"noisy-{i}.png"
        Image.fromarray(rng.integers(0, 255, (600, 600, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("workers", [1, 2])
def test_local_engine_per_file_timeout(tmp_path, monkeypatch, workers):
    from product_studio.batch import process_batch
    from product_studio.inputs import expand_inputs

    _slow_inputs(tmp_path / "in", 2)
    recipe = Recipe.from_dict({"steps": [{"op": "denoise", "strength": 1.0}]})  # ~0.5 s each on 600x600: over the 0.2 s limit
    monkeypatch.setenv("PRODUCT_STUDIO_FILE_TIMEOUT_S", "0.2")
    start = time.perf_counter()
    report = process_batch(expand_inputs([str(tmp_path / "in")]), recipe, tmp_path / "out", workers=workers, thumbnails=False)
    assert time.perf_counter() - start < 20
    assert [r.status for r in report.results] == ["failed", "failed"]
    assert {r.error_type for r in report.results} == {"FileTimeout"}
    assert "per-file limit of 0.2 s" in report.results[0].error
    assert not list((tmp_path / "out").rglob("*.png"))


def test_worker_memory_cap_turns_a_huge_allocation_into_memory_error():
    code = textwrap.dedent("""
        import os, resource
        import numpy as np
        from product_studio.batch.worker import limit_worker_process
        vsz = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
        os.environ["PRODUCT_STUDIO_WORKER_MEMORY_MB"] = str(vsz // 2**20 + 300)
        limit_worker_process()
        small = np.ones(100 * 2**20, np.uint8)  # 100 MB: fine
        try:
            np.ones(2 * 2**30, np.uint8)  # 2 GB: over the cap
            print("allocated")
        except MemoryError:
            print("MemoryError")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "MemoryError", out.stderr[-2000:]
