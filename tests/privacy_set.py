"""The privacy test set: product photos that leak what a marketplace image must not.

``build_privacy_set(folder, count)`` writes ``count`` images and returns what each one holds:

- metadata of every kind, written byte by byte: EXIF (camera make and model, owner name, serial
  number, dates) with a GPS IFD (latitude, longitude, altitude), a maker note and an embedded
  JPEG thumbnail (IFD1) of the picture itself; an XMP packet; IPTC records (by-line, city,
  contact) in a Photoshop APP13 segment; a JPEG comment; a vendor APP12 segment. PNGs carry the
  same EXIF in an eXIf chunk, XMP in an iTXt chunk, IPTC as an ImageMagick "Raw profile type
  iptc" text chunk and a plain text chunk; WebPs carry EXIF and XMP chunks;
- a real face on two images in three: scikit-image's ``astronaut`` (Eileen Collins, NASA, public
  domain) or ``camera`` (a man with a film camera, in profile; CC0, photographer Lav Varshney),
  sometimes mirrored, at different sizes;
- a product label rendered with Pillow (DejaVu Sans for Latin text, WenQuanYi Zen Hei for
  Chinese) over a product photo from ``samples/``: personal lines (phone numbers, e-mail
  addresses, street addresses, ID numbers -- Chinese resident IDs with a valid checksum, SSNs,
  passports) beside public ones (a brand name, a price) that must stay readable.

Everything is generated from files installed with the project; nothing is downloaded, and the
personal data is made up (random numbers; example.com / example.cn addresses).
"""

from __future__ import annotations

import io
import random
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from product_studio.metadata import inspect_metadata, jpeg_segments, png_chunks, riff_chunks

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
PRODUCT_PHOTOS = ("coffee_cup.jpg", "colorful_cups.jpg", "boot_on_deck.jpg", "rowing_boats.jpg",
                  "autumn_leaf.jpg", "kite_blue_sky.jpg", "rocket_launch.jpg")
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LATIN_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
CANVAS = (1100, 760)
BRANDS = ("ACME Coffee", "Northwind", "Bluebird Toys", "Sunrise Tea", "Harbor Goods", "Maple Outdoor")

FACE_SOURCES = {
    "astronaut": "scikit-image skimage.data.astronaut(): Eileen Collins, NASA; public domain",
    "camera": "scikit-image skimage.data.camera(): photographer Lav Varshney; CC0",
}


@dataclass
class PrivacyImage:
    path: Path
    format: str
    face: str | None  # which face photo is in it (None: no face)
    face_box: tuple[int, int, int, int] | None  # where the face photo was pasted (x0, y0, x1, y1)
    personal: dict[str, list[str]] = field(default_factory=dict)  # kind -> the lines rendered
    public: list[str] = field(default_factory=list)  # text that must stay readable


# --- personal data, made up ---------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random) -> str:
    """A made-up 18-character Chinese resident ID with a valid checksum."""
    area = rng.choice(("110105", "310115", "330106", "440305", "510104"))
    body = f"{area}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]


def personal_lines(rng: random.Random, chinese: bool) -> list[tuple[str, str]]:
    """(kind, text) pairs: one phone, one e-mail, one address, one ID number, in one language."""
    mobile = f"1{rng.choice('3456789')}{rng.randint(0, 9)}"
    a, b = rng.randint(1000, 9999), rng.randint(1000, 9999)
    if chinese:
        phone = rng.choice((f"电话：{mobile}-{a}-{b}", f"手机 {mobile} {a} {b}", f"热线：010-{rng.randint(6000, 6999)} {b}"))
        email = rng.choice((f"邮箱：zhang.{a}@example.cn", f"联系邮箱：li_{b}@example.com"))
        address = rng.choice(("地址：北京市朝阳区建国路88号", "杭州市西湖区文三路478号3栋2单元501室",
                              "上海市浦东新区世纪大道100号", "地址：广州市天河区体育西路191号"))
        ident = rng.choice((f"身份证 {resident_id(rng)}", f"护照号码：E{rng.randint(10**7, 10**8 - 1)}"))
    else:
        phone = rng.choice((f"Tel: {mobile}-{a}-{b}", f"Call ({rng.randint(201, 989)}) 555-{a:04d}", f"+44 20 7946 {a:04d}"))
        email = rng.choice((f"li.wei{a}@example.com", f"E-mail: orders.{b}@example.co.uk"))
        address = rng.choice((f"{rng.randint(10, 999)} Main Street, Springfield", f"{rng.randint(10, 999)} Baker St.",
                              f"{rng.randint(100, 2999)} Ocean Avenue"))
        ident = rng.choice((f"SSN {rng.randint(101, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
                            f"Passport No: E{rng.randint(10**7, 10**8 - 1)}", f"ID {resident_id(rng)}"))
    return [("phone", phone), ("email", email), ("address", address), ("id", ident)]


