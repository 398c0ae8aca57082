"""Expand what a user names (files, folders, globs) into a sorted list of image inputs."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .imageio import INPUT_EXTENSIONS


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative: Path  # where the output goes below -o, relative to the folder it was found in


def expand_inputs(specs: list[str | os.PathLike], *, recursive: bool = True) -> list[InputFile]:
    """Files are taken as given (whatever their extension: the content decides later); folders are
    searched (recursively by default) for image extensions; anything with * ? [ is a glob.

    Raises UsageError when a named path does not exist or nothing at all is found.
    """
    found: dict[Path, InputFile] = {}
    for spec in specs:
        text = str(spec)
        if any(ch in text for ch in "*?[") and not Path(text).exists():
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise UsageError(f"the pattern '{text}' matches no file")
            base = Path(_glob_base(text))
            for m in matches:
                p = Path(m)
                if p.is_file():
                    found.setdefault(p.resolve(), InputFile(p, p.relative_to(base) if _is_under(p, base) else Path(p.name)))
            continue
        p = Path(text)
        if not p.exists():
            raise UsageError(f"no such file or folder: {text}")
        if p.is_dir():
            walker = p.rglob("*") if recursive else p.glob("*")
            for f in sorted(walker):
                relative = f.relative_to(p)
                hidden = any(part.startswith(".") for part in relative.parts)  # .thumbs/, ._x.jpg, .git/
                if f.is_file() and f.suffix.lower() in INPUT_EXTENSIONS and not hidden:
                    found.setdefault(f.resolve(), InputFile(f, relative))
        else:
            found.setdefault(p.resolve(), InputFile(p, Path(p.name)))
    if not found:
        raise UsageError("no image files found in the inputs given (looked for " + ", ".join(INPUT_EXTENSIONS) + ")")
    return sorted(found.values(), key=lambda f: str(f.path))


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
