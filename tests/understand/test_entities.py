"""Prices, brands and model numbers from strings (no OCR needed)."""

from __future__ import annotations

import pytest

from product_studio.errors import UsageError
from product_studio.understand.entities import (
    BrandIndex,
    bundled_brands,
    extract_entities,
    load_brands,
    parse_amount,
)
from product_studio.vision.ocr import TextLine


def brands_in(text: str, **kwargs) -> list[str]:
    return [b.brand for b in extract_entities([text], **kwargs).brands]


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("¥199", 199.0, "CNY"),
        ("￥1,299.00", 1299.0, "CNY"),
        ("199元", 199.0, "CNY"),
        ("$19.99", 19.99, "USD"),
        ("US$5", 5.0, "USD"),
        ("19,99 €", 19.99, "EUR"),
        ("€1.299,00", 1299.0, "EUR"),
        ("£7.50", 7.5, "GBP"),
        ("RMB 88", 88.0, "CNY"),
        ("12.5 USD", 12.5, "USD"),
        ("价格：299", 299.0, "CNY"),
        ("售价 88.8", 88.8, "CNY"),
        ("Price: 1,299", 1299.0, None),
        ("小米价格：¥199型号：QD-3310", 199.0, "CNY"),
    ],
)
def test_prices_with_currency(text, amount, currency):
    prices = extract_entities([text]).prices
    assert len(prices) == 1
    assert prices[0].amount == pytest.approx(amount)
    assert prices[0].currency == currency
    assert text[prices[0].start : prices[0].end] == prices[0].text


@pytest.mark.parametrize("text", ["SN-5520X", "Model AB199", "2024-05-01", "500ml 3.5kg", "Size 42", "50% off", "call 400-820-8820"])
def test_no_price_without_currency_or_price_word(text):
    assert extract_entities([text]).prices == []


def test_parse_amount_reads_both_separator_conventions():
    assert parse_amount("1,299.00") == parse_amount("1.299,00") == parse_amount("1,299") == 1299.0
    assert parse_amount("19,99") == 19.99 and parse_amount("19.99") == 19.99


@pytest.mark.parametrize(
    ("text", "value", "keyword"),
    [
        ("SN-5520X", "SN-5520X", None),
        ("型号：QD-3310", "QD-3310", "型号"),
        ("型号:qd3310", "QD3310", "型号"),
        ("Model: AB12-34C", "AB12-34C", "Model"),
        ("Model No. X100", "X100", "Model No."),
        ("货号 HX-2209B 颜色 黑", "HX-2209B", "货号"),
        ("NIKE Air Max SN-5520X ¥899", "SN-5520X", None),
    ],
)
def test_model_numbers(text, value, keyword):
    models = extract_entities([text]).models
    assert [m.value for m in models] == [value]
    assert models[0].keyword == keyword
    assert models[0].confidence == (1.0 if keyword else 0.8)


@pytest.mark.parametrize(
    "text",
    ["2024-05-01", "May-2024", "500ml", "100-240V", "5V-2A", "2.4GHz", "Wi-Fi", "X100", "¥199-299", "19.99USD", "Insta360"],
)
def test_not_model_numbers(text):
    assert extract_entities([text]).models == []


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        ("NIKE", "Nike"),
        ("N1KE Air Max", "Nike"),  # OCR read I as 1
        ("XIA0MI 13 Ultra", "Xiaomi"),  # O as 0
        ("XlAOMI", "Xiaomi"),  # I as l
        ("ADIDA5 Originals", "Adidas"),
        ("Samsnug Galaxy", "Samsung"),  # two letters swapped, 7 letters
        ("Sennheisre HD 600", "Sennheiser"),
        ("new balance 574", "New Balance"),
        ("Levis 501", "Levi's"),
        ("L'OREAL PARIS", "L'Oréal"),
        ("小米 Redmi", "Xiaomi"),
        ("华为 Mate 60", "Huawei"),
        ("耐克运动鞋", "Nike"),
        ("Apple iPhone 15", "Apple"),
        ("可口可乐 330ml", "Coca-Cola"),
    ],
)
def test_brands_found_despite_ocr_errors(text, brand):
    assert brand in brands_in(text)


@pytest.mark.parametrize(
    "text",
    ["nice day", "have a nice day", "apple juice", "lint roller", "willing to help", "salmon fillet",
     "the best price", "made in china", "hp", "lg", "open here", "Model number", "brawn", "home sweet home"],
)  # fmt: skip
def test_no_brand_in_common_words(text):
    assert brands_in(text) == []


def test_common_word_brands_match_only_capitalised_and_with_lower_confidence():
    found = extract_entities(["PUMA Suede"]).brands
    assert [b.brand for b in found] == ["Puma"] and found[0].confidence == pytest.approx(0.8)
    assert brands_in("puma") == []
    assert brands_in("Puma") == ["Puma"]


def test_spans_point_into_the_source_line_and_carry_ocr_confidence():
    line = TextLine("正品 N1KE 耐克 ¥299", ((0, 0), (100, 0), (100, 20), (0, 20)), 0.9)
    ents = extract_entities(["header", line])
    brand = ents.brand
    assert brand.brand == "Nike" and brand.line == 1 and brand.line_text == line.text
    assert line.text[brand.start : brand.end] == brand.text
    assert brand.confidence == pytest.approx(0.9)
    assert ents.price.amount == 299 and ents.price.confidence == pytest.approx(0.9)
    d = ents.to_dict()
    assert d["brand"] == "Nike" and d["price"] == {"amount": 299.0, "currency": "CNY"}


def test_user_brand_file_adds_brands(tmp_path):
    path = tmp_path / "my_brands.txt"
    path.write_text("# mine\nAcmeCorp|艾克米|Acme Kitchen\n-acmecorps\n", encoding="utf-8")
    index = load_brands(path)
    assert len(index) == len(bundled_brands()) + 1
    assert brands_in("ACMEC0RP blender", brands=index) == ["AcmeCorp"]
    assert brands_in("艾克米 榨汁机", brands=str(path)) == ["AcmeCorp"]
    assert brands_in("Xiaomi", brands=index) == ["Xiaomi"]  # the bundled list is still there
    assert brands_in("acmecorps", brands=index) == []
    assert brands_in("ACMECORP", brands=BrandIndex.from_text("")) == []


def test_bundled_list_is_large_and_bilingual():
    index = bundled_brands()
    assert len(index) >= 300
    assert sum(a.script == "cjk" for a in index.aliases) >= 250


def test_bad_inputs_say_what_to_do(tmp_path):
    with pytest.raises(UsageError, match="no such brand file"):
        load_brands(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("|alias\n", encoding="utf-8")
    with pytest.raises(UsageError, match="bad.txt:1"):
        load_brands(bad)
    with pytest.raises(UsageError, match="list of lines"):
        extract_entities("Nike")