# --- metadata, byte by byte ---------------------------------------------------------------------------


def _ascii(text: str) -> tuple[int, int, bytes]:
    raw = text.encode("ascii") + b"\0"
    return 2, len(raw), raw


def _long(value: int) -> tuple[int, int, bytes]:
    return 4, 1, struct.pack("<I", value)


def _rationals(*pairs: tuple[int, int]) -> tuple[int, int, bytes]:
    return 5, len(pairs), b"".join(struct.pack("<II", n, d) for n, d in pairs)


def _ifd(entries: dict[int, tuple[int, int, bytes]], start: int, next_ifd: int = 0) -> bytes:
    """One little-endian TIFF IFD at offset ``start``, values over 4 bytes stored after it."""
    data_at = start + 2 + 12 * len(entries) + 4
    table, extra = struct.pack("<H", len(entries)), b""
    for tag in sorted(entries):
        kind, count, value = entries[tag]
        if len(value) <= 4:
            table += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            table += struct.pack("<HHII", tag, kind, count, data_at + len(extra))
            extra += value + (b"\0" if len(value) % 2 else b"")
    return table + struct.pack("<I", next_ifd) + extra


def exif_payload(thumbnail_jpeg: bytes, rng: random.Random) -> bytes:
    """``Exif\\0\\0`` + a TIFF with IFD0 (camera), the Exif IFD (maker note, owner, serial), the GPS
    IFD and IFD1 (an embedded JPEG thumbnail)."""
    lat, lon = rng.randint(20, 45), rng.randint(100, 125)
    ifd0 = {0x010F: _ascii("Canon"), 0x0110: _ascii("Canon EOS 5D Mark IV"), 0x0131: _ascii("Firmware 1.2.3"),
            0x0132: _ascii("2024:05:01 10:11:12"), 0x013B: _ascii("Li Wei"), 0x8769: _long(0), 0x8825: _long(0)}
    exif = {0x9003: _ascii("2024:05:01 10:11:12"), 0x927C: (7, 48, b"MAKERNOTE-" + bytes(range(38))),
            0xA430: _ascii("Li Wei"), 0xA431: _ascii(f"SN{rng.randint(10**8, 10**9)}")}
    gps = {0x0000: (1, 4, bytes((2, 3, 0, 0))), 0x0001: _ascii("N"), 0x0002: _rationals((lat, 1), (12, 1), (3456, 100)),
           0x0003: _ascii("E"), 0x0004: _rationals((lon, 1), (34, 1), (5678, 100)), 0x0006: _rationals((4321, 100))}
    ifd1 = {0x0103: (3, 1, struct.pack("<H", 6)), 0x0201: _long(0), 0x0202: _long(len(thumbnail_jpeg))}
    sizes = [len(_ifd(d, 0)) for d in (ifd0, exif, gps, ifd1)]
    at_exif = 8 + sizes[0]
    at_gps = at_exif + sizes[1]
    at_ifd1 = at_gps + sizes[2]
    at_thumb = at_ifd1 + sizes[3]
    ifd0[0x8769], ifd0[0x8825] = _long(at_exif), _long(at_gps)
    ifd1[0x0201] = _long(at_thumb)
    tiff = b"II*\0" + struct.pack("<I", 8) + _ifd(ifd0, 8, next_ifd=at_ifd1) + _ifd(exif, at_exif)
    tiff += _ifd(gps, at_gps) + _ifd(ifd1, at_ifd1) + thumbnail_jpeg
    return b"Exif\0\0" + tiff


def xmp_packet() -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/"><dc:creator><rdf:Seq><rdf:li>Li Wei</rdf:li></rdf:Seq></dc:creator>'
        "<exif:GPSLatitude>30,16.5N</exif:GPSLatitude><exif:GPSLongitude>120,9.2E</exif:GPSLongitude>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode("utf-8")


