"""Bytes in and out of local folders and ``s3://`` buckets, with one set of functions.

Local paths keep the local rules (``imageio.read_bytes`` limits, ``imageio.write_atomic``: a file
appears under its final name only when complete). ``s3://bucket/key`` URLs go through fsspec
(s3fs); an S3 object put is atomic by nature, so an output is written with one put to its final
key and a reader never sees part of it.

Where S3 is, and who you are, comes from the environment as with the AWS tools:
``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``) for an S3-compatible server such as MinIO, and
the standard ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_PROFILE`` / ``AWS_REGION``.
``options`` (s3fs ``S3FileSystem`` keyword arguments) override them per call.

Failures are typed: StorageNotFoundError (no such object, prefix or bucket),
StorageCredentialsError (no credentials, or refused), StorageUnreachableError (the endpoint does
not answer), StorageError for the rest.

    >>> from product_studio import storage
    >>> data = storage.read_input("s3://shots/2024/boot.jpg")
    >>> storage.write_output("s3://ready/2024/boot.jpg", data)
    >>> storage.list_images("s3://shots/2024/")      # [(url, relative), ...]

``pathlib.Path("s3://b/k")`` collapses the double slash to ``s3:/b/k``; that spelling is accepted
too, so a URL that went through ``Path`` by accident still reaches S3.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import (
    ImageTooLargeError,
    OutputError,
    StorageCredentialsError,
    StorageError,
    StorageNotFoundError,
    StorageUnreachableError,
    UsageError,
)
from .imageio import (
    DEFAULT_MAX_BYTES,
    INPUT_EXTENSIONS,
    SavedImage,
    check_target,
    encode_image,
    make_folder,
    output_format_for,
    read_bytes,
    safe_output_path,
    save_image,
    write_atomic,
)

REMOTE_SCHEMES = ("s3",)
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
                 ".json": "application/json", ".csv": "text/csv", ".html": "text/html; charset=utf-8"}
DEFAULT_CONNECT_TIMEOUT = 10  # seconds; botocore's own default is 60, too long to learn a URL is wrong

PathLike = str | os.PathLike


# --------------------------------------------------------------------------- what a path is

def is_remote(path: PathLike) -> bool:
    """True for ``s3://...`` (and its pathlib-collapsed spelling ``s3:/...``)."""
    text = os.fspath(path) if not isinstance(path, str) else path
    return any(text.startswith(f"{scheme}:/") for scheme in REMOTE_SCHEMES)


def normalize(path: PathLike) -> str | Path:
    """A remote URL as ``s3://bucket/key`` (str); a local path as a Path."""
    if not is_remote(path):
        return Path(path)
    scheme, key = split_url(path)
    return f"{scheme}://{key}"


def split_url(url: PathLike) -> tuple[str, str]:
    """``s3://bucket/a/b.jpg`` -> ``("s3", "bucket/a/b.jpg")``; UsageError when there is no bucket."""
    text = os.fspath(url)
    scheme, _, rest = text.partition(":")
    key = rest.lstrip("/")
    if not key or key.startswith("/"):
        raise UsageError(f"'{text}' names no bucket; write s3://bucket/prefix/")
    return scheme, key


def join(base: PathLike, *parts: PathLike) -> str | Path:
    """``base / part / ...`` for a local folder or a remote prefix (no escape check; see output_path)."""
    if not is_remote(base):
        return Path(base).joinpath(*parts)
    url = str(normalize(base)).rstrip("/")
    for part in parts:
        piece = PurePosixPath(os.fspath(part)).as_posix().strip("/")
        if piece and piece != ".":
            url = f"{url}/{piece}"
    return url


def output_path(out_dir: PathLike, relative: PathLike) -> str | Path:
    """``out_dir / relative``, refusing names that escape it (``..``, absolute); local or remote.

    The local case is ``imageio.safe_output_path`` (resolved Path); the remote case a URL string.
    """
    if not is_remote(out_dir):
        return safe_output_path(out_dir, relative)
    rel = PurePosixPath(Path(relative).as_posix())
    if rel.is_absolute() or any(part == ".." for part in rel.parts) or not rel.parts:
        raise OutputError(f"output name '{relative}' would leave the output folder; rename the file", path=str(relative))
    return join(out_dir, rel)


