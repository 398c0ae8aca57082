"""What metadata an image file carries, counted by kind (never the values), and the containers'
own structure: JPEG segments, RIFF (WebP) chunks, PNG chunks.

Metadata needs no step to remove it: every file Product Studio writes goes through
``imageio.save_image``, which re-encodes the pixels and writes nothing but the sRGB ICC profile --
no EXIF (so no GPS, maker notes or embedded thumbnail), no XMP, no IPTC, no comments, no PNG text
chunks. ``inspect_metadata`` counts what a file carries, so a caller can report what was removed
and check that an output carries nothing.

    >>> inspect_metadata("photo.jpg")["gps"]                # doctest: +SKIP
    6
"""

from __future__ import annotations

import io
from pathlib import Path

METADATA_KINDS = ("exif", "gps", "maker_note", "thumbnail", "xmp", "iptc", "comment", "text_chunks", "other_app")
_XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/"
_IFD_POINTERS = (0x8769, 0x8825, 0xA005)


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """The (marker, payload) segments of a JPEG before its image data (SOS): APPn, COM, DQT ..."""
    if not data.startswith(b"\xff\xd8"):
        return []
    out, pos = [], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        out.append((marker, data[pos + 4 : pos + 2 + length]))
        if marker == 0xDA:  # start of scan: image data follows
            break
        pos += 2 + length
    return out


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The top-level (name, payload) chunks of a RIFF file (WebP: VP8X, VP8, ICCP, EXIF, XMP ...)."""
    if len(data) < 12 or data[:4] != b"RIFF":
        return []
    out, pos = [], 12
    while pos + 8 <= len(data):
        name, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        out.append((name, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return out


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, payload) chunks of a PNG (IHDR, iCCP, eXIf, tEXt, iTXt, zTXt, IDAT ...)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return []
    out, pos = [], 8
    while pos + 8 <= len(data):
        size, name = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
        out.append((name, data[pos + 8 : pos + 8 + size]))
        pos += 12 + size
    return out


def inspect_metadata(source: bytes | str | Path) -> dict[str, int]:
    """Counts of the metadata an image file carries, by kind -- never the values.

    exif: tags in IFD0 and the Exif IFD (pointers not counted); gps: GPS tags; maker_note: 1 if
    there is one; thumbnail: 1 if EXIF embeds one (IFD1); xmp: XMP packets; iptc: IPTC records;
    comment: JPEG/GIF comments; text_chunks: PNG text chunks other than XMP; other_app: JPEG APPn
    segments that are none of JFIF, ICC, EXIF, XMP, IPTC (vendor data).
    """
    from PIL import ExifTags, Image, IptcImagePlugin

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    counts = dict.fromkeys(METADATA_KINDS, 0)
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        if len(exif):
            counts["exif"] = sum(1 for tag in exif if tag not in _IFD_POINTERS)
            exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
            counts["exif"] += sum(1 for tag in exif_ifd if tag not in _IFD_POINTERS)
            counts["maker_note"] = int(0x927C in exif_ifd)
            counts["gps"] = len(exif.get_ifd(ExifTags.IFD.GPSInfo))
            try:
                counts["thumbnail"] = int(bool(exif.get_ifd(ExifTags.IFD.IFD1)))
            except (KeyError, TypeError, ValueError, OSError):
                counts["thumbnail"] = 0
        info = im.info
        try:
            iptc = IptcImagePlugin.getiptcinfo(im)
        except (SyntaxError, ValueError, IndexError, OSError):
            iptc = None
        counts["iptc"] = len(iptc or {})
        if not counts["iptc"] and any("iptc" in str(k).lower() for k in info):
            counts["iptc"] = 1
        comments = info.get("comment")
        counts["comment"] = len(comments) if isinstance(comments, list) else int(bool(comments))
        text = getattr(im, "text", None) if im.format == "PNG" else None
        if text:
            counts["text_chunks"] = sum(1 for k in text if k != "XML:com.adobe.xmp" and "iptc" not in k.lower())
    xmp_info = info.get("xmp") or info.get("XML:com.adobe.xmp")
    counts["xmp"] = max(int(bool(xmp_info)), data.count(_XMP_SIGNATURE) + data.count(b"XML:com.adobe.xmp"))
    for name, _payload in riff_chunks(data):
        if name == b"XMP ":
            counts["xmp"] = max(counts["xmp"], 1)
    if data.startswith(b"\xff\xd8"):
        for marker, payload in jpeg_segments(data):
            if marker == 0xFE:
                counts["comment"] = max(counts["comment"], 1)
            known = payload.startswith((b"JFIF", b"JFXX", b"ICC_PROFILE", b"Exif", _XMP_SIGNATURE, b"Photoshop 3.0"))
            if 0xE0 <= marker <= 0xEF and not known:
                counts["other_app"] += 1
            if marker == 0xED and payload.startswith(b"Photoshop 3.0") and not counts["iptc"]:
                counts["iptc"] = 1
    return counts