def iptc_records() -> bytes:
    """IPTC IIM records: version, object name, by-line, city, contact, copyright."""
    def record(number: int, value: bytes) -> bytes:
        return b"\x1c\x02" + bytes((number,)) + struct.pack(">H", len(value)) + value

    return (record(0, b"\x00\x04") + record(5, b"Product shoot") + record(80, b"Li Wei") + record(90, b"Hangzhou")
            + record(118, b"li.wei@example.com") + record(116, b"(c) Li Wei"))


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def add_jpeg_metadata(jpeg: bytes, exif: bytes) -> bytes:
    """Insert EXIF, XMP, IPTC (APP13), a vendor APP12 and a comment after the JFIF segment."""
    iptc = iptc_records() + (b"\0" if len(iptc_records()) % 2 else b"")
    photoshop = b"Photoshop 3.0\0" + b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0" + struct.pack(">I", len(iptc_records())) + iptc
    extra = (_segment(0xE1, exif) + _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + xmp_packet())
             + _segment(0xED, photoshop) + _segment(0xEC, b"Ducky\0\x01\0\x04\0\0\0\x50") + _segment(0xFE, b"shot by Li Wei, +86 138 0013 8000"))
    assert jpeg[:4] == b"\xff\xd8\xff\xe0", "Pillow writes JFIF first"
    app0_end = 4 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:app0_end] + extra + jpeg[app0_end:]


def encode_with_metadata(image: Image.Image, fmt: str, rng: random.Random) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((160, 120))
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=80)
    exif = exif_payload(buf.getvalue(), rng)
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=92)
        return add_jpeg_metadata(out.getvalue(), exif)
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp_packet().decode("utf-8"))
        info.add_text("Author", "Li Wei")
        info.add_text("Comment", "shot by Li Wei, +86 138 0013 8000")
        hexed = iptc_records().hex()
        info.add_text("Raw profile type iptc", f"\niptc\n{len(iptc_records())}\n{hexed}\n", zip=True)
        image.save(out, "PNG", exif=exif[6:], pnginfo=info)
        return out.getvalue()
    if fmt == "webp":
        image.save(out, "WEBP", quality=90, exif=exif[6:], xmp=xmp_packet().decode("utf-8"))
        return out.getvalue()
    raise ValueError(fmt)


# --- pictures -----------------------------------------------------------------------------------------


def face_photo(name: str) -> np.ndarray:
    """An RGB crop around the person: astronaut (frontal) or camera (profile)."""
    import skimage.data

    if name == "astronaut":
        return skimage.data.astronaut()[0:360, 90:420]
    gray = skimage.data.camera()[20:420, 60:400]
    return np.dstack([gray] * 3)


def _cover(photo: Image.Image, size: tuple[int, int]) -> Image.Image:
    w, h = size
    scale = max(w / photo.width, h / photo.height)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
    x, y = (photo.width - w) // 2, (photo.height - h) // 2
    return photo.crop((x, y, x + w, y + h))


