"""Process settings: where data lives, which database and bus to use.

Values come from, strongest first: ``GRIMNIR_*`` environment variables, an
optional YAML settings file (``--settings FILE`` or ``GRIMNIR_SETTINGS_FILE``),
then the embedded defaults (SQLite under the data dir, in-memory bus). Two
instances with different ``GRIMNIR_DATA_DIR`` never share state by accident.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from grimnir.domain.errors import ConfigError
from grimnir.domain.urls import mask_url

ENV_PREFIX = "GRIMNIR_"
SETTINGS_FILE_ENV = "GRIMNIR_SETTINGS_FILE"

_file_values: ContextVar[dict[str, Any] | None] = ContextVar("grimnir_settings_file", default=None)


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/grimnir``, or ``~/.local/share/grimnir``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "grimnir"


class _FileSource(PydanticBaseSettingsSource):
    """Values from the YAML settings file, weaker than the environment."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        values = _file_values.get() or {}
        return values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_file_values.get() or {})


class Settings(BaseSettings):
    """Settings of one Grimnir instance (control plane and the engines it runs)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the SQLite database, media and recordings live by default.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file in the data dir. "
        "postgresql://user:pass@host/db and mysql://user:pass@host/db work too.",
    )
    bus_url: str = Field(
        default="memory://",
        description="Event bus: memory://, redis://host:6379/0 or nats://host:4222.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["human", "json"] = Field(
        default="human",
        description="Log lines for people, or one JSON object per line for a log shipper "
        "(engines started by `grimnir up` log the same way).",
    )
    public_url: str | None = Field(
        default=None,
        description="Base of the URLs listeners and players are given (listen URLs, "
        "player and playlist links), e.g. https://radio.example.com; default: the "
        "scheme and host each request came to.",
    )
    metrics: bool = Field(
        default=True,
        description="Serve Prometheus /metrics and time every request for it "
        "(false turns both off).",
    )
    trusted_proxies: str = Field(
        default="",
        description="Reverse proxies whose X-Forwarded-For, -Proto and -Host are "
        "believed: addresses or networks, comma-separated (127.0.0.1,10.0.0.0/8).",
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query:
            raise ValueError(
                f"public_url {value!r}: give the base listeners reach, "
                "e.g. https://radio.example.com (http or https, no query)"
            )
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in filter(None, (x.strip() for x in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {item!r} is not an address or a network "
                    "(give e.g. 127.0.0.1 or 10.0.0.0/8, comma-separated)"
                ) from None
        return value

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` parsed."""
        return tuple(
            ipaddress.ip_network(x.strip(), strict=False)
            for x in self.trusted_proxies.split(",")
            if x.strip()
        )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("bus_url")
    @classmethod
    def _known_bus(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in {"memory", "redis", "rediss", "nats", "tls"}:
            raise ValueError(
                f"unknown bus scheme {scheme!r}: use memory://, redis://HOST:6379/0 "
                "or nats://HOST:4222"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls))

    # -- derived paths -----------------------------------------------------

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force (the default SQLite file when unset)."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'grimnir.db'}"

    @property
    def media_dir(self) -> Path:
        """Where ingested media files are stored by default."""
        return self.data_dir / "media"

    @property
    def recordings_dir(self) -> Path:
        """Where recordings (airchecks) are written by default."""
        return self.data_dir / "recordings"

    @property
    def is_embedded_database(self) -> bool:
        """True for the SQLite default, which Grimnir migrates by itself."""
        return self.resolved_database_url.startswith("sqlite")

    def display(self) -> dict[str, str]:
        """Every setting as printable text, with passwords masked."""
        return {
            "data_dir": str(self.data_dir),
            "database_url": mask_url(self.resolved_database_url),
            "bus_url": mask_url(self.bus_url),
            "log_level": self.log_level,
            "media_dir": str(self.media_dir),
            "recordings_dir": str(self.recordings_dir),
        }

    def __repr_args__(self) -> Any:
        # NOTE: keeps passwords out of reprs, tracebacks and logs.
        for key, value in super().__repr_args__():
            if key in {"database_url", "bus_url"} and isinstance(value, str):
                yield key, mask_url(value)
            else:
                yield key, value


def _read_settings_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read settings file: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a settings file is a mapping of key: value lines")
    valid = sorted(Settings.model_fields)
    problems = []
    for key in data:
        if key not in Settings.model_fields:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(valid)}"
            problems.append(f"{path} {key}: unknown setting {key!r}; {hint}")
    if problems:
        raise ConfigError(f"{path}: {len(problems)} unknown setting(s)", problems)
    return data


def load_settings(file: str | os.PathLike[str] | None = None) -> Settings:
    """Settings from the environment and the optional settings file.

    ``file`` wins over ``GRIMNIR_SETTINGS_FILE``. Raises ``ConfigError`` naming
    the variable or key to fix.
    """
    chosen = file if file is not None else os.environ.get(SETTINGS_FILE_ENV)
    values = _read_settings_file(Path(chosen)) if chosen else {}
    token = _file_values.set(values)
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            origin = (
                f"{ENV_PREFIX}{name.upper()}"
                if f"{ENV_PREFIX}{name.upper()}" in os.environ
                else f"{chosen}: {name}"
                if chosen
                else name
            )
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{origin}: {message}")
        raise ConfigError("invalid settings", problems) from None
    finally:
        _file_values.reset(token)
