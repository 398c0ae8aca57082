"""A report cannot be turned against its reader: hostile input names stay text in report.html (no
live ``javascript:`` link, no markup) and stay values in report.csv (no formula)."""

import csv
import html.parser
from pathlib import Path

from PIL import Image

from product_studio import Recipe
from product_studio.batch import process_batch
from product_studio.batch.report import write_reports
from product_studio.inputs import expand_inputs

RECIPE = Recipe.from_dict({"name": "shrink", "steps": [{"op": "resize", "max_side": 64}], "output": {"format": "jpeg"}})
HOSTILE = [
    "javascript:alert(document.cookie).jpg",
    '=HYPERLINK("evil.example","click").jpg',
    "+cmd.jpg",
    "@SUM(A1).jpg",
    '"><script>alert(1)<script>.jpg',
]


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [value for name, value in attrs if name in ("href", "src")]


def run_batch(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    for name in HOSTILE:
        Image.new("RGB", (80, 60), (200, 40, 40)).save(src / name, format="JPEG")
    out = tmp_path / "out"
    report = process_batch(expand_inputs([str(src)]), RECIPE, out, workers=1)
    assert report.summary()["done"] == len(HOSTILE)
    write_reports(report, out)
    return out


def test_report_html_links_are_relative_file_paths_and_names_stay_text(tmp_path):
    out = run_batch(tmp_path)
    page = (out / "report.html").read_text()
    parser = Links()
    parser.feed(page)
    assert "script" not in parser.tags
    links = [u for u in parser.urls if u and not u.startswith("data:")]
    assert len(links) >= 3 * len(HOSTILE)  # output link, before and after thumbnails
    assert all(u.startswith(("./", "../")) and ":" not in u and '"' not in u for u in links), links
    assert "javascript:alert(document.cookie).jpg" in page  # still shown, as text


def test_report_csv_cells_never_start_a_formula(tmp_path):
    out = run_batch(tmp_path)
    with open(out / "report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    cells = [v for row in rows for v in row.values() if v]
    assert not [c for c in cells if c[0] in "=+-@\t\r"]
    assert any(c.startswith("'=HYPERLINK(") for c in cells)