def prepare_output_dir(out_dir: PathLike, *, options: Mapping[str, Any] | None = None) -> str | Path:
    """Make ready to write below ``out_dir``: a local folder is created (Path returned); for a remote
    prefix the bucket must exist and be reachable (the URL is returned as ``s3://bucket/prefix``).

    Checked once up front, so a wrong bucket or endpoint fails the job, not every file in it.
    """
    if not is_remote(out_dir):
        return make_folder(out_dir)
    url = str(normalize(out_dir))
    fs, key = _fs_and_key(url, options)
    bucket = key.split("/", 1)[0]
    with _translated(url):
        if not fs.exists(bucket):
            raise StorageNotFoundError(f"the bucket '{bucket}' does not exist (or is not visible with these credentials); create it first", path=url)
    return url.rstrip("/")


# --------------------------------------------------------------------------- filesystems

def storage_options_from_env(scheme: str = "s3") -> dict[str, Any]:
    """s3fs options the environment asks for: the endpoint (``AWS_ENDPOINT_URL_S3`` or
    ``AWS_ENDPOINT_URL``) and a short connect timeout. Credentials are left to botocore's own chain
    (environment, profile, instance role)."""
    if scheme != "s3":
        return {}
    options: dict[str, Any] = {"config_kwargs": {"connect_timeout": DEFAULT_CONNECT_TIMEOUT}}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["client_kwargs"] = {"endpoint_url": endpoint}
    return options


def filesystem(scheme: str = "s3", options: Mapping[str, Any] | None = None):
    """The fsspec filesystem for ``scheme``: environment settings, overridden by ``options``.

    One instance per (process, settings); fsspec drops its cached instances in a forked child.
    """
    merged = _merge(storage_options_from_env(scheme), dict(options or {}))
    # Environment variables are part of the key: a test (or a user) that changes AWS_* gets a new client.
    env_key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    return _cached_filesystem(scheme, json.dumps(merged, sort_keys=True, default=str), env_key, os.getpid())


@functools.lru_cache(maxsize=16)
def _cached_filesystem(scheme: str, options_json: str, env_key: tuple, pid: int):
    if scheme not in REMOTE_SCHEMES:
        raise UsageError(f"storage scheme '{scheme}://' is not supported; use a local path or s3://")
    try:
        import fsspec
    except ImportError:  # pragma: no cover - installed with the package
        raise UsageError("s3:// paths need fsspec and s3fs: pip install 'product-studio[s3]'") from None
    try:
        return fsspec.filesystem(scheme, skip_instance_cache=True, **json.loads(options_json))
    except ImportError:
        raise UsageError("s3:// paths need the s3fs package: pip install 'product-studio[s3]'") from None


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _fs_and_key(url: PathLike, options: Mapping[str, Any] | None):
    scheme, key = split_url(url)
    return filesystem(scheme, options), key


@contextlib.contextmanager
def _translated(url: str) -> Iterator[None]:
    """Turn s3fs / botocore / aiohttp failures into our typed errors, each naming the URL."""
    try:
        yield
    except (StorageError, UsageError, OutputError, ImageTooLargeError):
        raise
    except FileNotFoundError as exc:
        text = str(exc).lower()
        missing_bucket = "bucket does not exist" in text or "nosuchbucket" in text
        reason = "the bucket does not exist" if missing_bucket else "no such object or prefix"
        raise StorageNotFoundError(f"{reason}; check the bucket and key", path=url) from None
    except PermissionError as exc:
        raise StorageCredentialsError(
            f"access denied ({exc}); check the credentials (AWS_ACCESS_KEY_ID / AWS_PROFILE) and the bucket policy", path=url
        ) from None
    except Exception as exc:  # noqa: BLE001 - botocore/aiohttp types are optional imports; sorted by name
        kind = _classify(exc)
        if kind == "credentials":
            raise StorageCredentialsError(
                "no credentials found for S3; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
                "or pass key/secret in the storage options",
                path=url,
            ) from None
        if kind == "unreachable":
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "the AWS S3 endpoint"
            raise StorageUnreachableError(
                f"could not connect to {endpoint} ({type(exc).__name__}); check AWS_ENDPOINT_URL and that the server is up",
                path=url,
            ) from None
        raise StorageError(f"storage request failed ({type(exc).__name__}: {exc})", path=url) from None


