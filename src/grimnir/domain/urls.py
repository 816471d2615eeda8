"""URL helpers that keep secrets out of what we print."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

ICECAST_DEFAULT_PORT = 8000
"""The port of an Icecast URL that names none (Icecast's own default)."""

_USERINFO_PASSWORD = re.compile(r":[^:@/]*@")


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to print or log)."""
    try:
        parts = urlsplit(url)
        password = parts.password
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        password, port = None, ""
    if password is None:
        # NOTE: a string that does not parse as a URL may still hold "user:secret@".
        return _USERINFO_PASSWORD.sub(":***@", url) if "@" in url else url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
