"""Safe image loading and saving.

Loading: the format is judged by magic bytes, never by the file name; size limits (bytes, then
pixels from the header) are checked before the full decode, so a decompression bomb costs a
header read. EXIF orientation is applied, ICC profiles are converted to sRGB, and every mode
(16-bit, palette, CMYK, grayscale, with or without alpha) becomes RGB uint8 plus an optional
alpha plane.

Saving: JPEG, PNG or WebP; metadata (EXIF, GPS, XMP) is dropped unless asked, the sRGB profile
is embedded; JPEG/WebP quality can be searched to meet a byte cap; the file appears under its
final name only when complete (write to a temporary file, then ``os.replace``); an existing file
or an input is never overwritten unless ``overwrite=True``.
"""

from __future__ import annotations

import os

DEFAULT_MAX_PIXELS = 100_000_000
# OpenCV reads its own decoder pixel cap once, when cv2 is first imported (default 2^30 = 1074 MP:
# it decodes a 400 MP PNG bomb). This module is imported by ``product_studio/__init__`` before anything
# that imports cv2, so every OpenCV decode in the package is capped at our limit. An operator may set a
# different value in the environment; ``OPENCV_LIMIT_APPLIED`` says whether ours came in time.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(DEFAULT_MAX_PIXELS))

import errno  # noqa: E402
import io  # noqa: E402
import re  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageCms, ImageFile, ImageOps  # noqa: E402

from .errors import (
    CorruptImageError,
    EmptyFileError,
    ImageTooLargeError,
    OutputError,
    OutputUnwritable,
    UnsupportedFormatError,
    UsageError,
)
from .item import ImageItem, check_rgb

OPENCV_LIMIT_APPLIED = "cv2" not in sys.modules or os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS") is not None
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_FRAMES = 1000  # animation frames (GIF, TIFF pages, WebP, APNG); only the first is decoded
INPUT_FORMATS = ("jpeg", "png", "webp", "tiff", "bmp", "gif", "heif")
OUTPUT_FORMATS = ("jpeg", "png", "webp")
EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}
INPUT_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif")

# Never let Pillow hand us a half-decoded image, and make its bomb check ours: Pillow warns above
# MAX_IMAGE_PIXELS and raises above twice that; load_image turns the warning into an error too.
ImageFile.LOAD_TRUNCATED_IMAGES = False
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF", "bmp": "BMP", "gif": "GIF", "heif": "HEIF"}

try:  # HEIC/HEIF where pillow-heif is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the platform
    HEIF_AVAILABLE = False

_UMASK = os.umask(0o022)  # read the process umask (only settable, so set and restore it)
os.umask(_UMASK)

_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# lcms stamps the moment it built the profile into the ICC header (bytes 24-35); a fixed date makes
# the same pixels give the same file bytes on every run and day (caches, dedupe, reproducible batches).
ICC_FIXED_DATE = (2000, 1, 1, 0, 0, 0)
_built = _SRGB_PROFILE.tobytes()
SRGB_ICC_BYTES = _built[:24] + struct.pack(">6H", *ICC_FIXED_DATE) + _built[36:]


def sniff_format(head: bytes) -> str | None:
    """The image format of a file from its first bytes, or None if it is not one we accept.

    >>> sniff_format(b"\\x89PNG\\r\\n\\x1a\\n....")
    'png'
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"BM") and len(head) >= 14:
        return "bmp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
        return "heif"
    return None


@dataclass(frozen=True)
class SavedImage:
    path: Path
    format: str
    bytes: int
    quality: int | None
    width: int
    height: int


def read_bytes(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a file's bytes, refusing directories, missing files and files over ``max_bytes``."""
    p = Path(path)
    if not p.exists():
        raise UsageError("no such file; check the path", path=str(p))
    if p.is_dir():
        raise UsageError("is a folder, not an image file", path=str(p))
    size = p.stat().st_size
    if size > max_bytes:
        raise ImageTooLargeError(
            f"file is {size:,} bytes, over the limit of {max_bytes:,}; raise max_bytes if this is intended", path=str(p)
        )
    return p.read_bytes()


