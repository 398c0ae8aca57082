"""expand_inputs on real folders in tmp_path: files, folders, globs, hidden files, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from product_studio.errors import UsageError
from product_studio.inputs import expand_inputs, find_inputs


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


# ---- never the tool's own outputs (issue 30.1) ----------------------------------------------------------------


def batch_output(folder: Path, names=("a.jpg", "b.jpg"), *, manifest: bool = True) -> Path:
    """What a batch leaves in its output folder: outputs, thumbnails, a report and (optionally) its job state."""
    for name in names:
        touch(folder / name)
        touch(folder / "report_files" / name.replace(".jpg", ".before.jpg"))
        touch(folder / "report_files" / name.replace(".jpg", ".after.jpg"))
    touch(folder / "report.html")
    if manifest:
        touch(folder / ".product-studio" / "manifest.sqlite")
    return folder


def test_the_output_folder_inside_the_input_folder_is_never_read(shoot):
    batch_output(shoot / "ready")
    found = find_inputs([shoot], output=shoot / "ready")
    assert relatives(found.files) == ["a.PNG", "b.jpg", "sub/c.webp", "sub/deeper/d.heic"]
    assert [(Path(s.path).name, s.reason, s.images) for s in found.skipped] == [("ready", "the output folder", 6)]


def test_a_folder_product_studio_wrote_is_skipped_under_any_name(shoot):
    batch_output(shoot / "old-run", manifest=False)  # only its report tells
    batch_output(shoot / "sub" / "export", names=("x.jpg",))  # its job state and its report
    names = relatives(expand_inputs([shoot], output=shoot / "elsewhere"))
    assert names == ["a.PNG", "b.jpg", "sub/c.webp", "sub/deeper/d.heic"]
    assert relatives(expand_inputs([str(shoot / "**" / "*.jpg")])) == ["b.jpg"]


def test_checking_an_output_folder_reads_its_images_not_the_report_thumbnails(tmp_path):
    ready = batch_output(tmp_path / "ready")
    found = find_inputs([ready])
    assert relatives(found.files) == ["a.jpg", "b.jpg"]
    assert [(s.reason, s.images) for s in found.skipped] == [("a report's thumbnails", 4)]
    assert relatives(expand_inputs([str(ready / "**" / "*.jpg")])) == ["a.jpg", "b.jpg"]


def test_a_folder_named_report_files_without_a_report_is_a_photo_folder(tmp_path):
    touch(tmp_path / "shots" / "report_files" / "p.jpg")
    assert relatives(expand_inputs([tmp_path / "shots"])) == ["report_files/p.jpg"]


@pytest.mark.parametrize("spec", ["{shoot}", "{shoot}/*.jpg", "{shoot}/b.jpg"])
def test_an_output_folder_that_is_an_input_folder_is_refused(shoot, spec):
    with pytest.raises(UsageError, match="choose another output folder") as info:
        find_inputs([spec.format(shoot=shoot)], output=shoot)
    assert "\n" not in str(info.value)


def test_a_named_file_inside_the_output_folder_is_refused(shoot, tmp_path):
    with pytest.raises(UsageError, match="inside the output folder"):
        find_inputs([shoot / "sub" / "c.webp"], output=shoot)


def test_a_link_to_another_input_is_processed_once_under_the_real_name_and_said(tmp_path):
    real = touch(tmp_path / "in" / "coffee_cup.jpg")
    (tmp_path / "in" / "alias.jpg").symlink_to("coffee_cup.jpg")  # sorts first
    found = find_inputs([tmp_path / "in"])
    assert [f.path for f in found.files] == [real]
    assert [Path(s.path).name for s in found.skipped] == ["alias.jpg"]
    assert "the same file as" in found.skipped[0].reason and "coffee_cup.jpg" in found.skipped[0].reason
