"""Expand what a user names into a sorted list of image inputs.

A spec may be:

- a file: taken as given, whatever its extension (the content decides later);
- a folder: searched (recursively by default) for image extensions, hidden names skipped;
- a glob (anything with ``* ? [``; ``**`` for any depth);
- a list file: ``@list.csv``, or a ``.csv`` / ``.jsonl`` / ``.txt`` file whose content is not an
  image. CSV has a ``path`` column (and optionally ``relative``: where the output goes below -o) or
  one path a line; JSONL has ``{"path": ..., "relative": ...}`` objects (or bare strings); TXT has
  one path a line (blank lines and ``#`` comments skipped). Relative entries are read relative to
  the list file's folder. Entries are files or ``s3://`` objects, not folders or globs;
- ``s3://bucket/prefix/`` (a folder), ``s3://bucket/prefix/*.jpg`` (a glob) or ``s3://bucket/key.jpg``.

Every input gets a ``relative`` path: where its output goes below the output folder. For a folder
or a prefix it is the path below it; for a glob, the path below its fixed part; for a list entry,
the ``relative`` column, else the entry as written when it is a plain relative path, else the path
below the longest folder common to the list's entries.

Never the tool's own outputs: a folder search or a glob skips the output folder it is given
(``output=``) and every folder product-studio wrote, recognised by what it leaves there (its job state
``.product-studio/``, or its report: ``report.json``/``report.html`` beside ``report_files/``); the
report's thumbnails (``report_files/``) are skipped even when the folder searched is itself an
output folder (``check ready/`` checks the images, not the thumbnails). An output folder that is
also an input's folder is refused (UsageError), as is a named file inside the output folder. A
file found twice under two names (a symlink to another input) is kept once, under its real name;
``find_inputs`` says what it skipped and why.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import storage
from .errors import UsageError
from .imageio import INPUT_EXTENSIONS, sniff_format

LIST_EXTENSIONS = (".csv", ".jsonl", ".txt")
# What a batch leaves in its output folder (batch/manifest.py and batch/local.py name theirs with these).
STATE_DIR = ".product-studio"  # the job manifest and its lock
REPORT_FILES_DIR = "report_files"  # the report's before/after thumbnails
REPORT_NAMES = ("report.json", "report.html", "report.csv")
MAX_LIST_BYTES = 2 * 1024 * 1024 * 1024  # a list of millions of paths is fine; a runaway file is not


@dataclass(frozen=True)
class InputFile:
    path: Path | str  # a local Path, or an ``s3://bucket/key`` URL (str)
    relative: Path  # where the output goes below -o, relative to the folder it was found in


@dataclass(frozen=True)
class Skipped:
    """What a search left out on purpose: a folder (``images``: how many image files it holds) or a file."""

    path: str
    reason: str
    images: int = 1


@dataclass(frozen=True)
class Inputs:
    """``find_inputs``'s answer: the inputs, and what was skipped (to be said, never silently dropped)."""

    files: list[InputFile]
    skipped: list[Skipped]


def expand_inputs(specs: list[str | os.PathLike], *, recursive: bool = True,
                  output: str | os.PathLike | None = None) -> list[InputFile]:
    """Files, folders, globs, list files and ``s3://`` URLs -> InputFiles sorted by path
    (``find_inputs(...).files``)."""
    return find_inputs(specs, recursive=recursive, output=output).files


