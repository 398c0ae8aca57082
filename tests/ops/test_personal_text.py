"""Personal text: the patterns on known positives and negatives, the ID checksum, matching across the
lines of one row, and the part of a line's box a match covers."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from product_studio.errors import UsageError
from product_studio.ops.personal_text import find_personal_spans, find_personal_text, span_polygon, valid_resident_id

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from privacy_set import line, resident_id


# --- patterns ------------------------------------------------------------------------------------------

POSITIVES = [
    ("Tel: 138-0013-8000", "phone", "138-0013-8000"),
    ("13800138000", "phone", "13800138000"),
    ("+86 138 0013 8000", "phone", "+86 138 0013 8000"),
    ("手机：１３９１２３４５６７８", "phone", "１３９１２３４５６７８"),  # full-width digits
    ("电话：010-6552 9988", "phone", "010-6552 9988"),
    ("(0571) 8888 6666", "phone", "(0571) 8888 6666"),
    ("+86 10 6552 9988", "phone", "+86 10 6552 9988"),
    ("Call (415) 555-0132 today", "phone", "(415) 555-0132"),
    ("415-555-0132", "phone", "415-555-0132"),
    ("+44 20 7946 0958", "phone", "+44 20 7946 0958"),
    ("Phone 4155550132", "phone", "4155550132"),
    ("li.wei@example.com", "email", "li.wei@example.com"),
    ("E-mail: john.doe+shop@mail.example.co.uk", "email", "john.doe+shop@mail.example.co.uk"),
    ("联系邮箱：zhang_san@163.com", "email", "zhang_san@163.com"),
    ("123 Main Street, Springfield", "address", "123 Main Street, Springfield"),
    ("221B Baker St.", "address", "221B Baker St."),
    ("1600 Amphitheatre Parkway, Mountain View, CA 94043", "address", "1600 Amphitheatre Parkway, Mountain View, CA 94043"),
    ("P.O. Box 1234", "address", "P.O. Box 1234"),
    ("地址：北京市朝阳区建国路88号", "address", "北京市朝阳区建国路88号"),
    ("上海市浦东新区世纪大道100号", "address", "上海市浦东新区世纪大道100号"),
    ("杭州市西湖区文三路478号3栋2单元501室", "address", "杭州市西湖区文三路478号3栋2单元501室"),
    ("阳光花园3栋1201室", "address", "阳光花园3栋1201室"),
    ("身份证 11010519491231002X", "id", "11010519491231002X"),
    ("110105 19491231 002X", "id", "110105 19491231 002X"),
    ("SSN 123-45-6789", "id", "123-45-6789"),
    ("Passport No: E12345678", "id", "E12345678"),
    ("护照号码：EA1234567", "id", "EA1234567"),
]

NEGATIVES = [
    "ACME Coffee Roasters", "Price $19.99", "¥128.00", "SKU 12345678", "6901234567892", "2024-05-01",
    "Net wt 500g", "Model X-2000", "Made in China", "产地：浙江省杭州市", "110105194912310021",  # bad checksum
    "123-45-678", "000-12-3456", "666-12-3456", "Batch 20240501", "Lot 1234-5678", "100% cotton", "Size 42",
    "www.acme.com", "v1.2.3", "保质期：12个月", "规格：500ml×12瓶", "生产日期：2024年05月01日", "ISBN 978-7-111-12345-6",
    "12345678901",  # 11 digits but not a Chinese mobile (no 1[3-9] start)
    "user at example dot com",
]


@pytest.mark.parametrize("text,kind,expected", POSITIVES)
def test_personal_patterns_find_known_positives(text, kind, expected):
    found = find_personal_spans(text)
    assert [(k, text[a:b]) for k, (a, b) in found] == [(kind, expected)]


@pytest.mark.parametrize("text", NEGATIVES)
def test_personal_patterns_leave_known_negatives(text):
    assert find_personal_spans(text) == []


def test_resident_id_checksum():
    assert valid_resident_id("11010519491231002X") and valid_resident_id("11010519491231002x")
    assert not valid_resident_id("110105194912310021")  # last digit wrong
    assert not valid_resident_id("1101051949123100")  # too short
    rng = random.Random(1)
    for _ in range(200):
        good = resident_id(rng)
        assert valid_resident_id(good)
        bad = good[:17] + ("0" if good[17] != "0" else "1")
        assert not valid_resident_id(bad)
        assert find_personal_spans(f"ID {good}") == [("id", (3, 21))]
        assert find_personal_spans(bad) == []


def test_kinds_filter_and_unknown_kind():
    text = "Tel 138-0013-8000 li@example.com"
    assert [k for k, _ in find_personal_spans(text, kinds=["email"])] == ["email"]
    with pytest.raises(UsageError, match="unknown personal-text kinds"):
        find_personal_spans(text, kinds=["dna"])


def test_find_personal_text_joins_lines_of_one_row():
    # OCR cut "138 0013 8000" into three boxes on one row; the price on the next row is public.
    lines = [line("Tel:", 10, 10, 60, 40), line("138", 70, 10, 110, 40), line("0013 8000", 120, 10, 230, 40),
             line("Price $19.99", 10, 60, 170, 90)]
    matches = find_personal_text(lines)
    assert {m.line.text for m in matches} == {"138", "0013 8000"}
    assert all(kind == "phone" for _, kind, _ in matches)
    for m in matches:
        assert m.span == (0, len(m.line.text))


def test_span_polygon_covers_the_part_of_the_line():
    ln = line("Tel: 138-0013-8000", 0, 0, 180, 20)  # 18 characters over 180 px
    quad = span_polygon(ln, (5, 18), pad=0.0)
    assert quad.shape == (4, 2)
    assert 35 < quad[0, 0] < 60 and quad[1, 0] == pytest.approx(180)
    assert quad[0, 1] < 0 and quad[3, 1] > 20  # grown across the line
    cjk = line("电话23456789000", 0, 0, 150, 20)  # CJK characters count double
    assert span_polygon(cjk, (2, 13), pad=0.0)[0, 0] == pytest.approx(150 * 4 / 15, abs=1)
    with pytest.raises(UsageError, match="outside"):
        span_polygon(ln, (5, 40))

