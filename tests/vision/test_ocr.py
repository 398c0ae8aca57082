"""OCR on labels rendered here: real RapidOCR, real models, no network."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from product_studio.errors import UsageError
from product_studio.item import ImageItem
from product_studio.vision import ocr
from product_studio.vision.ocr import TextLine, read_item, read_text


def squash(text: str) -> str:
    return "".join(text.split()).replace(":", "：")


def test_reads_english_and_chinese_lines_with_boxes(label):
    pixels = label(["NIKE Air Max SN-5520X", "小米 价格：¥199"], size=40)
    lines = read_text(pixels)
    texts = [squash(line.text) for line in lines]
    assert "NIKEAirMaxSN-5520X" in texts
    assert "小米价格：¥199" in texts
    h, w = pixels.shape[:2]
    for line in lines:
        assert isinstance(line, TextLine) and len(line.box) == 4
        assert 0.5 <= line.confidence <= 1.0
        assert all(0 <= x <= w and 0 <= y <= h for x, y in line.box)
    first = lines[texts.index("NIKEAirMaxSN-5520X")]
    ys = [y for _, y in first.box]
    assert max(ys) < h / 2  # the first line is in the top half, where it was drawn


@pytest.mark.parametrize("angle", [90, 180])
def test_reads_rotated_text(label, angle):
    pixels = label(["型号：QD-3310"], size=44, angle=angle)
    texts = [squash(line.text) for line in read_text(pixels)]
    if angle == 90:
        assert texts == ["型号：QD-3310"]
    else:  # upside down the detector may cut the line in two; each piece reads the right way up
        assert sorted(texts, key=len) in (["型号", "：QD-3310"], ["型号：QD-3310"])


def test_large_image_is_downscaled_and_boxes_map_back(label):
    small = label(["SAMSUNG"], size=60, margin=40)
    big = np.ascontiguousarray(np.kron(small, np.ones((3, 3, 1), np.uint8)))  # 3x larger, same layout
    lines = read_text(big, max_side=max(small.shape[:2]))
    assert [squash(line.text) for line in lines] == ["SAMSUNG"]
    # the same box, in the big image's pixels, as reading the small image and scaling by 3
    reference = read_text(small)[0].box
    assert np.allclose(np.array(lines[0].box), 3 * np.array(reference), atol=12)
    assert max(x for x, _ in lines[0].box) > big.shape[1] * 0.7


def test_min_confidence_drops_everything_at_one(label):
    assert read_text(label(["Xiaomi"]), min_confidence=1.0) == []


def test_blank_image_has_no_text():
    assert read_text(np.full((120, 200, 3), 255, np.uint8)) == []


def test_engine_is_cached_per_thread_count():
    assert ocr.load_ocr(threads=1) is ocr.load_ocr(threads=1)
    assert ocr.load_ocr(threads=1).label.startswith("rapidocr-3.10.0")


def test_runs_without_network(label, monkeypatch):
    """A fresh engine (another thread count) opens the packaged models and reads without a socket."""

    def no_network(*args, **kwargs):
        raise AssertionError("the OCR engine tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    lines = read_text(label(["Huawei"], size=36), threads=2)
    assert [line.text for line in lines] == ["Huawei"]
    paths = ocr.packaged_model_paths()
    assert all(p.is_file() and p.suffix == ".onnx" for p in paths.values())


def test_read_item_puts_lines_in_metadata(label):
    item = ImageItem(pixels=label(["Lenovo"], size=36))
    out = read_item(item)
    assert [line["text"] for line in out.metadata["text_lines"]] == ["Lenovo"]
    assert out.log[-1].op == "read_text" and out.log[-1].model.startswith("rapidocr")
    assert "text_lines" not in item.metadata


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"min_confidence": 1.5}, "min_confidence"), ({"max_side": 10}, "max_side"), ({"threads": 0}, "threads")],
)
def test_bad_options_say_what_is_wrong(kwargs, message):
    with pytest.raises(UsageError, match=message):
        read_text(np.zeros((40, 40, 3), np.uint8), **kwargs)


def test_bad_pixels_are_refused():
    with pytest.raises(UsageError, match="uint8"):
        read_text(np.zeros((40, 40, 3), np.float32))
