"""LibreTime's ``config.yml`` (``/etc/libretime/config.yml``): the station's time
zone, its storage path, how users sign in and where the stream is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from grimnir.importers.errors import BackupError
from grimnir.importers.model import Finding, Output

_OWN_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass
class Config:
    """What the import uses of ``config.yml``."""

    timezone: str | None = None
    storage_path: str | None = None
    auth: str = "local"
    outputs: list[Output] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def read_config(path: Path) -> Config:
    """``config.yml`` at ``path``; BackupError when it is missing or not LibreTime's."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BackupError(f"cannot read the LibreTime config {path}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise BackupError(
            f"{path.name} is not valid YAML ({e}); give LibreTime's config.yml"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("general"), dict):
        raise BackupError(
            f"{path.name} is not a LibreTime config.yml (no 'general' section); give the file "
            "from /etc/libretime/config.yml"
        )
    general: dict[str, Any] = doc["general"]
    storage = doc.get("storage") if isinstance(doc.get("storage"), dict) else {}
    config = Config(
        timezone=_str(general.get("timezone")),
        storage_path=_str(storage.get("path")) if storage else None,
        auth=_str(general.get("auth")) or "local",
    )
    stream = doc.get("stream") if isinstance(doc.get("stream"), dict) else {}
    outputs = stream.get("outputs") if stream and isinstance(stream.get("outputs"), dict) else {}
    for kind in ("icecast", "shoutcast"):
        entries = outputs.get(kind) if outputs else None
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                _output(config, kind, i, entry)
    systems = outputs.get("system") if outputs else None
    for entry in systems if isinstance(systems, list) else []:
        if isinstance(entry, dict) and entry.get("enabled"):
            config.findings.append(
                Finding(
                    "output",
                    f"system ({entry.get('kind', 'pulseaudio')})",
                    "a sound card output has no equivalent here; add an output of the "
                    "engine by hand if the station needs one",
                )
            )
    if config.outputs and not any(o.is_default for o in config.outputs):
        config.outputs[0].is_default = True
    return config


def _str(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _output(
    config: Config, kind: Literal["icecast", "shoutcast"], index: int, entry: dict[str, Any]
) -> None:
    mount = _str(entry.get("mount"))
    name = f"{kind} {index + 1}" + (f" (/{mount})" if mount else "")
    if not entry.get("enabled"):
        config.findings.append(Finding("output", name, "disabled in LibreTime; not carried over"))
        return
    audio = entry.get("audio") if isinstance(entry.get("audio"), dict) else {}
    host = _str(entry.get("host")) or "localhost"
    port = entry.get("port", 8000)
    config.outputs.append(
        Output(
            key=f"{kind}:{index}",
            name=_str(entry.get("name")) or name,
            kind=kind,
            mount=f"/{mount}" if mount and kind == "icecast" else None,
            format=(_str(audio.get("format")) if audio else None) or "mp3",
            bitrate_kbps=int(audio["bitrate"]) if audio and audio.get("bitrate") else None,
            host=None if host in _OWN_HOSTS else host,
            port=int(port) if isinstance(port, int | str) and str(port).isdigit() else None,
            username=_str(entry.get("source_user")) or "source",
            password=_str(entry.get("source_password")),
        )
    )
