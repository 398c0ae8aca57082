"""Encryption at rest: AES-256-GCM for the files the server stores (uploads, results, masks).

A sealed blob is a small header followed by the GCM ciphertext and its 16-byte tag::

    magic  b"PSENC"   5 bytes
    version           1 byte   (1)
    key id            8 bytes  (the first 8 bytes of sha256("product-studio key id" + key))
    nonce            12 bytes  (random, new for every write)
    ciphertext + tag

The associated data is the whole header plus the blob's name (``<owner id>/<file name>``), so a
sealed file copied under another name, or with an edited header, fails to open just as a file
with a flipped ciphertext bit does.

Keys are 32 random bytes, written as base64. A ``Keyring`` holds one or more keys; the **last**
one is the current key: new writes use it, reads use whichever key the header names. That is the
whole of key rotation: add a new key at the end, re-encrypt (``product-studio keys rotate``), and
drop the old key once nothing uses it.

Keys come from ``PRODUCT_STUDIO_ENCRYPTION_KEY`` (comma-separated, last = current) or a key file
(one base64 key per line, ``#`` comments, last = current) that must not be readable by group or
others (mode 0600): ``product-studio keys generate --key-file K`` writes one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import StudioError, UsageError

MAGIC = b"PSENC"
VERSION = 1
KEY_BYTES = 32
KEY_ID_BYTES = 8
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = len(MAGIC) + 1 + KEY_ID_BYTES + NONCE_BYTES


class DecryptionError(StudioError):
    """A sealed blob cannot be opened: no key, an unknown key, or the data was changed."""

    http_status = 500


def generate_key() -> str:
    """A new random 256-bit key, base64 (what the settings and key files hold)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_key(text: str, *, source: str = "key") -> bytes:
    """32 bytes from base64 text; UsageError with the reason otherwise (the key is never echoed)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise UsageError(f"{source}: not valid base64; make one with `product-studio keys generate`") from None
    if len(raw) != KEY_BYTES:
        raise UsageError(f"{source}: decodes to {len(raw)} bytes, an AES-256 key is {KEY_BYTES}; "
                         "make one with `product-studio keys generate`")
    return raw


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"product-studio key id" + key).digest()[:KEY_ID_BYTES]


def is_sealed(data: bytes) -> bool:
    """True when ``data`` starts like a sealed blob (it may still fail to open)."""
    return data[: len(MAGIC)] == MAGIC


def read_key_file(path: str | os.PathLike) -> list[bytes]:
    """The keys in a key file (last = current). Refuses a file group or others may read or write."""
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise UsageError(f"encryption key file {p} does not exist; create it with "
                         f"`product-studio keys generate --key-file {p}`") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"encryption key file {p} is not a regular file")
    if st.st_mode & 0o077:
        raise UsageError(f"encryption key file {p} has mode {stat.S_IMODE(st.st_mode):04o}: other users could read "
                         f"it; run `chmod 600 {p}`")
    keys = []
    for number, line in enumerate(p.read_text(encoding="ascii", errors="replace").splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(parse_key(line, source=f"{p} line {number}"))
    if not keys:
        raise UsageError(f"encryption key file {p} holds no key; add one with `product-studio keys generate --key-file {p}`")
    return keys


def append_key_file(path: str | os.PathLike, key_b64: str) -> Path:
    """Add a key at the end of a key file (it becomes the current key); creates the file 0600."""
    p = Path(path).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.exists():
        read_key_file(p)  # refuses a world-readable or broken file before adding to it
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="ascii") as fh:
        fh.write(key_b64 + "\n")
    os.chmod(p, 0o600)
    return p


def write_key_file(path: str | os.PathLike, keys_b64: Sequence[str]) -> Path:
    """Replace a key file's keys (atomically, 0600); used to drop retired keys."""
    p = Path(path).expanduser()
    tmp = p.with_name(f".{p.name}.{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write("".join(k + "\n" for k in keys_b64))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


class Keyring:
    """One or more AES-256 keys; the last is current (writes), any may read.

    A keyring made ``from_sources`` with a key file follows that file: before each write, and
    when a blob names a key it does not hold, it looks at the file's size and modification time
    and re-reads it when it changed. So a running server learns the key ``keys rotate`` adds and
    writes with it at once, and reads what the rotation re-encrypted; no restart is needed. A file
    that cannot be read at that moment (half-written, wrong mode) leaves the keys as they were.
    """

    def __init__(self, keys: Iterable[bytes], *, key_text: str | None = None,
                 key_file: str | os.PathLike | None = None) -> None:
        self._key_text = key_text
        self._key_file = Path(key_file).expanduser() if key_file else None
        self._file_state = _file_state(self._key_file)
        self._use(keys)

    def _use(self, keys: Iterable[bytes]) -> None:
        ordered: list[bytes] = []
        for key in keys:
            if len(key) != KEY_BYTES:
                raise UsageError(f"an encryption key is {KEY_BYTES} bytes; got {len(key)}")
            if key in ordered:  # a repeated key moves to its latest position
                ordered.remove(key)
            ordered.append(key)
        if not ordered:
            raise UsageError("a keyring needs at least one key")
        # One assignment, so a thread sealing while another refreshes sees the old keys or the new ones.
        self._state = (ordered, {key_id(k): AESGCM(k) for k in ordered})

    @property
    def keys(self) -> list[bytes]:
        return list(self._state[0])

    @classmethod
    def from_sources(cls, key_text: str | None = None, key_file: str | os.PathLike | None = None) -> Keyring | None:
        """Keys from settings text (comma-separated base64) and/or a key file (file first, then the
        text's keys, so a key given in the environment is the current one); None when neither is set.
        With a key file the keyring follows it (see the class)."""
        keys = _keys_from(key_text, key_file)
        return cls(keys, key_text=key_text, key_file=key_file) if keys else None

    def refresh(self) -> bool:
        """Re-read the key file if it changed since it was read; True when the keys changed."""
        if self._key_file is None:
            return False
        state = _file_state(self._key_file)
        if state == self._file_state:
            return False
        try:
            keys = _keys_from(self._key_text, self._key_file)
        except UsageError:
            return False  # being rewritten, or made unreadable: keep the keys in use, look again next time
        self._file_state = state
        if not keys or keys == self._state[0]:
            return False
        self._use(keys)
        return True

    @property
    def current_id(self) -> bytes:
        return key_id(self._state[0][-1])

    def seal(self, data: bytes, name: str) -> bytes:
        """Encrypt ``data`` with the current key (after a look at the key file), bound to ``name``."""
        self.refresh()
        keys, ciphers = self._state
        kid = key_id(keys[-1])
        header = MAGIC + bytes([VERSION]) + kid + secrets.token_bytes(NONCE_BYTES)
        return header + ciphers[kid].encrypt(header[-NONCE_BYTES:], data, header + name.encode("utf-8"))

    def open(self, blob: bytes, name: str) -> bytes:
        """Decrypt a sealed blob stored as ``name``; DecryptionError says why it cannot."""
        if not is_sealed(blob):
            raise DecryptionError("not an encrypted blob (no header)", path=name)
        if len(blob) < HEADER_BYTES + TAG_BYTES:
            raise DecryptionError("encrypted blob is truncated", path=name)
        header = blob[:HEADER_BYTES]
        if header[len(MAGIC)] != VERSION:
            raise DecryptionError(f"encrypted blob has format version {header[len(MAGIC)]}, this version reads {VERSION}",
                                  path=name)
        kid = blob_key_id(blob)
        cipher = self._state[1].get(kid)
        if cipher is None and self.refresh():  # a key added since (keys rotate) may be the one
            cipher = self._state[1].get(kid)
        if cipher is None:
            raise DecryptionError(f"encrypted with key {kid.hex()}, which is not among the configured keys "
                                  f"({', '.join(key_id(k).hex() for k in self.keys)}); add the old key back to "
                                  "PRODUCT_STUDIO_ENCRYPTION_KEY or the key file", path=name)
        try:
            return cipher.decrypt(header[-NONCE_BYTES:], blob[HEADER_BYTES:], header + name.encode("utf-8"))
        except InvalidTag:
            raise DecryptionError("encrypted blob failed its integrity check: it was changed, truncated, renamed, or "
                                  "written with a different key of the same id", path=name) from None

    def needs_rewrap(self, blob: bytes) -> bool:
        """True when a blob is plain or sealed under a key other than the current one."""
        return not is_sealed(blob) or blob_key_id(blob) != self.current_id


def blob_key_id(blob: bytes) -> bytes | None:
    """The id of the key a sealed blob names in its header (None for a plain one)."""
    return blob[len(MAGIC) + 1 : len(MAGIC) + 1 + KEY_ID_BYTES] if is_sealed(blob) else None


def _keys_from(key_text: str | None, key_file: str | os.PathLike | None) -> list[bytes]:
    keys: list[bytes] = []
    if key_file:
        keys += read_key_file(key_file)
    if key_text and key_text.strip():
        keys += [parse_key(part, source="PRODUCT_STUDIO_ENCRYPTION_KEY") for part in key_text.split(",") if part.strip()]
    return keys


def _file_state(path: Path | None) -> tuple[int, int, int] | None:
    """What tells that a key file changed: its inode, size and modification time (None if absent)."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns
