from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from product_studio.cli.app import app

runner = CliRunner()
FAST = "colors,size,background"


def photo(path, colour, seed):
    y, x = np.mgrid[0:200, 0:200] / 200
    img = np.repeat((200 + 40 * np.cos(3 * x + seed) * np.sin(2 * y + seed))[..., None], 3, axis=2)
    img[50:150, 40:160] = colour
    img[120:150, 40:160] = np.array(colour) * 0.7
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=95)
    return path


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shop")
    photo(folder / "red.jpg", (225, 25, 35), 0)
    photo(folder / "blue.jpg", (25, 55, 200), 1)
    photo(folder / "green.jpg", (30, 150, 60), 2)
    red = cv2.imread(str(folder / "red.jpg"))
    cv2.imwrite(str(folder / "red_small.jpg"), cv2.resize(red, (120, 120), interpolation=cv2.INTER_AREA), [cv2.IMWRITE_JPEG_QUALITY, 50])
    out = tmp_path_factory.mktemp("catalog")
    result = runner.invoke(app, ["index", str(folder), "-o", str(out), "--fields", FAST, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["items"] == 4
    return folder, out


def test_search_json_in_both_languages(indexed):
    _, out = indexed
    for query in ("红色", "red"):
        result = runner.invoke(app, ["search", query, "--index", str(out), "-n", "2", "--json"])
        assert result.exit_code == 0, result.output
        hits = json.loads(result.stdout)["results"]
        assert len(hits) == 2 and hits[0]["path"].rsplit("/", 1)[-1].startswith("red"), hits


def test_dupes_json_finds_the_copy(indexed):
    _, out = indexed
    result = runner.invoke(app, ["dupes", "--index", str(out), "--json"])
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)["groups"]
    assert [sorted(m["path"].rsplit("/", 1)[-1] for m in g) for g in groups] == [["red.jpg", "red_small.jpg"]]


def test_similar_json(indexed, tmp_path):
    _, out = indexed
    query = photo(tmp_path / "query.jpg", (215, 35, 40), 5)
    result = runner.invoke(app, ["similar", str(query), "--index", str(out), "--fields", FAST, "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["results"]
    assert hits[0]["path"].rsplit("/", 1)[-1].startswith("red") and set(hits[0]["parts"]) >= {"colour", "text", "image"}


def test_missing_index_exits_2(tmp_path):
    result = runner.invoke(app, ["search", "red", "--index", str(tmp_path)])
    assert result.exit_code == 2 and "no index" in result.output