def _classify(exc: BaseException) -> str:
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "ProfileNotFound"}:
        return "credentials"
    if names & {"EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError", "ServerDisconnectedError",
                "ConnectionRefusedError", "ConnectionError", "ReadTimeoutError", "ConnectionClosedError"}:
        return "unreachable"
    return "other"


# --------------------------------------------------------------------------- bytes in and out

def exists(path: PathLike, *, options: Mapping[str, Any] | None = None) -> bool:
    """Whether a file (local) or an object (remote) exists at ``path``."""
    if not is_remote(path):
        return Path(path).exists()
    url = str(normalize(path))
    fs, key = _fs_and_key(url, options)
    with _translated(url):
        return bool(fs.exists(key))


def kind(path: PathLike, *, options: Mapping[str, Any] | None = None) -> str | None:
    """``"file"``, ``"folder"`` (a local directory or a remote prefix) or None when nothing is there."""
    if not is_remote(path):
        p = Path(path)
        return "folder" if p.is_dir() else "file" if p.exists() else None
    url = str(normalize(path))
    fs, key = _fs_and_key(url, options)
    with _translated(url):
        try:
            info = fs.info(key)
        except FileNotFoundError:
            return None
    return "folder" if info.get("type") == "directory" else "file"


def read_input(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, options: Mapping[str, Any] | None = None) -> bytes:
    """All bytes of a local file or a remote object, refusing more than ``max_bytes`` before reading.

    Local: ``imageio.read_bytes`` (UsageError for a missing file or a folder). Remote: the size is
    read first (one HEAD), then the object (one GET).
    """
    if not is_remote(path):
        return read_bytes(path, max_bytes=max_bytes)
    url = str(normalize(path))
    fs, key = _fs_and_key(url, options)
    with _translated(url):
        info = fs.info(key)
        if info.get("type") == "directory":
            raise UsageError("is a prefix (folder), not an object; name an image or use it as an input folder", path=url)
        size = int(info.get("size") or 0)
        if size > max_bytes:
            raise ImageTooLargeError(
                f"object is {size:,} bytes, over the limit of {max_bytes:,}; raise max_bytes if this is intended", path=url
            )
        return fs.cat_file(key)


def write_output(target: PathLike, data: bytes, *, options: Mapping[str, Any] | None = None) -> None:
    """Write ``data`` so that ``target`` holds all of it or its old content, never a part.

    Local: ``imageio.write_atomic`` (temporary file, fsync, rename). Remote: one put to the final key
    (S3 makes an object visible only once the put, or the multipart upload, completes).
    """
    if not is_remote(target):
        write_atomic(target, data)
        return
    url = str(normalize(target))
    fs, key = _fs_and_key(url, options)
    extra = {}
    content_type = CONTENT_TYPES.get(PurePosixPath(key).suffix.lower())
    if content_type:
        extra["ContentType"] = content_type
    with _translated(url):
        fs.pipe_file(key, bytes(data), **extra)


def save_output(
    item: Any,
    target: PathLike,
    *,
    format: str | None = None,
    quality: int | None = None,
    max_bytes: int | None = None,
    overwrite: bool = False,
    protect: tuple[PathLike, ...] = (),
) -> SavedImage:
    """``imageio.save_image`` for a local target; encode and put for a remote one, with the same
    rules: never over a path in ``protect`` (the job's inputs), never over an existing output unless
    ``overwrite``."""
    if not is_remote(target):
        return save_image(item, target, format=format, quality=quality, max_bytes=max_bytes, overwrite=overwrite, protect=protect)
    url = str(normalize(target))
    fmt = (format or output_format_for(url)).lower().replace("jpg", "jpeg")
    _check_remote_target(url, overwrite=overwrite, protect=protect)
    data, used = encode_image(item, format=fmt, quality=quality, max_bytes=max_bytes)
    write_output(url, data)
    pixels = getattr(item, "pixels", item)
    return SavedImage(path=url, format=fmt, bytes=len(data), quality=used, width=pixels.shape[1], height=pixels.shape[0])  # type: ignore[arg-type]


