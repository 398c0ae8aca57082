"""expand_inputs on real folders in tmp_path: files, folders, globs, hidden files, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from product_studio.errors import UsageError
from product_studio.inputs import expand_inputs


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")  # content is judged later, by load_image
    return path


@pytest.fixture
def shoot(tmp_path) -> Path:
    """A photographer's folder: images at two levels, clutter, and hidden files."""
    root = tmp_path / "shoot"
    for name in ("b.jpg", "a.PNG", "sub/c.webp", "sub/deeper/d.heic", "notes.txt", "sub/raw.cr2"):
        touch(root / name)
    for name in (".hidden.jpg", "._a.jpg", ".thumbnails/t.jpg", "sub/.cache/e.png"):
        touch(root / name)
    return root


def relatives(found) -> list[str]:
    return [f.relative.as_posix() for f in found]


def test_folder_is_searched_recursively_keeping_relative_paths(shoot):
    found = expand_inputs([shoot])
    assert relatives(found) == ["a.PNG", "b.jpg", "sub/c.webp", "sub/deeper/d.heic"]
    assert all(f.path.is_file() for f in found)
    assert found[2].path == shoot / "sub" / "c.webp"


def test_hidden_files_and_folders_are_skipped(shoot):
    names = relatives(expand_inputs([shoot]))
    assert not any(part.startswith(".") for name in names for part in name.split("/"))


def test_folder_without_recursion(shoot):
    assert relatives(expand_inputs([shoot], recursive=False)) == ["a.PNG", "b.jpg"]


def test_a_named_file_is_taken_whatever_its_extension(tmp_path):
    odd = touch(tmp_path / "photo.dat")
    found = expand_inputs([odd])
    assert len(found) == 1
    assert found[0].path == odd
    assert found[0].relative == Path("photo.dat")


def test_a_file_named_twice_is_listed_once(shoot):
    found = expand_inputs([shoot / "b.jpg", shoot, str(shoot / "b.jpg")])
    assert relatives(found).count("b.jpg") == 1
    assert len(found) == 4


def test_glob_keeps_paths_relative_to_its_fixed_part(shoot):
    found = expand_inputs([str(shoot / "**" / "*.webp"), str(shoot / "*.jpg")])
    assert sorted(relatives(found)) == ["b.jpg", "sub/c.webp"]


def test_glob_does_not_match_hidden_files(shoot):
    found = expand_inputs([str(shoot / "*.jpg")])
    assert relatives(found) == ["b.jpg"]


def test_glob_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(UsageError, match=r"matches no file"):
        expand_inputs([str(tmp_path / "*.jpg")])


def test_missing_path_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere.jpg"
    with pytest.raises(UsageError, match="no such file or folder") as info:
        expand_inputs([missing])
    assert str(missing) in str(info.value)


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no image files found"):
        expand_inputs([tmp_path / "empty"])


def test_folder_of_non_images_is_an_error(tmp_path):
    touch(tmp_path / "docs" / "readme.txt")
    touch(tmp_path / "docs" / ".secret.jpg")
    with pytest.raises(UsageError, match="no image files found"):
        expand_inputs([tmp_path / "docs"])


def test_result_is_sorted_by_path(tmp_path):
    for name in ("z.jpg", "m.jpg", "a.jpg"):
        touch(tmp_path / "in" / name)
    found = expand_inputs([tmp_path / "in" / "z.jpg", tmp_path / "in"])
    assert [f.path.name for f in found] == ["a.jpg", "m.jpg", "z.jpg"]