def image_size(data: bytes, *, name: str | None = None) -> tuple[int, int]:
    """(width, height) from an image's header, parsed only by the decoder its magic bytes name
    (never by a Pillow plugin for another format). UnsupportedFormatError / CorruptImageError."""
    label = name or "<bytes>"
    fmt = sniff_format(data[:32])
    if fmt is None or (fmt == "heif" and not HEIF_AVAILABLE):
        raise UnsupportedFormatError(f"not a supported image (accepted: {', '.join(INPUT_FORMATS)})", path=label)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sizes only: load_image decides on bombs and keeps the others
            with Image.open(io.BytesIO(data), formats=[_pillow_name(fmt)]) as image:
                return image.size
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"decompression bomb refused: {exc}", path=label) from None
    except _DECODER_ERRORS as exc:
        raise CorruptImageError(f"damaged {fmt.upper()} header ({exc})", path=label) from None


def count_frames(image: Image.Image, cap: int) -> int:
    """Frames in an opened image, counting at most ``cap + 1`` (so a GIF of a million 1x1 frames costs
    ``cap`` header reads, not a walk through the whole file). Nothing is decoded."""
    if image.format in ("GIF",) and hasattr(image, "_seek"):
        known = getattr(image, "_n_frames", None)
        if known is not None:
            return known
        # _seek reads a frame's header and does not decode it
        return _count_by_seeking(image, cap, lambda frame: image._seek(frame, False))  # noqa: SLF001
    if image.format == "TIFF":
        return _count_by_seeking(image, cap, image.seek)  # reads the next IFD only; TIFF decodes on load()
    return int(getattr(image, "n_frames", 1))  # PNG (acTL), WebP, HEIF: a field of the header


def _count_by_seeking(image: Image.Image, cap: int, seek: Callable[[int], object]) -> int:
    """Frames counted by ``seek``ing to frame 1, 2, ... until EOFError or past ``cap``; back at frame 0 after."""
    count = 1
    try:
        while count <= cap:
            seek(count)
            count += 1
    except EOFError:
        pass
    finally:
        image.seek(0)
    return count