def find_inputs(specs: list[str | os.PathLike], *, recursive: bool = True,
                output: str | os.PathLike | None = None) -> Inputs:
    """Files, folders, globs, list files and ``s3://`` URLs -> the InputFiles sorted by path, and
    what was skipped: folders product-studio wrote, the report's thumbnails, ``output`` (the folder
    the outputs go to), a second name (symlink) of a file already found.

    Raises UsageError when a named path does not exist or nothing at all is found, when ``output``
    is a folder an input is taken from (the outputs would land among the photos), or when a named
    file lies inside ``output``; the storage errors (StorageNotFoundError, StorageCredentialsError,
    StorageUnreachableError) for S3.
    """
    out = _local_folder(output)
    found: dict[Path | str, InputFile] = {}
    skipped: list[Skipped] = []

    def add(inp: InputFile) -> None:
        if isinstance(inp.path, str):
            found.setdefault(inp.path, inp)
            return
        key = inp.path.resolve()
        first = found.setdefault(key, inp)
        if first is inp or os.path.abspath(first.path) == os.path.abspath(inp.path):
            return  # new, or the same name given twice
        if _is_link(first.path) and not _is_link(inp.path):  # keep the real name, skip the link
            found[key], first, inp = inp, inp, first
        skipped.append(Skipped(str(inp.path), f"the same file as {first.path} (a link to it); processed once, as {first.relative.as_posix()}"))

    def add_named(inp: InputFile, spec: str) -> None:
        if out is not None and not isinstance(inp.path, str) and _is_under(inp.path.resolve(), out):
            raise UsageError(f"{spec} is inside the output folder {output}: choose an output folder apart from the inputs")
        add(inp)

    for spec in specs:
        text = os.fspath(spec)
        if text.startswith("@"):
            for inp in read_list_file(text[1:]):
                add_named(inp, f"{text[1:]}: {inp.path}")
        elif storage.is_remote(text):
            for inp in _expand_remote(text, recursive=recursive):
                add(inp)
        elif any(ch in text for ch in "*?[") and not Path(text).exists():
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise UsageError(f"the pattern '{text}' matches no file")
            base = Path(_glob_base(text))
            _refuse_same_folder(base, out, output, text)
            pruned: dict[Path, str] = {}
            for m in matches:
                p = Path(m)
                if p.is_file():
                    if _is_under(p, base) and _tool_written(p, base, out, pruned):
                        continue
                    add(InputFile(p, p.relative_to(base) if _is_under(p, base) else Path(p.name)))
            skipped.extend(Skipped(str(d), why, _count_images(d)) for d, why in pruned.items())
        else:
            p = Path(text)
            if not p.exists():
                raise UsageError(f"no such file or folder: {text}")
            if p.is_dir():
                _refuse_same_folder(p, out, output, text)
                for f in _walk_folder(p, recursive=recursive, out=out, skipped=skipped):
                    add(InputFile(f, f.relative_to(p)))
            elif is_list_file(p):
                for inp in read_list_file(p):
                    add_named(inp, f"{text}: {inp.path}")
            else:
                if out is not None and p.resolve().parent == out:
                    raise UsageError(f"the output folder {output} is the folder of the input {text}: choose another output folder")
                add_named(InputFile(p, Path(p.name)), text)
    if not found:
        where = f"; skipped {skipped[0].path} ({skipped[0].reason})" if skipped else ""
        raise UsageError("no image files found in the inputs given (looked for " + ", ".join(INPUT_EXTENSIONS) + ")" + where)
    return Inputs(sorted(found.values(), key=lambda f: str(f.path)), skipped)


def is_output_folder(folder: str | os.PathLike) -> bool:
    """Whether product-studio wrote ``folder``: it holds the job state (``.product-studio/``) or a
    report (``report.json``/``report.html``/``report.csv`` beside ``report_files/``)."""
    d = Path(folder)
    return (d / STATE_DIR).is_dir() or _is_report_files(d / REPORT_FILES_DIR)


def _is_report_files(folder: Path) -> bool:
    """``report_files/`` beside a report: the thumbnails a batch wrote, never inputs."""
    return folder.name == REPORT_FILES_DIR and folder.is_dir() and any((folder.parent / n).is_file() for n in REPORT_NAMES)


def _local_folder(output: str | os.PathLike | None) -> Path | None:
    if output is None or storage.is_remote(os.fspath(output)):
        return None
    return Path(output).resolve()


def _refuse_same_folder(folder: Path, out: Path | None, output: str | os.PathLike | None, spec: str) -> None:
    if out is not None and folder.resolve() == out:
        raise UsageError(f"the output folder {output} is also the input folder of {spec}: choose another output folder "
                         f"(for example -o {folder / 'ready'}; it is never read as input)")


def _skip_reason(folder: Path, out: Path | None) -> str | None:
    """Why a folder met during a search is not searched: the output folder, report thumbnails, a folder we wrote."""
    if out is not None and folder.resolve() == out:
        return "the output folder"
    if _is_report_files(folder):
        return "a report's thumbnails"
    if is_output_folder(folder):
        return "an output folder of product-studio (it holds .product-studio/ or a report)"
    return None


def _walk_folder(root: Path, *, recursive: bool, out: Path | None, skipped: list[Skipped]) -> list[Path]:
    """The image files below ``root`` (hidden names skipped), not entering the folders ``_skip_reason`` names."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):  # .thumbs/, .git/, .product-studio/
                continue
            why = _skip_reason(here / name, out)
            if why is None:
                keep.append(name)
            elif recursive:
                skipped.append(Skipped(str(here / name), why, _count_images(here / name)))
        dirnames[:] = keep if recursive else []
        for name in filenames:
            f = here / name
            if not name.startswith(".") and f.suffix.lower() in INPUT_EXTENSIONS and f.is_file():
                files.append(f)
    return sorted(files)


def _tool_written(path: Path, base: Path, out: Path | None, pruned: dict[Path, str]) -> bool:
    """Whether a glob match below ``base`` lies in a folder ``_skip_reason`` names (remembered in ``pruned``)."""
    folder = base
    for part in path.relative_to(base).parts[:-1]:
        folder = folder / part
        if folder in pruned:
            return True
        why = _skip_reason(folder, out)
        if why is not None:
            pruned[folder] = why
            return True
    return False


def _count_images(folder: Path) -> int:
    return sum(1 for _, _, names in os.walk(folder) for n in names if Path(n).suffix.lower() in INPUT_EXTENSIONS)


def _is_link(path: Path) -> bool:
    """Whether ``path`` reaches its file through a symlink (itself, or a folder on the way)."""
    return os.path.realpath(path) != os.path.abspath(path)


def is_list_file(path: str | os.PathLike) -> bool:
    """A local ``.csv`` / ``.jsonl`` / ``.txt`` file whose first bytes are not an image's."""
    p = Path(path)
    if p.suffix.lower() not in LIST_EXTENSIONS or not p.is_file():
        return False
    with p.open("rb") as fh:
        return sniff_format(fh.read(32)) is None


def read_list_file(path: str | os.PathLike) -> list[InputFile]:
    """The inputs a list file names (CSV with a ``path`` column or one path a line; JSONL; TXT).

    The list may itself be local or on S3. Relative entries are relative to the list's folder.
    UsageError naming the list and the line for a malformed line or a missing local file.
    """
    text_path = os.fspath(path)
    label = str(storage.normalize(text_path))
    try:
        raw = storage.read_input(text_path, max_bytes=MAX_LIST_BYTES)
    except UsageError:
        raise UsageError(f"no such list file: {text_path}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{label}: a list file must be UTF-8 text (CSV, JSONL or one path a line)") from None
    suffix = PurePosixPath(label).suffix.lower()
    if suffix == ".jsonl":
        entries = _parse_jsonl(text, label)
    elif suffix == ".csv":
        entries = _parse_csv(text, label)
    else:
        entries = _parse_lines(text)
    if not entries:
        raise UsageError(f"{label}: the list names no files")

    folder = _parent(label)
    inputs: list[tuple[Path | str, Path | None, str]] = []
    for line_no, entry, relative in entries:
        where = f"{label}:{line_no}"
        if storage.is_remote(entry):
            location: Path | str = str(storage.normalize(entry))
        elif Path(entry).is_absolute():
            location = Path(entry)
        elif storage.is_remote(folder):
            location = str(storage.join(folder, entry))
        else:
            location = Path(folder) / entry
        if not isinstance(location, str):
            if not location.exists():
                raise UsageError(f"{where}: no such file: {entry}")
            if location.is_dir():
                raise UsageError(f"{where}: {entry} is a folder; a list names files (give the folder itself as an input instead)")
        rel = _check_relative(relative, where) if relative else None
        if rel is None and not storage.is_remote(entry) and not Path(entry).is_absolute():
            plain = PurePosixPath(Path(entry).as_posix())
            if ".." not in plain.parts:
                rel = Path(plain)
        inputs.append((location, rel, entry))

    common = _common_folder([loc for loc, rel, _ in inputs if rel is None])
    result = []
    for location, rel, _entry in inputs:
        if rel is None:
            full = PurePosixPath(str(location) if isinstance(location, str) else location.as_posix())
            rel = Path(full.relative_to(common)) if common is not None else Path(full.name)
        result.append(InputFile(location, rel))
    return result


