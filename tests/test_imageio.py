"""load_image / save_image on real files written to tmp_path: formats, modes, orientation, colour
profiles, limits, metadata stripping, byte caps, atomic and safe writes."""

from __future__ import annotations

import io
import os
import stat
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms

from product_studio.errors import (
    CorruptImageError,
    EmptyFileError,
    ImageTooLargeError,
    OutputError,
    StudioError,
    UnsupportedFormatError,
    UsageError,
)
from product_studio.imageio import (
    HEIF_AVAILABLE,
    SRGB_ICC_BYTES,
    encode_image,
    load_image,
    safe_output_path,
    save_image,
    sniff_format,
    write_atomic,
)
from product_studio.item import ImageItem

# sRGB primaries adapted to D50, as ICC profiles store them.
SRGB_RED = (0.4361, 0.2225, 0.0139)
SRGB_GREEN = (0.3851, 0.7169, 0.0971)
SRGB_BLUE = (0.1431, 0.0606, 0.7141)


def assert_close(actual: np.ndarray, expected: np.ndarray, tol: float) -> None:
    diff = np.abs(actual.astype(np.int16) - np.asarray(expected).astype(np.int16))
    assert diff.mean() <= tol, f"mean abs difference {diff.mean():.2f} > {tol}"


def rgb_icc_profile(description: str, red, green, blue, *, gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 RGB display profile (matrix + gamma curves) built by hand."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(v) -> bytes:
        return b"XYZ " + b"\0" * 4 + b"".join(s15(c) for c in v)

    d50 = (0.9642, 1.0, 0.8249)
    text = description.encode("ascii") + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + struct.pack(">IIHB", 0, 0, 0, 0) + b"\0" * 67
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256))
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(d50)),
        (b"rXYZ", xyz(red)),
        (b"gXYZ", xyz(green)),
        (b"bXYZ", xyz(blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text" + b"\0" * 4 + b"none\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", offset + len(body))
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 28  # platform, flags, device maker and model, attributes, rendering intent
        + b"".join(s15(c) for c in d50)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height (1-bit grey) but whose data is a few rows of zeros."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + b"\0" * ((width + 7) // 8) for _ in range(4))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def write(path: Path, image: Image.Image, fmt: str, **options) -> Path:
    image.save(path, fmt, **options)
    return path


# --- every input format --------------------------------------------------------------------------

FORMATS = [
    ("jpeg", "photo.jpg", "JPEG", {"quality": 95}, 3.0),
    ("png", "photo.png", "PNG", {}, 0.0),
    ("webp", "photo.webp", "WEBP", {"lossless": True}, 0.0),
    ("tiff", "photo.tif", "TIFF", {}, 0.0),
    ("bmp", "photo.bmp", "BMP", {}, 0.0),
    ("gif", "photo.gif", "GIF", {}, 12.0),
    pytest.param(
        "heif", "photo.heic", "HEIF", {"quality": 95}, 6.0,
        marks=pytest.mark.skipif(not HEIF_AVAILABLE, reason="pillow-heif not installed"),
    ),
]


@pytest.mark.parametrize(("fmt", "name", "pillow", "options", "tol"), FORMATS)
def test_every_input_format_loads_as_rgb_uint8(tmp_path, photo, fmt, name, pillow, options, tol):
    path = write(tmp_path / name, Image.fromarray(photo), pillow, **options)
    item = load_image(path)
    assert item.pixels.dtype == np.uint8
    assert item.pixels.shape == (48, 64, 3)
    assert item.alpha is None
    assert item.source == str(path)
    assert item.metadata["source_format"] == fmt
    assert item.metadata["source_size"] == [64, 48]
    assert item.metadata["source_bytes"] == path.stat().st_size
    assert_close(item.pixels, photo, tol)


def test_format_is_judged_by_content_not_name(tmp_path, photo):
    path = write(tmp_path / "really_a_png.jpg", Image.fromarray(photo), "PNG")
    item = load_image(path)
    assert item.metadata["source_format"] == "png"
    assert np.array_equal(item.pixels, photo)


def test_load_from_bytes_uses_the_given_name(photo):
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "PNG")
    item = load_image(buf.getvalue(), name="upload.png")
    assert item.source == "upload.png"
    assert np.array_equal(item.pixels, photo)


def test_sniff_format_known_and_unknown():
    assert sniff_format(b"\x89PNG\r\n\x1a\n" + b"\0" * 8) == "png"
    assert sniff_format(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff_format(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"
    assert sniff_format(b"hello, world") is None
    assert sniff_format(b"") is None


def test_animated_gif_loads_first_frame_and_counts_frames(tmp_path):
    frames = [Image.new("RGB", (20, 10), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:])
    item = load_image(path)
    assert item.metadata["frames"] == 2
    assert tuple(item.pixels[5, 10]) == (255, 0, 0)


def test_jpeg_min_side_decodes_at_reduced_scale(tmp_path):
    path = write(tmp_path / "big.jpg", Image.new("RGB", (1600, 1200), (90, 120, 150)), "JPEG")
    item = load_image(path, min_side=300)
    assert item.pixels.shape == (300, 400, 3)
    assert item.metadata["source_size"] == [1600, 1200]
    assert load_image(path).pixels.shape == (1200, 1600, 3)


# --- orientation ---------------------------------------------------------------------------------


def test_exif_orientation_6_is_applied(tmp_path):
    # 40 wide, 20 high, red block top-left. Orientation 6 = "rotate 90 degrees clockwise to view".
    array = np.full((20, 40, 3), 128, np.uint8)
    array[:8, :8] = (255, 0, 0)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    path = write(tmp_path / "rotated.jpg", Image.fromarray(array), "JPEG", quality=95, exif=exif.tobytes())

    item = load_image(path)
    assert item.pixels.shape == (40, 20, 3)  # transposed
    assert item.metadata["source_size"] == [40, 20]
    # Clockwise rotation moves the top-left corner to the top-right.
    assert_close(item.pixels[1:7, 13:19], np.array([255, 0, 0]), 6.0)
    assert_close(item.pixels[1:7, 1:7], np.array([128, 128, 128]), 6.0)
    assert_close(item.pixels[33:39, 13:19], np.array([128, 128, 128]), 6.0)


def test_without_orientation_the_image_is_as_stored(tmp_path, photo):
    path = write(tmp_path / "plain.jpg", Image.fromarray(photo), "JPEG", quality=95)
    item = load_image(path)
    assert item.pixels.shape == (48, 64, 3)
    assert_close(item.pixels[1:7, 1:7], np.array([255, 0, 0]), 6.0)


# --- colour profiles -----------------------------------------------------------------------------


@pytest.mark.parametrize(("pillow", "name"), [("PNG", "wide.png"), ("JPEG", "wide.jpg"), ("TIFF", "wide.tif")])
def test_non_srgb_profile_is_converted_to_srgb(tmp_path, pillow, name):
    # A profile whose red channel is sRGB's green: converted correctly, pure red becomes green.
    profile = rgb_icc_profile("Swapped RG test", SRGB_GREEN, SRGB_RED, SRGB_BLUE)
    options = {"quality": 95} if pillow == "JPEG" else {}
    path = write(tmp_path / name, Image.new("RGB", (16, 16), (255, 0, 0)), pillow, icc_profile=profile, **options)
    item = load_image(path)
    assert item.metadata["icc"] == "converted from Swapped RG test"
    assert_close(item.pixels, np.array([0, 255, 0]), 4.0)


def test_profile_with_other_primaries_changes_the_pixels(tmp_path):
    # Same primaries as sRGB but a pure 2.2 gamma: values shift a little, and the note says so.
    profile = rgb_icc_profile("Gamma 2.2 test", SRGB_RED, SRGB_GREEN, SRGB_BLUE)
    path = write(tmp_path / "g22.png", Image.new("RGB", (8, 8), (200, 100, 50)), "PNG", icc_profile=profile)
    item = load_image(path)
    assert item.metadata["icc"].startswith("converted from Gamma 2.2 test")
    assert_close(item.pixels, np.array([200, 100, 50]), 3.0)


def test_srgb_profile_is_kept_as_is(tmp_path, photo):
    path = write(tmp_path / "srgb.png", Image.fromarray(photo), "PNG", icc_profile=SRGB_ICC_BYTES)
    item = load_image(path)
    assert item.metadata["icc"].startswith("sRGB")
    assert np.array_equal(item.pixels, photo)


def test_no_profile_is_assumed_srgb(tmp_path, photo):
    item = load_image(write(tmp_path / "plain.png", Image.fromarray(photo), "PNG"))
    assert item.metadata["icc"] == "none (assumed sRGB)"


def test_unreadable_profile_is_ignored(tmp_path, photo):
    path = write(tmp_path / "bad_icc.png", Image.fromarray(photo), "PNG", icc_profile=b"not a profile at all" * 10)
    item = load_image(path)
    assert item.metadata["icc"] == "unreadable profile ignored (assumed sRGB)"
    assert np.array_equal(item.pixels, photo)


# --- pixel modes ---------------------------------------------------------------------------------


def test_16_bit_grayscale_png_is_scaled_to_8_bit(tmp_path):
    ramp = np.tile(np.array([0, 257 * 64, 257 * 128, 65535], np.uint16), (4, 1))
    path = write(tmp_path / "gray16.png", Image.fromarray(ramp), "PNG")
    assert Image.open(path).mode.startswith("I;16")
    item = load_image(path)
    assert item.pixels.shape == (4, 4, 3)
    assert item.pixels[0, :, 0].tolist() == [0, 64, 128, 255]
    assert np.array_equal(item.pixels[..., 0], item.pixels[..., 2])


def test_dark_16_bit_image_stays_dark(tmp_path):
    # Values up to 255 out of 65535 are near black, not an 8-bit image in disguise.
    dark = np.full((4, 4), 200, np.uint16)
    item = load_image(write(tmp_path / "dark16.png", Image.fromarray(dark), "PNG"))
    assert item.pixels.max() <= 1


def test_palette_png_with_transparency_keeps_alpha(tmp_path):
    image = Image.new("P", (10, 10), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(0, (0, 0, 5, 10))
    path = write(tmp_path / "palette.png", image, "PNG", transparency=0)
    item = load_image(path)
    assert item.metadata["source_mode"] == "P"
    assert item.alpha is not None
    assert item.alpha[:, :5].max() == 0 and item.alpha[:, 5:].min() == 255
    assert tuple(item.pixels[5, 7]) == (255, 0, 0)


def test_palette_png_without_transparency_has_no_alpha(tmp_path):
    image = Image.new("P", (6, 6), 1)
    image.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    item = load_image(write(tmp_path / "palette.png", image, "PNG"))
    assert item.alpha is None
    assert tuple(item.pixels[3, 3]) == (0, 200, 0)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = write(tmp_path / "cmyk.jpg", Image.new("CMYK", (16, 16), (255, 0, 0, 0)), "JPEG", quality=95)
    item = load_image(path)
    assert item.metadata["source_mode"] == "CMYK"
    assert item.pixels.shape == (16, 16, 3)
    assert_close(item.pixels, np.array([0, 255, 255]), 3.0)  # pure cyan


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    item = load_image(write(tmp_path / "gray.png", Image.fromarray(gray, "L"), "PNG"))
    assert item.pixels.shape == (8, 8, 3)
    for channel in range(3):
        assert np.array_equal(item.pixels[..., channel], gray)
    assert item.alpha is None


def test_la_keeps_alpha(tmp_path):
    gray = np.full((8, 8), 90, np.uint8)
    alpha = np.zeros((8, 8), np.uint8)
    alpha[2:6, 2:6] = 255
    image = Image.merge("LA", [Image.fromarray(gray), Image.fromarray(alpha)])
    item = load_image(write(tmp_path / "la.png", image, "PNG"))
    assert np.array_equal(item.alpha, alpha)
    assert tuple(item.pixels[3, 3]) == (90, 90, 90)


def test_rgba_keeps_alpha_and_colour(tmp_path, photo):
    alpha = np.zeros(photo.shape[:2], np.uint8)
    alpha[10:40, 20:50] = 255
    alpha[10:40, 20] = 128
    path = write(tmp_path / "cutout.png", Image.fromarray(np.dstack([photo, alpha]), "RGBA"), "PNG")
    item = load_image(path)
    assert np.array_equal(item.alpha, alpha)
    assert np.array_equal(item.pixels[alpha == 255], photo[alpha == 255])


def test_fully_opaque_alpha_is_dropped(tmp_path, photo):
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    item = load_image(write(tmp_path / "opaque.png", Image.fromarray(np.dstack([photo, alpha]), "RGBA"), "PNG"))
    assert item.alpha is None


def test_rgba_webp_keeps_alpha(tmp_path, photo):
    alpha = np.zeros(photo.shape[:2], np.uint8)
    alpha[:, 32:] = 255
    image = Image.fromarray(np.dstack([photo, alpha]), "RGBA")
    item = load_image(write(tmp_path / "cutout.webp", image, "WEBP", lossless=True))
    assert np.array_equal(item.alpha, alpha)


# --- limits and errors ---------------------------------------------------------------------------


def test_zero_byte_file_is_refused(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty") as info:
        load_image(path)
    assert info.value.path == str(path)


def test_truncated_jpeg_is_corrupt(tmp_path, noisy_photo):
    buf = io.BytesIO()
    Image.fromarray(noisy_photo).save(buf, "JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(CorruptImageError, match="JPEG"):
        load_image(path)


def test_truncated_png_is_corrupt(tmp_path, noisy_photo):
    buf = io.BytesIO()
    Image.fromarray(noisy_photo).save(buf, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(CorruptImageError):
        load_image(path)


def test_text_file_named_jpg_is_unsupported(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a photo\n")
    with pytest.raises(UnsupportedFormatError, match="judged by content"):
        load_image(path)


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30000, 30000))
    assert path.stat().st_size < 200  # 900 MP claimed by a file of a few bytes
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeError):
        load_image(path)
    # Decoding 900 MP would take seconds and gigabytes; refusing from the header takes microseconds.
    assert time.perf_counter() - start < 1.0


def test_max_pixels_is_checked_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(5000, 5000))
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match=r"5000x5000 = 25.0 MP .*checked before decoding"):
        load_image(path, max_pixels=20_000_000)
    assert time.perf_counter() - start < 1.0


def test_image_under_max_pixels_is_not_refused_by_pillows_lower_limit(tmp_path):
    # Pillow warns from 89.5 MP; our default limit is 100 MP. A 95 MP header must get past the
    # size check (and then fail as corrupt, since the file is cut short).
    path = tmp_path / "95mp.png"
    path.write_bytes(png_header_only(10000, 9500)[:-20])  # cut inside the data
    with pytest.raises(CorruptImageError):
        load_image(path)


def test_max_bytes_is_checked_before_reading(tmp_path, noisy_photo):
    path = write(tmp_path / "photo.png", Image.fromarray(noisy_photo), "PNG")
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        load_image(path, max_bytes=1000)
    with pytest.raises(ImageTooLargeError):
        load_image(path.read_bytes(), name="upload.png", max_bytes=1000)
    assert load_image(path, max_bytes=path.stat().st_size).pixels.shape == (300, 400, 3)


def test_missing_file_and_folder_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(UsageError, match="folder"):
        load_image(tmp_path)


def _error_cases(tmp_path: Path, noisy_photo: np.ndarray) -> list[tuple[Path, dict]]:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "text.jpg"
    text.write_text("hello")
    truncated = tmp_path / "truncated.jpg"
    buf = io.BytesIO()
    Image.fromarray(noisy_photo).save(buf, "JPEG")
    truncated.write_bytes(buf.getvalue()[:2000])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(30000, 30000))
    big = tmp_path / "big.png"
    big.write_bytes(png_header_only(3000, 3000))
    heavy = tmp_path / "heavy.jpg"
    heavy.write_bytes(buf.getvalue())
    return [
        (empty, {}),
        (text, {}),
        (truncated, {}),
        (bomb, {}),
        (big, {"max_pixels": 1_000_000}),
        (heavy, {"max_bytes": 100}),
        (tmp_path / "missing.jpg", {}),
    ]


def test_every_error_message_names_the_file(tmp_path, noisy_photo):
    for path, options in _error_cases(tmp_path, noisy_photo):
        with pytest.raises(StudioError) as info:
            load_image(path, **options)
        assert str(path) in str(info.value), f"{type(info.value).__name__} does not name {path}: {info.value}"
        assert info.value.path == str(path)


# --- saving --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fmt", "tol"), [("out.jpg", "jpeg", 3.0), ("out.png", "png", 0.0), ("out.webp", "webp", 4.0)])
def test_save_each_output_format(tmp_path, photo, name, fmt, tol):
    saved = save_image(photo, tmp_path / name)
    assert saved.format == fmt
    assert (saved.width, saved.height) == (64, 48)
    assert saved.bytes == (tmp_path / name).stat().st_size
    item = load_image(tmp_path / name)
    assert item.metadata["source_format"] == fmt
    assert_close(item.pixels, photo, tol)


def test_format_argument_overrides_the_extension(tmp_path, photo):
    saved = save_image(photo, tmp_path / "out.img", format="png")
    assert saved.format == "png"
    assert sniff_format((tmp_path / "out.img").read_bytes()[:16]) == "png"


def test_unknown_output_format_is_a_usage_error(tmp_path, photo):
    with pytest.raises(UsageError, match="cannot write format 'gif'"):
        save_image(photo, tmp_path / "out.gif", format="gif")
    assert not (tmp_path / "out.gif").exists()


def _jpeg_with_gps(path: Path, array: np.ndarray) -> Path:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 12"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    Image.fromarray(array).save(path, "JPEG", exif=exif, quality=95)
    with Image.open(path) as check:  # the input really carries GPS
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    return path


@pytest.mark.parametrize("name", ["clean.jpg", "clean.png", "clean.webp"])
def test_exif_and_gps_are_stripped_and_srgb_is_embedded(tmp_path, photo, name):
    source = _jpeg_with_gps(tmp_path / "with_gps.jpg", photo)
    out = tmp_path / "out" / name
    save_image(load_image(source), out)
    data = out.read_bytes()
    assert b"Exif" not in data and b"PhoneMaker" not in data
    with Image.open(out) as result:
        assert len(result.getexif()) == 0
        assert "exif" not in result.info
        icc = result.info.get("icc_profile")
    assert icc == SRGB_ICC_BYTES
    assert "sRGB" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_quality_is_the_highest_that_meets_the_byte_cap(noisy_photo, fmt):
    full, _ = encode_image(noisy_photo, format=fmt, quality=95)
    cap = len(full) // 2
    data, quality = encode_image(noisy_photo, format=fmt, max_bytes=cap)
    assert len(data) <= cap
    assert 40 <= quality < 95
    assert data == encode_image(noisy_photo, format=fmt, quality=quality)[0]
    one_step_up, _ = encode_image(noisy_photo, format=fmt, quality=quality + 1)
    assert len(one_step_up) > cap


def test_byte_cap_met_by_save_image_on_disk(tmp_path, noisy_photo):
    cap = 40_000
    saved = save_image(noisy_photo, tmp_path / "capped.jpg", max_bytes=cap)
    assert saved.bytes == (tmp_path / "capped.jpg").stat().st_size <= cap
    assert saved.quality is not None and saved.quality < 95


def test_generous_cap_keeps_top_quality(noisy_photo):
    data, quality = encode_image(noisy_photo, format="jpeg", max_bytes=10_000_000)
    assert quality == 95


def test_impossible_byte_cap_is_an_output_error(noisy_photo):
    with pytest.raises(OutputError, match="quality 40"):
        encode_image(noisy_photo, format="jpeg", max_bytes=500)
    with pytest.raises(OutputError, match="PNG"):
        encode_image(noisy_photo, format="png", max_bytes=500)


def test_alpha_to_jpeg_is_composited_on_white(tmp_path):
    pixels = np.zeros((32, 32, 3), np.uint8)  # black product
    alpha = np.zeros((32, 32), np.uint8)
    alpha[:, 16:] = 255  # left half transparent
    item = ImageItem(pixels=pixels, alpha=alpha)
    save_image(item, tmp_path / "flat.jpg")
    back = load_image(tmp_path / "flat.jpg")
    assert back.alpha is None
    assert back.pixels[:, :12].min() >= 245  # white where transparent, not black
    assert back.pixels[:, 20:].max() <= 10


def test_alpha_kept_in_png_and_dropped_on_request(tmp_path, photo):
    alpha = np.zeros(photo.shape[:2], np.uint8)
    alpha[8:40, 8:56] = 255
    item = ImageItem(pixels=photo, alpha=alpha)
    save_image(item, tmp_path / "cutout.png")
    assert np.array_equal(load_image(tmp_path / "cutout.png").alpha, alpha)
    data, _ = encode_image(item, format="png", keep_alpha=False)
    assert load_image(data).alpha is None


def test_save_leaves_no_part_file(tmp_path, photo):
    save_image(photo, tmp_path / "a.jpg")
    save_image(photo, tmp_path / "a.jpg", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]


def test_failed_save_keeps_the_existing_file(tmp_path, noisy_photo):
    target = tmp_path / "existing.png"
    target.write_bytes(b"old content")
    with pytest.raises(OutputError):
        save_image(noisy_photo, target, max_bytes=500, overwrite=True)
    assert target.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.png"]


def test_failed_atomic_write_removes_its_temporary_file(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # os.replace cannot put a file over a folder
    (target / "keep.txt").write_text("x")
    with pytest.raises(OSError):
        write_atomic(target, b"new data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert (target / "keep.txt").read_text() == "x"


def test_refuses_to_overwrite_an_existing_file(tmp_path, photo):
    target = tmp_path / "out.jpg"
    target.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="exists") as info:
        save_image(photo, target)
    assert info.value.path == str(target)
    assert target.read_bytes() == b"keep me"
    save_image(photo, target, overwrite=True)
    assert load_image(target).pixels.shape == (48, 64, 3)


def test_refuses_to_overwrite_a_protected_input(tmp_path, photo):
    source = write(tmp_path / "in.png", Image.fromarray(photo), "PNG")
    before = source.read_bytes()
    other_spelling = tmp_path / "sub" / ".." / "in.png"
    (tmp_path / "sub").mkdir()
    with pytest.raises(OutputError, match="overwrite its input"):
        save_image(photo, other_spelling, format="png", protect=(source,))
    assert source.read_bytes() == before


def test_safe_output_path_keeps_names_inside(tmp_path):
    out = tmp_path / "out"
    assert safe_output_path(out, "sub/shoe.jpg") == (out / "sub" / "shoe.jpg").resolve()
    for bad in ("../evil.jpg", "sub/../../evil.jpg", str(tmp_path / "abs.jpg"), "/etc/passwd"):
        with pytest.raises(OutputError, match="would leave the output folder"):
            safe_output_path(out, bad)


def test_safe_output_path_refuses_a_link_that_leads_outside(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "link").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputError):
        safe_output_path(out, "link/evil.jpg")


def test_jpeg_of_pure_noise_encodes_at_high_quality():
    # Over 1 byte per pixel at quality >= 90 (4:4:4): more than Pillow's optimize buffer holds.
    noise = np.random.default_rng(1).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    for quality in (90, 94, 95):
        data, used = encode_image(noise, format="jpeg", quality=quality)
        assert used == quality
        assert load_image(data).pixels.shape == (300, 400, 3)


def test_saved_file_gets_the_usual_permissions(tmp_path, photo):
    # A temporary file starts private (0600); the finished output must be as readable as any file.
    umask = os.umask(0o022)
    os.umask(umask)
    saved = save_image(photo, tmp_path / "shared.jpg")
    assert stat.S_IMODE(saved.path.stat().st_mode) == 0o666 & ~umask


def test_the_same_pixels_give_the_same_bytes_on_another_run(tmp_path):
    """The embedded sRGB profile is built at import; its header must not carry the clock's time."""
    import subprocess
    import sys

    script = ("import sys, numpy as np; from product_studio.imageio import save_image; "
              "save_image(np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3), sys.argv[1])")
    outputs = []
    for name in ("first.png", "second.jpg", "third.png"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / name)], check=True, timeout=120)
        outputs.append((tmp_path / name).read_bytes())
        time.sleep(1.1)  # the profile's header counts seconds
    assert outputs[0] == outputs[2]
    with Image.open(tmp_path / "second.jpg") as jpeg:
        assert jpeg.info["icc_profile"] == SRGB_ICC_BYTES
