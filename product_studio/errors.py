"""Typed errors. Every message says what went wrong and what to do about it.

The core raises these and never prints or exits; the CLI maps them to exit codes
(``UsageError`` -> 2, everything else -> 1 for the file concerned) and the server to
HTTP status codes via ``http_status``.
"""

from __future__ import annotations


class StudioError(Exception):
    """Base of every error Product Studio raises on purpose."""

    http_status = 422

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class UsageError(StudioError):
    """The caller asked for something impossible: a bad option, a missing file, a bad flag."""

    http_status = 400


class ImageError(StudioError):
    """An input file could not be read as an image."""


class EmptyFileError(ImageError):
    """The file has zero bytes."""


class UnsupportedFormatError(ImageError):
    """The bytes are not one of the supported image formats (judged by magic bytes)."""

    http_status = 415


class CorruptImageError(ImageError):
    """The file claims a supported format but its data is damaged or truncated."""


class ImageTooLargeError(ImageError):
    """Too many pixels or too many bytes: refused before the full decode."""

    http_status = 413


class OutputError(StudioError):
    """An output could not be written where it was asked for (exists, is an input, unsafe name)."""


class OutputUnwritable(OutputError):
    """The output folder takes no more files (a full disk, a read-only file system, no permission).
    Every later file would fail the same way, so a batch stops at it; its files are not marked
    failed, and the next run of the same command processes them."""

    http_status = 507


class RecipeError(UsageError):
    """A recipe names an unknown step or gives it options it does not take."""


class LimitError(UsageError):
    """A recipe or an input would pass one of the limits (``limits.Limits``): refused before any work."""

    http_status = 413


class FileTimeout(StudioError):
    """One file's work took longer than its limit (``Limits.seconds_per_file``) and was stopped."""

    http_status = 504


class PresetError(UsageError):
    """An unknown marketplace preset, or a preset file that does not follow the schema."""


class ModelError(StudioError):
    """A model file is missing, damaged, or does not match what the code expects."""

    http_status = 500


class TrainingInterrupted(StudioError):
    """Training was stopped (Ctrl-C, SIGINT) between two steps; a checkpoint of that step was saved.
    The CLI exits with 130, as a shell does for an interrupted command."""

    exit_code = 130

    def __init__(self, message: str, *, step: int, total_steps: int, checkpoint: str) -> None:
        self.step, self.total_steps, self.checkpoint = step, total_steps, checkpoint
        super().__init__(message)


class OperationError(StudioError):
    """An operation could not do its work on this input (for example: no product found)."""


class StorageError(StudioError):
    """Remote storage (S3 or another fsspec filesystem) refused or failed a request."""

    http_status = 502


class StorageNotFoundError(StorageError):
    """The object, prefix or bucket named does not exist."""

    http_status = 404


class StorageCredentialsError(StorageError):
    """No credentials were found for the storage, or they were refused."""

    http_status = 403


class StorageUnreachableError(StorageError):
    """The storage endpoint could not be reached (wrong URL, network down, server not running)."""

    http_status = 503
