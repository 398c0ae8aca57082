"""Image files of results and jobs, kept under ``<data_dir>/blobs/<id>/``; written atomically."""

from __future__ import annotations

import re
from pathlib import Path

from ..imageio import write_atomic

_ID = re.compile(r"^[0-9a-f]{32}$")


class BlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def folder(self, owner_id: str) -> Path:
        if not _ID.match(owner_id):
            raise ValueError(f"not a blob owner id: {owner_id!r}")
        return self.root / owner_id[:2] / owner_id

    def put(self, owner_id: str, name: str, data: bytes) -> Path:
        if "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"unsafe blob name: {name!r}")
        path = self.folder(owner_id) / name
        write_atomic(path, data)
        return path

    def path(self, stored: str) -> Path | None:
        """A stored path, if it is inside the store and exists."""
        p = Path(stored).resolve()
        if self.root not in p.parents or not p.is_file():
            return None
        return p