def render(index: int, rng: random.Random) -> tuple[Image.Image, str | None, tuple | None, dict, list]:
    photo = Image.open(SAMPLES / PRODUCT_PHOTOS[index % len(PRODUCT_PHOTOS)]).convert("RGB")
    canvas = _cover(photo, CANVAS)
    face, face_box = None, None
    if index % 3 != 2:
        face = "astronaut" if index % 2 == 0 else "camera"
        person = Image.fromarray(face_photo(face))
        if index % 4 == 3:
            person = person.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        scale = rng.uniform(1.0, 1.4)
        person = person.resize((round(person.width * scale), round(person.height * scale)), Image.Resampling.LANCZOS)
        x, y = CANVAS[0] - person.width - rng.randint(10, 40), CANVAS[1] - person.height - rng.randint(0, 30)
        canvas.paste(person, (x, y))
        face_box = (x, y, x + person.width, y + person.height)

    chinese = index % 2 == 1
    pairs = personal_lines(rng, chinese)
    rng.shuffle(pairs)
    pairs = pairs[: rng.randint(2, 4)]
    brand = BRANDS[index % len(BRANDS)]
    price = rng.choice((f"Price ${rng.randint(5, 99)}.99", f"¥{rng.randint(20, 500)}.00"))
    lines = [("brand", brand), *pairs, ("price", price)]

    draw = ImageDraw.Draw(canvas)
    size = rng.randint(26, 32)
    fonts = {"latin": ImageFont.truetype(LATIN_FONT, size), "bold": ImageFont.truetype(LATIN_BOLD, size + 6),
             "cjk": ImageFont.truetype(CJK_FONT, size)}

    def font_for(kind: str, text: str) -> ImageFont.FreeTypeFont:
        if kind == "brand":
            return fonts["bold"]
        return fonts["cjk"] if any(ord(c) > 0x2E80 for c in text) else fonts["latin"]

    widths = [draw.textbbox((0, 0), text, font=font_for(kind, text))[2] for kind, text in lines]
    step = size + 18
    box_w, box_h = max(widths) + 50, step * len(lines) + 30
    x0 = rng.randint(20, 60)
    y0 = rng.randint(20, max(21, CANVAS[1] - box_h - 20))
    draw.rounded_rectangle((x0, y0, x0 + box_w, y0 + box_h), radius=14, fill=(250, 248, 240), outline=(70, 70, 70), width=2)
    for n, (kind, text) in enumerate(lines):
        draw.text((x0 + 25, y0 + 18 + n * step), text, font=font_for(kind, text), fill=(25, 25, 25))
    personal: dict[str, list[str]] = {}
    for kind, text in pairs:
        personal.setdefault(kind, []).append(text)
    return canvas, face, face_box, personal, [brand, price]


def build_privacy_set(folder: str | Path, count: int = 6, *, seed: int = 8) -> list[PrivacyImage]:
    """Write ``count`` images (JPEG, PNG and WebP in turn) to ``folder``; return what each holds."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    out = []
    for index in range(count):
        image, face, face_box, personal, public = render(index, rng)
        fmt = ("jpeg", "png", "jpeg", "webp")[index % 4]
        path = folder / f"label_{index:02d}.{'jpg' if fmt == 'jpeg' else fmt}"
        path.write_bytes(encode_with_metadata(image, fmt, rng))
        out.append(PrivacyImage(path=path, format=fmt, face=face, face_box=face_box, personal=personal, public=public))
    return out


# --- checks the tests and the benchmark share --------------------------------------------------------

RAW_SIGNATURES = (b"Exif", b"http://ns.adobe.com/xap", b"adobe:ns:meta", b"Photoshop 3.0", b"XML:com.adobe.xmp", b"8BIM",
                  b"Raw profile", b"MAKERNOTE")


def assert_no_metadata(data: bytes) -> None:
    """Nothing but pixels and the sRGB profile: Pillow, our counter and a raw byte scan agree."""
    assert not any(inspect_metadata(data).values()), inspect_metadata(data)
    with Image.open(io.BytesIO(data)) as im:
        assert len(im.getexif()) == 0
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop"} & set(im.info)
        assert set(im.info) <= {"icc_profile", "jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "progressive",
                                "progression", "adobe", "adobe_transform", "loop", "background", "duration",
                                "timestamp", "srgb", "gamma"}
    for signature in RAW_SIGNATURES:
        assert signature not in data, signature
    # "GPS" is 3 bytes and may occur by chance in compressed pixels, so scan the headers for it.
    if data.startswith(b"\xff\xd8"):
        headers = b"".join(payload for _, payload in jpeg_segments(data)[:-1])
        assert {m for m, _ in jpeg_segments(data) if 0xE0 <= m <= 0xEF} <= {0xE0, 0xE2}  # JFIF and ICC only
        assert b"GPS" not in headers
    elif data.startswith(b"\x89PNG"):
        chunks = png_chunks(data)
        assert {name for name, _ in chunks} <= {b"IHDR", b"iCCP", b"IDAT", b"IEND", b"pHYs", b"sRGB", b"gAMA"}
    else:
        chunks = riff_chunks(data)
        assert {name for name, _ in chunks} <= {b"VP8X", b"ICCP", b"VP8 ", b"VP8L", b"ALPH"}


@dataclass(frozen=True)
class Line:
    """TextLine-shaped: what OCR returns."""

    text: str
    box: tuple
    confidence: float = 0.99


def line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
    return Line(text, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


if __name__ == "__main__":  # python tests/privacy_set.py OUT_DIR [COUNT]: look at the set
    import sys

    for item in build_privacy_set(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 6):
        print(item.path.name, item.face, sorted(item.personal), item.public)
