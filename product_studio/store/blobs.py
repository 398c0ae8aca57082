"""Image files of results and jobs, kept under ``<data_dir>/blobs/<id>/``; written atomically.

With a ``Keyring`` the store encrypts every file it writes (AES-256-GCM, see ``crypto.py``) with
the blob's ``<id>/<name>`` as associated data, and ``read`` decrypts; without one, files are
stored as sent. A store with a keyring refuses to read a plain file (one written before
encryption was turned on): run ``product-studio keys rotate --data-dir D`` once to encrypt them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..crypto import DecryptionError, Keyring, blob_key_id, is_sealed
from ..imageio import write_atomic

_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class RotationReport:
    rewrapped: int = 0  # sealed under an older key, now under the current one
    encrypted: int = 0  # plain files, now sealed
    current: int = 0  # already under the current key
    failed: list[str] | None = None

    def to_dict(self) -> dict[str, object]:
        return {"rewrapped": self.rewrapped, "encrypted": self.encrypted, "current": self.current,
                "failed": list(self.failed or [])}


class BlobStore:
    def __init__(self, root: str | Path, keyring: Keyring | None = None) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.keyring = keyring

    @property
    def encrypted(self) -> bool:
        return self.keyring is not None

    def folder(self, owner_id: str) -> Path:
        if not _ID.match(owner_id):
            raise ValueError(f"not a blob owner id: {owner_id!r}")
        return self.root / owner_id[:2] / owner_id

    def put(self, owner_id: str, name: str, data: bytes) -> Path:
        if not name or "/" in name or "\\" in name or "\x00" in name or name.startswith("."):
            raise ValueError(f"unsafe blob name: {name!r}")
        path = self.folder(owner_id) / name
        if self.keyring is not None:
            data = self.keyring.seal(data, _blob_name(path))
        write_atomic(path, data)
        return path

    def path(self, stored: str) -> Path | None:
        """A stored path, if it is inside the store and exists."""
        p = Path(stored).resolve()
        if self.root not in p.parents or not p.is_file():
            return None
        return p

    def is_sealed(self, path: Path) -> bool:
        """True when a stored file is encrypted (starts with the sealed header)."""
        with open(path, "rb") as fh:
            return is_sealed(fh.read(8))

    def read(self, stored: str | os.PathLike) -> bytes:
        """A blob's content, decrypted when the store has a keyring. DecryptionError when the blob is
        sealed and there is no (matching) key, when it was changed, or when the store expects
        sealed blobs and finds a plain one."""
        p = self.path(str(stored))
        if p is None:
            raise FileNotFoundError(f"no blob {stored}")
        raw = p.read_bytes()
        name = _blob_name(p)
        if self.keyring is None:
            if is_sealed(raw):
                raise DecryptionError("this file is encrypted and the server has no key: set "
                                      "PRODUCT_STUDIO_ENCRYPTION_KEY or PRODUCT_STUDIO_ENCRYPTION_KEY_FILE", path=name)
            return raw
        if not is_sealed(raw):
            raise DecryptionError("this file is not encrypted but encryption is on; run `product-studio keys rotate "
                                  "--data-dir <data dir>` to encrypt files stored before", path=name)
        return self.keyring.open(raw, name)

    @contextmanager
    def readable(self, stored: str | os.PathLike) -> Iterator[Path]:
        """A plain file with the blob's content, for code that takes a path (a mask for ``inpaint``):
        the blob itself when the store is plain, else a 0600 temporary copy deleted on exit."""
        if self.keyring is None:
            p = self.path(str(stored))
            if p is None:
                raise FileNotFoundError(f"no blob {stored}")
            yield p
            return
        data = self.read(stored)
        with tempfile.TemporaryDirectory(prefix="studio-blob-") as tmp:  # 0700
            plain = Path(tmp) / Path(stored).name
            fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            yield plain

    def remove(self, owner_id: str) -> bool:
        """Delete an owner's folder and every file in it; True when there was one."""
        folder = self.folder(owner_id)
        if not folder.exists():
            return False
        shutil.rmtree(folder, onerror=_gone_is_fine)  # another server process may sweep the same folder
        with contextlib.suppress(OSError):  # the <xx> level, once empty
            folder.parent.rmdir()
        return True

    def owners(self) -> Iterator[tuple[str, Path]]:
        """(owner id, folder) of every owner folder in the store."""
        for folder in sorted(self.root.glob("*/*")):
            if folder.is_dir() and _ID.match(folder.name):
                yield folder.name, folder

    def files(self) -> Iterator[Path]:
        """Every blob file in the store (``<root>/<xx>/<id>/<name>``), temporary files excluded."""
        for path in sorted(self.root.glob("*/*/*")):
            if path.is_file() and not path.name.startswith(".") and _ID.match(path.parent.name):
                yield path

    def keys_in_use(self) -> dict[str, int]:
        """How many blobs each key seals, by key id (hex); ``"plain"`` counts unencrypted ones.
        Reads only each file's header."""
        counts: dict[str, int] = {}
        for path in self.files():
            with open(path, "rb") as fh:
                kid = blob_key_id(fh.read(32))
            name = kid.hex() if kid is not None else "plain"
            counts[name] = counts.get(name, 0) + 1
        return counts

    def rotate(self) -> RotationReport:
        """Re-encrypt every blob under the keyring's current key (plain ones too), one file at a time,
        each atomically (temp file + rename): interrupted, it can simply be run again."""
        if self.keyring is None:
            raise ValueError("rotate needs a keyring")
        report = RotationReport(failed=[])
        for path in self.files():
            raw = path.read_bytes()
            if not self.keyring.needs_rewrap(raw):
                report.current += 1
                continue
            name = _blob_name(path)
            try:
                data = self.keyring.open(raw, name) if is_sealed(raw) else raw
            except DecryptionError as exc:
                report.failed.append(str(exc))
                continue
            write_atomic(path, self.keyring.seal(data, name))
            if is_sealed(raw):
                report.rewrapped += 1
            else:
                report.encrypted += 1
        return report


def _gone_is_fine(_function, _path, exc_info) -> None:
    if not issubclass(exc_info[0], FileNotFoundError):
        raise exc_info[1]


def _blob_name(path: Path) -> str:
    """The associated data of a blob: ``<owner id>/<file name>``."""
    return f"{path.parent.name}/{path.name}"