def put_output(target: PathLike, data: bytes, *, overwrite: bool = False, protect: tuple[PathLike, ...] = ()) -> None:
    """``save_output`` for bytes already encoded (``pipeline.process``'s output), with the same rules."""
    if not is_remote(target):
        check_target(target, overwrite=overwrite, protect=tuple(p for p in protect if not is_remote(p)))
    else:
        _check_remote_target(str(normalize(target)), overwrite=overwrite, protect=protect)
    write_output(target, data)


def _check_remote_target(url: str, *, overwrite: bool, protect: tuple[PathLike, ...]) -> None:
    if any(is_remote(p) and str(normalize(p)) == url for p in protect):
        raise OutputError("this output would overwrite its input; choose another output folder", path=url)
    if not overwrite and exists(url):
        raise OutputError("file exists; pass --overwrite to replace it or choose another output", path=url)


# --------------------------------------------------------------------------- listing

def _is_image_name(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    hidden = any(part.startswith(".") for part in parts)  # .thumbs/, ._x.jpg, .git/
    return bool(parts) and not hidden and PurePosixPath(relative).suffix.lower() in INPUT_EXTENSIONS


def list_images(folder: PathLike, *, recursive: bool = True, options: Mapping[str, Any] | None = None) -> list[tuple[str | Path, str]]:
    """Image files below a local folder or a remote prefix, as ``(path or URL, relative)`` sorted by
    relative path. Only image extensions; hidden names (a part starting with '.') are skipped.

    A remote prefix is taken as a folder: ``s3://b/shots`` lists ``shots/...``, never ``shots-old/``.
    StorageNotFoundError when the bucket does not exist; an empty list for an empty prefix.
    """
    if not is_remote(folder):
        root = Path(folder)
        walker = root.rglob("*") if recursive else root.glob("*")
        found = [(f, f.relative_to(root).as_posix()) for f in walker if f.is_file()]
        return sorted(((f, rel) for f, rel in found if _is_image_name(rel)), key=lambda t: t[1])
    url = str(normalize(folder)).rstrip("/")
    fs, key = _fs_and_key(url, options)
    scheme = url.split(":", 1)[0]
    with _translated(url):
        keys = fs.find(key, maxdepth=None if recursive else 1)
    out = []
    for k in keys:
        if not k.startswith(key + "/"):
            continue
        rel = k[len(key) + 1 :]
        if rel and not rel.endswith("/") and _is_image_name(rel):
            out.append((f"{scheme}://{k}", rel))
    return sorted(out, key=lambda t: t[1])


def glob(pattern: PathLike, *, options: Mapping[str, Any] | None = None) -> list[tuple[str | Path, str]]:
    """Files matching a glob (``*``, ``?``, ``[...]``, ``**`` for any depth), as ``(path or URL,
    relative)`` where relative is the path below the pattern's fixed part. Hidden names are skipped
    (a ``*`` never stands for a name starting with '.', as with the local glob)."""
    text = os.fspath(pattern)
    if not is_remote(text):
        import glob as _glob

        base = _fixed_part(text)
        out = []
        for m in sorted(_glob.glob(text, recursive=True)):
            p = Path(m)
            if p.is_file():
                rel = p.relative_to(base).as_posix() if base and p.is_relative_to(base) else p.name
                out.append((p, rel))
        return out
    url = str(normalize(text))
    scheme, key = split_url(url)
    fs = filesystem(scheme, options)
    base = _fixed_part(key)
    with _translated(url):
        matches = fs.glob(key)
    out = []
    for k in sorted(matches):
        if k.endswith("/") or not (k.startswith(base + "/") if base else True):
            continue
        rel = k[len(base) + 1 :] if base else k
        if any(part.startswith(".") for part in PurePosixPath(rel).parts):
            continue  # '*' never means a hidden name, as with the local glob
        out.append((f"{scheme}://{k}", rel))
    return out


def _fixed_part(pattern: str) -> str:
    """The leading folders of a glob that hold no wildcard: ``a/b/*/c.jpg`` -> ``a/b``."""
    parts = PurePosixPath(pattern).parts if "/" in pattern else Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    if not fixed:
        return ""
    return str(PurePosixPath(*fixed)) if "/" in pattern else str(Path(*fixed))
