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
MAX_LIST_BYTES = 2 * 1024 * 1024 * 1024  # a list of millions of paths is fine; a runaway file is not


@dataclass(frozen=True)
class InputFile:
    path: Path | str  # a local Path, or an ``s3://bucket/key`` URL (str)
    relative: Path  # where the output goes below -o, relative to the folder it was found in


def expand_inputs(specs: list[str | os.PathLike], *, recursive: bool = True) -> list[InputFile]:
    """Files, folders, globs, list files and ``s3://`` URLs -> InputFiles sorted by path.

    Raises UsageError when a named path does not exist or nothing at all is found; the storage
    errors (StorageNotFoundError, StorageCredentialsError, StorageUnreachableError) for S3.
    """
    found: dict[Path | str, InputFile] = {}

    def add(inp: InputFile) -> None:
        key = inp.path if isinstance(inp.path, str) else inp.path.resolve()
        found.setdefault(key, inp)

    for spec in specs:
        text = os.fspath(spec)
        if text.startswith("@"):
            for inp in read_list_file(text[1:]):
                add(inp)
        elif storage.is_remote(text):
            for inp in _expand_remote(text, recursive=recursive):
                add(inp)
        elif any(ch in text for ch in "*?[") and not Path(text).exists():
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise UsageError(f"the pattern '{text}' matches no file")
            base = Path(_glob_base(text))
            for m in matches:
                p = Path(m)
                if p.is_file():
                    add(InputFile(p, p.relative_to(base) if _is_under(p, base) else Path(p.name)))
        else:
            p = Path(text)
            if not p.exists():
                raise UsageError(f"no such file or folder: {text}")
            if p.is_dir():
                walker = p.rglob("*") if recursive else p.glob("*")
                for f in sorted(walker):
                    relative = f.relative_to(p)
                    hidden = any(part.startswith(".") for part in relative.parts)  # .thumbs/, ._x.jpg, .git/
                    if f.is_file() and f.suffix.lower() in INPUT_EXTENSIONS and not hidden:
                        add(InputFile(f, relative))
            elif is_list_file(p):
                for inp in read_list_file(p):
                    add(inp)
            else:
                add(InputFile(p, Path(p.name)))
    if not found:
        raise UsageError("no image files found in the inputs given (looked for " + ", ".join(INPUT_EXTENSIONS) + ")")
    return sorted(found.values(), key=lambda f: str(f.path))


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
