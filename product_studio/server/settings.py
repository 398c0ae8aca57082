"""Service settings: one pydantic-settings model, read from ``PRODUCT_STUDIO_*`` environment variables.

    PRODUCT_STUDIO_HOST=0.0.0.0 PRODUCT_STUDIO_API_KEYS=k1,k2 product-studio serve

Safe by default: bound to loopback, no CORS origins, URL fetching off. Encryption at rest is on
when ``PRODUCT_STUDIO_ENCRYPTION_KEY`` or ``PRODUCT_STUDIO_ENCRYPTION_KEY_FILE`` is set. Binding to any other
address without API keys is refused (``Settings.check_safe``), so a service is never exposed
by accident.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any

import annotated_types
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from ..errors import UsageError

ENV_PREFIX = "PRODUCT_STUDIO_"
MB = 1_000_000


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "product-studio"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Everything the service can be told; each field is also ``PRODUCT_STUDIO_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    host: str = Field("127.0.0.1", description="address to bind; anything but loopback needs api_keys")
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    data_dir: Path = Field(default_factory=_default_data_dir, description="uploads, results and the SQLite file")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/studio.sqlite. e.g. postgresql+psycopg://u:p@host/db"
    )
    max_upload_bytes: int = Field(25 * MB, gt=0, description="request body cap, counted on the stream (413)")
    max_pixels: int = Field(40_000_000, gt=0, description="pixel cap per image, checked before decoding (413)")
    max_output_pixels: int = Field(40_000_000, gt=0, description="pixel cap of any image a recipe makes, checked before "
                                                                 "the work starts (413)")
    max_recipe_steps: int = Field(32, ge=1, le=1000, description="steps in one recipe (413 above)")
    request_timeout_s: float = Field(120.0, gt=0, description="longest wait for a request's image work (504)")
    max_concurrency: int = Field(32, ge=1, description="image requests admitted at once, running or waiting (429 above)")
    cpu_slots: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="image requests computed at once")
    retry_after_s: int = Field(2, ge=1, description="Retry-After sent with 429")
    job_workers: int = Field(1, ge=1, le=16, description="threads running /v1/jobs batches")
    max_queued_jobs: int = Field(64, ge=1, description="jobs queued or running at once (429 above)")
    max_job_files: int = Field(500, ge=1, description="files in one job")
    job_lease_s: float = Field(60.0, ge=1, le=3600, description="a job's lease, renewed while its server runs: a job "
                                                                "whose server stopped is failed this long after")
    keep_inputs: bool = Field(False, description="keep each request's raw upload (served at /v1/results/{id}/input); off: "
                                                 "only outputs are stored, uploads live in memory for the request")
    retention_days: float = Field(7.0, ge=0, description="results (record and files) and jobs older than this are deleted; "
                                                         "0 keeps them until DELETE /v1/results/{id}")
    retention_sweep_s: float = Field(3600.0, ge=1, description="how often expired results are swept (also at start-up)")
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="accepted keys (X-API-Key or Authorization: Bearer); comma-separated in the env"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list, description="allowed origins; none by default")
    allow_url_fetch: bool = Field(False, description="let /v1/process/json fetch image_url (off by default)")
    url_fetch_allow_private: bool = Field(False, description="let fetched URLs point at private/loopback addresses")
    url_fetch_timeout_s: float = Field(15.0, gt=0, le=600, description="total time one URL fetch may take: connect, "
                                                                      "headers and body together (then 400)")
    feedback_min_votes: int = Field(20, ge=1, description="votes a recipe variant needs before feedback may switch to it")
    feedback_cache_s: float = Field(30.0, ge=0, description="how long the feedback-tuned defaults are cached")
    encryption_key: SecretStr | None = Field(
        None, description="AES-256 key(s), base64, comma-separated, last = current: stored uploads and results are "
                          "encrypted (AES-GCM); off when neither this nor encryption_key_file is set"
    )
    encryption_key_file: Path | None = Field(None, description="a key file (mode 0600; one base64 key per line, last = current)")
    search_index: Path | None = Field(
        None, description="index folder written by `product-studio index` that GET /v1/search queries; none by default (404)"
    )

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("api_keys")
    @classmethod
    def _keys_long_enough(cls, value: list[str]) -> list[str]:
        short = [k for k in value if len(k) < 16]
        if short:
            raise ValueError("every API key needs at least 16 characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)")
        return value

    @field_validator("encryption_key_file")
    @classmethod
    def _key_file_usable(cls, value: Path | None) -> Path | None:
        if value is not None:
            from ..crypto import read_key_file

            try:
                read_key_file(value)
            except UsageError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("encryption_key")
    @classmethod
    def _key_usable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            from ..crypto import Keyring

            try:
                Keyring.from_sources(value.get_secret_value())
            except UsageError as exc:
                raise ValueError(str(exc)) from None
        return value

    def keyring(self):  # -> crypto.Keyring | None
        """The keys for encryption at rest, or None (encryption off)."""
        from ..crypto import Keyring

        text = self.encryption_key.get_secret_value() if self.encryption_key is not None else None
        return Keyring.from_sources(text, self.encryption_key_file)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{Path(self.data_dir).expanduser().resolve() / 'studio.sqlite'}"

    def check_safe(self) -> None:
        """Refuse a configuration that would expose the service: a non-loopback host without keys."""
        if not is_loopback(self.host) and not self.api_keys:
            raise UsageError(
                f"refusing to serve on {self.host} without API keys: set PRODUCT_STUDIO_API_KEYS (comma-separated, "
                "16+ characters each) or bind to 127.0.0.1"
            )


SECRET_FIELDS = frozenset({"api_keys", "encryption_key"})  # never echoed in an error
_KIND = {int: "a whole number", float: "a number", bool: "true or false", str: "text", Path: "a path"}


def load_settings(**values: Any) -> Settings:
    """``Settings(**values)`` (and the environment), with a bad value reported as one UsageError line per
    setting: its variable, the value (hidden for keys), what went wrong and what it accepts, e.g.
    ``PRODUCT_STUDIO_MAX_UPLOAD_BYTES='abc': not a whole number; it takes a whole number > 0 (request body cap ...)``."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise UsageError("; ".join(_explain(error) for error in exc.errors())) from None
    except SettingsError as exc:  # a value the environment source could not even parse
        raise UsageError(f"a PRODUCT_STUDIO_* setting could not be read: {exc}") from None


