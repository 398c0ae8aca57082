"""`product-studio keys`: make encryption keys and rotate the server's stored files to a new one."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import typer

from .common import EXIT_OK, EXIT_SOME_FAILED, JsonOption, handle_errors, help_text, info, print_json

keys_app = typer.Typer(
    help=help_text(
        """Encryption at rest for the server's stored uploads and results (AES-256-GCM).

          product-studio keys generate --key-file ~/.config/product-studio/keys

          PRODUCT_STUDIO_ENCRYPTION_KEY_FILE=~/.config/product-studio/keys product-studio serve

          product-studio keys rotate --data-dir ~/.local/share/product-studio --key-file ~/.config/product-studio/keys
        """
    ),
    no_args_is_help=True,
)

KeyFileOption = typer.Option(
    None, "--key-file", help="Key file (0600, one base64 key per line, last = current). Default: "
    "$PRODUCT_STUDIO_ENCRYPTION_KEY_FILE.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


def _key_file(given: Path | None) -> Path | None:
    if given is not None:
        return given
    env = os.environ.get("PRODUCT_STUDIO_ENCRYPTION_KEY_FILE")
    return Path(env) if env else None


@keys_app.command("generate")
@handle_errors
def generate(key_file: Path | None = KeyFileOption) -> None:
    """A new random AES-256 key. With --key-file it is added at the end of that file (created 0600) and
    becomes the current key; without, it is printed for PRODUCT_STUDIO_ENCRYPTION_KEY."""
    from ..crypto import append_key_file, generate_key, key_id, parse_key

    key = generate_key()
    path = _key_file(key_file)
    if path is None:
        typer.echo(key)
        return
    append_key_file(path, key)
    info(f"added key {key_id(parse_key(key)).hex()} to {path} (now the current key)")


@keys_app.command("rotate")
@handle_errors
def rotate(
    data_dir: Path = typer.Option(..., "--data-dir", help="The server's data folder (its blobs/ are re-encrypted)."),
    key_file: Path | None = KeyFileOption,
    new_key: bool = typer.Option(True, "--new-key/--no-new-key", help="Add a new key to the key file first "
                                 "(without a key file, put the new key last in PRODUCT_STUDIO_ENCRYPTION_KEY)."),
    drop_old: bool = typer.Option(False, "--drop-old", help="After every file is under the current key, remove "
                                  "the older keys from the key file."),
    json_out: bool = JsonOption,
) -> None:
    """Re-encrypt every stored file under the current key, one file at a time, atomically; files stored
    before encryption was on are encrypted too. Safe to run again after an interruption."""
    from ..crypto import Keyring, append_key_file, generate_key, key_id, read_key_file, write_key_file
    from ..errors import UsageError
    from ..store.blobs import BlobStore

    blobs_dir = data_dir.expanduser() / "blobs"
    if not blobs_dir.is_dir():
        raise UsageError(f"{data_dir} has no blobs/ folder; give the server's data_dir")
    path = _key_file(key_file)
    if path is not None and new_key:
        append_key_file(path, generate_key())
    env_key = os.environ.get("PRODUCT_STUDIO_ENCRYPTION_KEY")
    keyring = Keyring.from_sources(env_key, path)
    if keyring is None:
        raise UsageError("no keys: give --key-file or set PRODUCT_STUDIO_ENCRYPTION_KEY / _KEY_FILE")
    store = BlobStore(blobs_dir, keyring=keyring)
    report = store.rotate()
    doc = {"current_key": keyring.current_id.hex(), **report.to_dict()}
    if drop_old and path is not None:
        if report.failed:
            raise UsageError("some files could not be opened; old keys kept (see the failures)")
        stale = _stale_keys(store, keyring)
        if stale:
            raise UsageError(
                f"old keys kept: {sum(stale.values())} file(s) written during the rotation are still under "
                f"{', '.join(stale)}; a server that does not follow the key file (keys given in "
                "PRODUCT_STUDIO_ENCRYPTION_KEY) still writes with an old key: restart it with the new key, then run "
                "this again"
            )
        current = read_key_file(path)[-1]
        write_key_file(path, [base64.b64encode(current).decode("ascii")])
        doc["dropped_old_keys"] = True
    if json_out:
        print_json(doc)
    else:
        info(f"current key {key_id(keyring.keys[-1]).hex()}: {report.rewrapped} re-encrypted, {report.encrypted} "
             f"encrypted (were plain), {report.current} already current, {len(report.failed)} failed")
        for line in report.failed:
            info(f"  failed: {line}")
    raise typer.Exit(EXIT_SOME_FAILED if report.failed else EXIT_OK)


def _stale_keys(store, keyring, passes: int = 3) -> dict[str, int]:  # noqa: ANN001 - BlobStore, Keyring
    """Blobs not under the current key after re-encrypting again (a running server may have written
    some under an older key while the rotation ran): {key id or "plain": count}; empty when none."""
    current = keyring.current_id.hex()
    for _ in range(passes):
        stale = {kid: n for kid, n in store.keys_in_use().items() if kid != current}
        if not stale:
            return {}
        store.rotate()
    return {kid: n for kid, n in store.keys_in_use().items() if kid != current}