def load_image(
    source: str | os.PathLike | bytes,
    *,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_side: int | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> ImageItem:
    """Decode an image file (or its bytes) into an ImageItem: RGB uint8 sRGB plus optional alpha.

    min_side: when given, a JPEG may be decoded at a reduced scale (1/2, 1/4, 1/8) as long as
        both sides stay at or above ``min_side`` -- the fast path for jobs that will downscale.
    max_frames: animations (GIF, APNG, WebP) and multi-page TIFFs with more frames are refused;
        only the first frame is ever decoded.
    Raises EmptyFileError, UnsupportedFormatError, CorruptImageError, ImageTooLargeError, each
    naming the file.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "<bytes>"
        if len(data) > max_bytes:
            raise ImageTooLargeError(f"{len(data):,} bytes is over the limit of {max_bytes:,}", path=label)
    else:
        label = name or str(source)
        data = read_bytes(source, max_bytes=max_bytes)
    if not data:
        raise EmptyFileError("file is empty (0 bytes); re-export or re-download it", path=label)
    fmt = sniff_format(data[:32])
    if fmt is None:
        raise UnsupportedFormatError(
            f"not a supported image (accepted: {', '.join(INPUT_FORMATS)}; judged by content, not by name)", path=label
        )
    if fmt == "heif" and not HEIF_AVAILABLE:
        raise UnsupportedFormatError("HEIC/HEIF needs the pillow-heif package; install it or convert to JPEG", path=label)

    canvas = _webp_canvas(data) if fmt == "webp" else None
    if canvas is not None and canvas[0] * canvas[1] > max_pixels:
        # libwebp's animation decoder allocates the whole canvas when Pillow opens the file: check first.
        raise ImageTooLargeError(
            f"{canvas[0]}x{canvas[1]} = {canvas[0] * canvas[1] / 1e6:.1f} MP is over the limit of {max_pixels / 1e6:.0f} MP"
            " (checked before decoding); raise max_pixels if this is intended",
            path=label,
        )
    try:
        with warnings.catch_warnings(record=True) as noticed:
            # Pillow's other warnings (damaged EXIF: "Truncated File Read", "Corrupt EXIF data") are about
            # metadata we drop anyway: kept in the item's metadata ("decode_warnings"), never printed.
            warnings.simplefilter("always")
            # Pillow's bomb warning (above Image.MAX_IMAGE_PIXELS, our default limit) is an error here;
            # a caller who raised max_pixels above it gets our own check below, and Pillow's hard
            # error (above twice MAX_IMAGE_PIXELS) stays as a backstop.
            bomb = "error" if max_pixels <= (Image.MAX_IMAGE_PIXELS or max_pixels) else "ignore"
            warnings.simplefilter(bomb, Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[_pillow_name(fmt)])
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLargeError(
                    f"{width}x{height} = {width * height / 1e6:.1f} MP is over the limit of {max_pixels / 1e6:.0f} MP"
                    " (checked before decoding); raise max_pixels if this is intended",
                    path=label,
                )
            frames = count_frames(image, max_frames) if fmt in ("gif", "tiff", "png", "webp", "heif") else 1
            if frames > max_frames:
                raise ImageTooLargeError(
                    f"more than {max_frames:,} frames (an animation or multi-page file); only single images and "
                    "short animations are accepted -- export the frame you need",
                    path=label,
                )
            if fmt == "jpeg" and min_side:
                scale = min(width, height) // min_side
                if scale >= 2:
                    image.draft("RGB", (width // scale, height // scale))
            image.load()
            metadata = {
                "source_format": fmt,
                "source_size": [width, height],
                "source_bytes": len(data),
                "source_mode": image.mode,
            }
            if frames > 1:
                metadata["frames"] = frames
            image = ImageOps.exif_transpose(image)
            pixels, alpha, icc_note = _to_rgb(image)
    except (ImageTooLargeError, UnsupportedFormatError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(claimed.group(1)) / 1e6:.1f} MP" if claimed else "its size"
        raise ImageTooLargeError(
            f"decompression bomb refused: the header claims {size}, over the limit of {min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels) / 1e6:.0f} MP"
            " (checked before decoding); raise max_pixels if this is intended",
            path=label,
        ) from None
    except MemoryError:
        raise ImageTooLargeError("ran out of memory decoding this image; lower max_pixels or free memory", path=label) from None
    except _DECODER_ERRORS as exc:
        raise CorruptImageError(f"damaged or truncated {fmt.upper()} data ({exc}); re-export the file", path=label) from None
    metadata["icc"] = icc_note
    if noticed:
        metadata["decode_warnings"] = sorted({str(w.message).strip() for w in noticed})
    if alpha is not None and alpha.min() == 255:
        alpha = None
    return ImageItem(pixels=pixels, alpha=alpha, source=label, metadata=metadata)


# What Pillow's parsers raise on damaged files (found by fuzzing: a truncated multi-page TIFF raises
# KeyError/TypeError from its tag code, bad headers struct.error or ZeroDivisionError ...).
_DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, TypeError, KeyError, IndexError, struct.error,
                   ZeroDivisionError, OverflowError)


def _webp_canvas(data: bytes) -> tuple[int, int] | None:
    """The canvas of an extended (VP8X) WebP -- animations, alpha, metadata -- from its header."""
    if len(data) >= 30 and data[12:16] == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    return None


def _pillow_name(fmt: str) -> str:
    return _PILLOW_FORMATS[fmt]


def _to_rgb(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Any Pillow mode -> (RGB uint8 sRGB, alpha uint8 or None, a note on the colour profile)."""
    icc = image.info.get("icc_profile")
    alpha = None
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(image, dtype=np.float64)
        # 16-bit modes are always 0..65535 (a dark 16-bit image must stay dark); plain "I" is guessed.
        peak = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        image = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif mode == "F":
        arr = np.asarray(image, dtype=np.float64)
        arr = arr / arr.max() if arr.max() > 1.0 else arr
        image = Image.fromarray(np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif mode == "1":
        image = image.convert("L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = np.asarray(image.getchannel("A"), dtype=np.uint8).copy()
        image = image.convert("RGB" if image.mode.startswith(("RGB", "P")) else "L")
    note = "none (assumed sRGB)"
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            desc = ImageCms.getProfileDescription(src).strip()
            if image.mode not in ("RGB", "L", "CMYK"):
                image = image.convert("RGB")
            if "srgb" in desc.lower() and image.mode == "RGB":
                note = f"sRGB ({desc})"
            else:
                image = ImageCms.profileToProfile(image, src, _SRGB_PROFILE, outputMode="RGB")
                note = f"converted from {desc}"
        except (ImageCms.PyCMSError, OSError, TypeError):
            note = "unreadable profile ignored (assumed sRGB)"
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8).copy(), alpha, note


def output_format_for(path: str | os.PathLike, default: str = "jpeg") -> str:
    """The output format a path's extension asks for (jpeg/png/webp)."""
    ext = Path(path).suffix.lower()
    return {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".webp": "webp"}.get(ext, default)


def encode_image(
    item: ImageItem | np.ndarray,
    *,
    format: str = "jpeg",
    quality: int | None = None,
    max_bytes: int | None = None,
    keep_alpha: bool = True,
) -> tuple[bytes, int | None]:
    """Encode to bytes; returns (data, quality used). sRGB profile embedded, no EXIF/XMP.

    With ``max_bytes`` and no fixed ``quality``, JPEG/WebP quality is the highest (95 down to 40)
    that meets the cap, found by bisection; PNG is compressed at the highest level.
    """
    fmt = format.lower().replace("jpg", "jpeg")
    if fmt not in OUTPUT_FORMATS:
        raise UsageError(f"cannot write format '{format}'; choose one of {', '.join(OUTPUT_FORMATS)}")
    if isinstance(item, ImageItem):
        pixels, alpha = item.pixels, item.alpha
    else:
        check_rgb(item)
        pixels, alpha = item, None
    if alpha is not None and keep_alpha and fmt in ("png", "webp"):
        image = Image.fromarray(np.dstack([pixels, alpha]), "RGBA")
    else:
        if alpha is not None and fmt == "jpeg":
            # JPEG has no alpha: composite on white rather than letting black show through.
            a = alpha[..., None].astype(np.float32) / 255.0
            pixels = np.clip(pixels * a + 255.0 * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
        image = Image.fromarray(pixels, "RGB")

    def encode(q: int | None) -> bytes:
        buf = io.BytesIO()
        if fmt == "jpeg":
            options = {"quality": q or 92, "icc_profile": SRGB_ICC_BYTES, "subsampling": 0 if (q or 92) >= 90 else 2}
            try:
                image.save(buf, "JPEG", optimize=True, **options)
            except OSError:
                # Pillow gives optimize one buffer of ~1 byte per pixel; very detailed images at high
                # quality need more ("Suspension not allowed here"). Unoptimised output streams.
                buf = io.BytesIO()
                image.save(buf, "JPEG", optimize=False, **options)
        elif fmt == "webp":
            image.save(buf, "WEBP", quality=q or 90, method=4, icc_profile=SRGB_ICC_BYTES)
        else:
            image.save(buf, "PNG", optimize=max_bytes is not None, compress_level=6, icc_profile=SRGB_ICC_BYTES)
        return buf.getvalue()

    if fmt == "png" or quality is not None or max_bytes is None:
        data = encode(quality)
        used = None if fmt == "png" else (quality or (92 if fmt == "jpeg" else 90))
        if max_bytes is not None and len(data) > max_bytes:
            raise OutputError(f"{fmt.upper()} is {len(data):,} bytes, over the cap of {max_bytes:,}; use JPEG or WebP, or a smaller size")
        return data, used
    data = encode(95)
    if len(data) <= max_bytes:
        return data, 95
    lo, hi, best = 40, 94, None
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = encode(mid)
        if len(candidate) <= max_bytes:
            best, lo = (candidate, mid), mid + 1
        else:
            hi = mid - 1
    if best is None:
        raise OutputError(f"even at quality 40 the {fmt.upper()} is over the cap of {max_bytes:,} bytes; reduce the size")
    return best


def save_image(
    item: ImageItem | np.ndarray,
    path: str | os.PathLike,
    *,
    format: str | None = None,
    quality: int | None = None,
    max_bytes: int | None = None,
    overwrite: bool = False,
    protect: tuple[str | os.PathLike, ...] = (),
) -> SavedImage:
    """Encode and write atomically.

    Refuses to replace an existing file unless ``overwrite=True``, and never writes over a path
    in ``protect`` (the inputs of the job), whatever ``overwrite`` says: to edit in place, leave
    the input out of ``protect`` on purpose.
    """
    target = Path(path)
    fmt = (format or output_format_for(target)).lower().replace("jpg", "jpeg")
    check_target(target, overwrite=overwrite, protect=protect)
    data, used = encode_image(item, format=fmt, quality=quality, max_bytes=max_bytes)
    write_atomic(target, data)
    pixels = item.pixels if isinstance(item, ImageItem) else item
    return SavedImage(path=target, format=fmt, bytes=len(data), quality=used, width=pixels.shape[1], height=pixels.shape[0])


def check_target(path: str | os.PathLike, *, overwrite: bool = False, protect: tuple[str | os.PathLike, ...] = ()) -> None:
    """OutputError when writing ``path`` would replace one of the inputs in ``protect`` (whatever
    ``overwrite`` says) or, without ``overwrite``, an existing file."""
    target = Path(path)
    resolved = target.resolve()
    if any(resolved == Path(p).resolve() for p in protect):
        raise OutputError("this output would overwrite its input; choose another output folder", path=str(target))
    if not overwrite and target.exists():
        raise OutputError("file exists; pass --overwrite to replace it or choose another output", path=str(target))


# Write failures that have nothing to do with the file being written: the folder takes no more.
_UNWRITABLE = {
    errno.ENOSPC: ("the disk is full", "free space, then run the same command again: the files not written are retried"),
    errno.EDQUOT: ("the disk quota is used up", "free space, then run the same command again: the files not written are retried"),
    errno.EROFS: ("the file system is read-only", "choose a writable folder with -o"),
    errno.EACCES: ("permission denied", "choose a folder you may write to with -o, or fix its permissions"),
    errno.EPERM: ("permission denied", "choose a folder you may write to with -o, or fix its permissions"),
}


def unwritable_error(exc: BaseException, folder: str | os.PathLike) -> OutputUnwritable | None:
    """``OutputUnwritable`` naming ``folder`` and the cause when ``exc`` says the folder takes no more
    files (full disk, read-only, no permission; an OSError or SQLite's "disk is full"); else None."""
    cause = None
    if isinstance(exc, OSError) and exc.errno in _UNWRITABLE:
        cause = _UNWRITABLE[exc.errno]
    elif type(exc).__name__ == "OperationalError":  # sqlite3, without importing it here
        text = str(exc).lower()
        if "disk is full" in text:
            cause = _UNWRITABLE[errno.ENOSPC]
        elif "readonly" in text or "read-only" in text:
            cause = _UNWRITABLE[errno.EROFS]
    if cause is None:
        return None
    return OutputUnwritable(f"cannot write to {folder}: {cause[0]}; {cause[1]}")


def make_folder(folder: str | os.PathLike) -> Path:
    """``mkdir -p``, with a full disk or a read-only place as ``OutputUnwritable`` naming the folder."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise unwritable_error(exc, path) or exc from None
    return path


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either its old content or all of ``data``, never a part.
    A full disk or a read-only folder is ``OutputUnwritable`` (nothing is left behind)."""
    target = Path(path)
    make_folder(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise unwritable_error(exc, target.parent) or exc from None
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the permissions open() would
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise unwritable_error(exc, target.parent) or exc from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def safe_output_path(out_dir: str | os.PathLike, relative: str | os.PathLike) -> Path:
    """``out_dir / relative``, refusing names that escape ``out_dir`` (``..``, absolute paths)."""
    root = Path(out_dir).resolve()
    rel = Path(relative)
    if rel.is_absolute() or any(part == ".." for part in rel.parts):
        raise OutputError(f"output name '{relative}' would leave the output folder; rename the file", path=str(relative))
    candidate = (root / rel).resolve()
    if root != candidate and root not in candidate.parents:
        raise OutputError(f"output name '{relative}' would leave the output folder; rename the file", path=str(relative))
    return candidate