def accepts(name: str) -> str:
    """What a setting takes, in words: its kind, its bounds and its description."""
    field = Settings.model_fields[name]
    annotation = field.annotation
    kinds = [k for t, k in _KIND.items() if annotation is t or t in getattr(annotation, "__args__", ())]
    kind = "a comma-separated list" if "list" in str(annotation) else (kinds[0] if kinds else "a value")
    bound = {attr: getattr(meta, attr) for meta in field.metadata for attr in ("gt", "ge", "lt", "le")
             if isinstance(meta, getattr(annotated_types, attr.capitalize()))}
    if "ge" in bound and "le" in bound:
        bounds = [f"from {bound['ge']} to {bound['le']}"]
    else:
        bounds = [f"{sign} {bound[attr]}" for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")) if attr in bound]
    what = " ".join([kind, *bounds]) if bounds else kind
    return f"{what} ({field.description})" if field.description else what


def _explain(error: dict[str, Any]) -> str:
    loc = error.get("loc") or ("",)
    name = str(loc[0])
    variable = f"{ENV_PREFIX}{name.upper()}"
    if name not in Settings.model_fields:
        return f"{variable}: {error.get('msg')}"
    value = error.get("input")
    shown = "" if name in SECRET_FIELDS or isinstance(value, dict) else f"={value!r}"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if error.get("type") == "value_error":  # our own validators say what to do
        return f"{variable}{shown}: {message.removeprefix(variable + ': ')}"
    return f"{variable}{shown}: {message[:1].lower() + message[1:]}; it takes {accepts(name)}"
