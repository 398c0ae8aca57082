"""expand_inputs beyond folders: list files (CSV, JSONL, TXT, @name) and s3:// folders, globs and
objects on a real S3-compatible server on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from product_studio import storage
from product_studio.errors import StorageNotFoundError, UsageError
from product_studio.inputs import expand_inputs, is_list_file


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def shots(tmp_path) -> Path:
    root = tmp_path / "shots"
    for name in ("a.jpg", "shoes/b.png", "shoes/deep/c.webp"):
        touch(root / name)
    return root


def rels(found) -> list[str]:
    return [f.relative.as_posix() for f in found]


def test_csv_with_path_column_relative_to_the_list(shots):
    listing = shots / "list.csv"
    listing.write_text("sku,path\n1,a.jpg\n2,shoes/b.png\n\n")
    found = expand_inputs([listing])
    assert [f.path for f in found] == [shots / "a.jpg", shots / "shoes" / "b.png"]
    assert rels(found) == ["a.jpg", "shoes/b.png"]


def test_csv_relative_column_chooses_the_output_name(shots):
    listing = shots / "list.csv"
    listing.write_text(f"path,relative\n{shots / 'a.jpg'},amazon/sku-1.jpg\n")
    assert rels(expand_inputs([listing])) == ["amazon/sku-1.jpg"]


def test_csv_without_header_one_path_a_line(shots):
    listing = shots / "plain.csv"
    listing.write_text("a.jpg\nshoes/deep/c.webp\n")
    assert rels(expand_inputs([listing])) == ["a.jpg", "shoes/deep/c.webp"]


def test_csv_with_columns_but_no_path_header_is_an_error(shots):
    listing = shots / "bad.csv"
    listing.write_text("sku,file\n1,a.jpg\n")
    with pytest.raises(UsageError, match="needs a 'path' column"):
        expand_inputs([listing])


def test_jsonl_objects_and_strings_absolute_paths_keep_the_common_folder(shots, tmp_path):
    listing = tmp_path / "lists" / "batch.jsonl"
    listing.parent.mkdir()
    listing.write_text(
        json.dumps({"path": str(shots / "shoes" / "b.png")}) + "\n\n" + json.dumps(str(shots / "shoes" / "deep" / "c.webp")) + "\n"
    )
    found = expand_inputs([listing])
    assert rels(found) == ["b.png", "deep/c.webp"]  # below shots/shoes, the entries' common folder


def test_jsonl_bad_line_names_the_line(tmp_path):
    listing = tmp_path / "l.jsonl"
    listing.write_text('{"path": "a.jpg"}\n{"file": 3}\n')
    with pytest.raises(UsageError, match=r"l\.jsonl:2"):
        expand_inputs([listing])


def test_txt_list_with_comments_via_at_sign(shots):
    listing = shots / "todo.list"  # any name with @
    listing.write_text("# today\na.jpg\n\nshoes/b.png\n")
    assert rels(expand_inputs([f"@{listing}"])) == ["a.jpg", "shoes/b.png"]


def test_missing_entry_names_the_list_line(shots):
    listing = shots / "list.txt"
    listing.write_text("a.jpg\nnope.jpg\n")
    with pytest.raises(UsageError, match=r"list\.txt:2: no such file: nope\.jpg"):
        expand_inputs([listing])


def test_a_txt_that_is_really_an_image_is_an_image(tmp_path):
    odd = touch(tmp_path / "photo.txt", b"\xff\xd8\xff\xe0" + b"0" * 40)
    assert not is_list_file(odd)
    found = expand_inputs([odd])
    assert found[0].path == odd and rels(found) == ["photo.txt"]


def test_list_and_folder_together_list_each_file_once(shots):
    listing = shots / "list.txt"
    listing.write_text("a.jpg\n")
    found = expand_inputs([listing, shots])
    assert sorted(rels(found)) == ["a.jpg", "shoes/b.png", "shoes/deep/c.webp"]


# --------------------------------------------------------------------------- S3

@pytest.fixture
def s3_shots(s3_bucket) -> str:
    for key in ("shots/a.jpg", "shots/shoes/b.png", "shots/shoes/deep/c.webp", "shots/readme.txt", "shots/.x/d.jpg", "shots2/e.jpg"):
        storage.write_output(f"s3://{s3_bucket}/{key}", b"x")
    return f"s3://{s3_bucket}"


def test_s3_prefix_is_a_folder_with_keys_below_it(s3_shots):
    found = expand_inputs([f"{s3_shots}/shots/"])
    assert rels(found) == ["a.jpg", "shoes/b.png", "shoes/deep/c.webp"]
    assert found[0].path == f"{s3_shots}/shots/a.jpg" and isinstance(found[0].path, str)
    assert rels(expand_inputs([f"{s3_shots}/shots"])) == rels(found)  # no trailing slash: still the prefix


def test_s3_glob_and_single_object(s3_shots):
    assert rels(expand_inputs([f"{s3_shots}/shots/**/*.png"])) == ["shoes/b.png"]
    assert rels(expand_inputs([f"{s3_shots}/shots/*.jpg"])) == ["a.jpg"]
    assert rels(expand_inputs([f"{s3_shots}/shots/shoes/b.png"])) == ["b.png"]


def test_s3_nothing_there_is_an_error(s3_shots):
    with pytest.raises(UsageError, match="no such object or prefix"):
        expand_inputs([f"{s3_shots}/nowhere"])
    with pytest.raises(UsageError, match="matches no object"):
        expand_inputs([f"{s3_shots}/shots/*.gif"])
    with pytest.raises(StorageNotFoundError):
        expand_inputs(["s3://no-such-bucket-at-all/shots/"])


def test_list_file_on_s3_with_relative_and_absolute_entries(s3_shots, tmp_path):
    storage.write_output(f"{s3_shots}/shots/list.csv", f"path\nshoes/b.png\n{s3_shots}/shots2/e.jpg\n".encode())
    found = expand_inputs([f"@{s3_shots}/shots/list.csv"])
    assert sorted(str(f.path) for f in found) == [f"{s3_shots}/shots/shoes/b.png", f"{s3_shots}/shots2/e.jpg"]
    assert sorted(rels(found)) == ["e.jpg", "shoes/b.png"]


def test_local_list_naming_s3_objects(s3_shots, tmp_path):
    listing = tmp_path / "mixed.jsonl"
    listing.write_text(json.dumps({"path": f"{s3_shots}/shots/a.jpg", "relative": "x/a.jpg"}) + "\n")
    found = expand_inputs([listing])
    assert found[0].path == f"{s3_shots}/shots/a.jpg" and rels(found) == ["x/a.jpg"]
