"""Where an AzuraCast station sends its audio and its events: mounts and remote
relays as Outputs, webhooks as Webhooks (their settings beyond the URL reported)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from grimnir.importers._azuracast_map import Row, flag, integer, json_value, text
from grimnir.importers._azuracast_sql import Dump
from grimnir.importers.model import Finding, Output, Webhook

_FORMATS = {"mp3", "aac", "ogg", "opus", "flac"}
_WEBHOOK_URL_KEYS = ("webhook_url", "webhookurl", "url", "instance_url", "matomo_url", "api")


def outputs(dump: Dump, station: Row, findings: list[Finding]) -> list[Output]:
    """The station's mounts (on its own server) and remote relays."""
    sid = station["id"]
    frontend = text(station.get("frontend_type")) or "icecast"
    config = json_value(station.get("frontend_config"))
    conf = config if isinstance(config, dict) else {}
    kind: Literal["icecast", "shoutcast"] = (
        "shoutcast" if frontend.startswith("shoutcast") else "icecast"
    )
    out: list[Output] = []
    for row in dump.rows("station_mounts"):
        if row["station_id"] != sid:
            continue
        name = text(row.get("name")) or ""
        label = text(row.get("display_name")) or name
        fmt = (text(row.get("autodj_format")) or "mp3").lower()
        out.append(
            Output(
                key=f"mount-{text(row['id'])}",
                name=label,
                kind=kind,
                mount=name,
                format=fmt if fmt in _FORMATS else "mp3",
                bitrate_kbps=integer(row.get("autodj_bitrate")),
                port=integer(conf.get("port")),
                username="source",
                password=text(conf.get("source_pw")),
                is_default=flag(row.get("is_default")),
                public=flag(row.get("is_public")),
            )
        )
        if text(row.get("relay_url")):
            findings.append(
                Finding(
                    "output",
                    label,
                    f"relays {text(row['relay_url'])}: relaying another "
                    "server's stream into a mount is not carried over",
                    skipped=False,
                )
            )
    for row in dump.rows("station_remotes"):
        if row["station_id"] != sid:
            continue
        url = text(row.get("url")) or ""
        label = text(row.get("display_name")) or url
        rtype = text(row.get("type")) or "icecast"
        if not flag(row.get("enable_autodj")):
            findings.append(
                Finding(
                    "output",
                    label,
                    "a remote relay AzuraCast only lists (it "
                    "broadcasts nothing to it): nothing to carry over",
                )
            )
            continue
        if rtype not in ("icecast", "shoutcast1", "shoutcast2"):
            findings.append(
                Finding(
                    "output",
                    label,
                    f"a remote of type {rtype!r} has no "
                    "equivalent here: add the server as an Icecast output",
                )
            )
            continue
        parts = urlsplit(url if "//" in url else f"http://{url}")
        fmt = (text(row.get("autodj_format")) or "mp3").lower()
        out.append(
            Output(
                key=f"remote-{text(row['id'])}",
                name=label,
                kind="icecast" if rtype == "icecast" else "shoutcast",
                mount=text(row.get("source_mount")) or text(row.get("mount")),
                format=fmt if fmt in _FORMATS else "mp3",
                bitrate_kbps=integer(row.get("autodj_bitrate")),
                host=parts.hostname,
                port=integer(row.get("source_port")) or parts.port,
                username=text(row.get("source_username")),
                password=text(row.get("source_password")),
                public=flag(row.get("is_public")),
            )
        )
    return out


def webhooks(dump: Dump, station: Row, findings: list[Finding]) -> list[Webhook]:
    """The station's webhooks; settings other than the URL are reported."""
    out: list[Webhook] = []
    for row in dump.rows("station_webhooks"):
        if row["station_id"] != station["id"]:
            continue
        kind = text(row.get("type")) or "generic"
        name = text(row.get("name")) or kind
        config = json_value(row.get("config"))
        conf = config if isinstance(config, dict) else {}
        url_key = next((k for k in _WEBHOOK_URL_KEYS if conf.get(k)), None)
        triggers = json_value(row.get("triggers"))
        out.append(
            Webhook(
                key=str(row["id"]),
                name=name,
                kind=kind,
                url=str(conf[url_key]) if url_key else None,
                triggers=[str(t) for t in triggers] if isinstance(triggers, list) else [],
                enabled=flag(row.get("is_enabled")),
            )
        )
        rest = sorted(k for k, v in conf.items() if k != url_key and v not in (None, ""))
        if rest:
            findings.append(
                Finding("webhook", name, "settings left out: " + ", ".join(rest), skipped=False)
            )
    return out