def _parent(label: str) -> Path | str:
    if storage.is_remote(label):
        return label.rsplit("/", 1)[0]
    return Path(label).parent


def _check_relative(relative: str, where: str) -> Path:
    rel = PurePosixPath(relative.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UsageError(f"{where}: relative '{relative}' must stay below the output folder (no '..', not absolute)")
    return Path(rel)


def _common_folder(locations: list[Path | str]) -> PurePosixPath | None:
    """The longest folder holding every location (URLs compared as text), or None for none."""
    if not locations:
        return None
    parents = [PurePosixPath(str(loc) if isinstance(loc, str) else loc.as_posix()).parent for loc in locations]
    common = parents[0].parts
    for parent in parents[1:]:
        parts = parent.parts
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        common = common[:n]
    return PurePosixPath(*common) if common else None


def _parse_lines(text: str) -> list[tuple[int, str, str | None]]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        entry = line.strip()
        if entry and not entry.startswith("#"):
            out.append((n, entry, None))
    return out


def _parse_csv(text: str, label: str) -> list[tuple[int, str, str | None]]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    if "path" not in header:
        if any(len(r) > 1 for r in rows if r):
            raise UsageError(f"{label}: a CSV list needs a 'path' column header (columns seen: {', '.join(rows[0])})")
        return _parse_lines(text)  # one path a line, no header
    col, rel_col = header.index("path"), header.index("relative") if "relative" in header else None
    out = []
    for n, row in enumerate(rows[1:], 2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if col >= len(row) or not row[col].strip():
            raise UsageError(f"{label}:{n}: the 'path' column is empty")
        rel = row[rel_col].strip() if rel_col is not None and rel_col < len(row) and row[rel_col].strip() else None
        out.append((n, row[col].strip(), rel))
    return out


def _parse_jsonl(text: str, label: str) -> list[tuple[int, str, str | None]]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{label}:{n}: not valid JSON ({exc.msg})") from None
        if isinstance(value, str):
            value = {"path": value}
        if not isinstance(value, dict) or not isinstance(value.get("path"), str) or not value["path"].strip():
            raise UsageError(f'{label}:{n}: each line must be {{"path": "..."}} (optionally "relative") or a JSON string')
        rel = value.get("relative")
        out.append((n, value["path"].strip(), rel.strip() if isinstance(rel, str) and rel.strip() else None))
    return out


def _expand_remote(url: str, *, recursive: bool) -> list[InputFile]:
    """An ``s3://`` folder (prefix), glob or single object -> InputFiles (relative: key below the prefix)."""
    url = str(storage.normalize(url)) + ("/" if url.endswith("/") else "")
    if any(ch in url for ch in "*?["):
        matches = storage.glob(url)
        if not matches:
            raise UsageError(f"the pattern '{url}' matches no object")
        return [InputFile(str(u), Path(rel)) for u, rel in matches]
    if not url.endswith("/"):
        kind = storage.kind(url)
        if kind is None:
            raise UsageError(f"no such object or prefix: {url}")
        if kind == "file":
            return [InputFile(url, Path(PurePosixPath(url).name))]
    listed = storage.list_images(url, recursive=recursive)
    if not listed:
        raise UsageError(f"no image objects found below {url.rstrip('/')}/ (looked for {', '.join(INPUT_EXTENSIONS)})")
    return [InputFile(str(u), Path(rel)) for u, rel in listed]


def _glob_base(pattern: str) -> str:
    parts = Path(pattern).parts
    base = []
    for part in parts:
        if any(ch in part for ch in "*?["):
            break
        base.append(part)
    return str(Path(*base)) if base else "."


def _is_under(p: Path, base: Path) -> bool:
    try:
        p.relative_to(base)
        return True
    except ValueError:
        return False
