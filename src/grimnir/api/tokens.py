"""Credentials: JWT access tokens here; refresh tokens, API keys and live tokens are
stored, so they live in :mod:`grimnir.services.tokens` (re-exported below).

Access tokens are HS256 JWTs signed with the installation's secret, 15 minutes
long, and only ever decoded with that one algorithm (``alg: none`` or RS/HS
confusion cannot pass). Refresh tokens, API keys and live tokens are random
secrets of which only a SHA-256 is stored: they carry 256 bits of entropy, so a
fast hash is the right one (argon2 is for the low-entropy passwords people pick).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt

from grimnir.services.tokens import (
    API_KEY_PREFIX,
    LIVE_TOKEN_PREFIX,
    LIVE_TOKEN_TTL,
    REFRESH_TTL,
    NewApiKey,
    TokenError,
    api_key_prefix,
    check_api_key,
    create_api_key,
    create_live_token,
    digest,
    issue_refresh,
    redeem_live_token,
    revoke_family,
    revoke_refresh,
    rotate_refresh,
)

__all__ = [
    "ACCESS_TTL",
    "ALGORITHM",
    "API_KEY_PREFIX",
    "ISSUER",
    "LIVE_TOKEN_PREFIX",
    "LIVE_TOKEN_TTL",
    "REFRESH_TTL",
    "NewApiKey",
    "TokenError",
    "api_key_prefix",
    "check_api_key",
    "create_api_key",
    "create_live_token",
    "digest",
    "issue_access",
    "issue_refresh",
    "read_access",
    "redeem_live_token",
    "revoke_family",
    "revoke_refresh",
    "rotate_refresh",
]

ACCESS_TTL = timedelta(minutes=15)
ISSUER = "grimnir"
ALGORITHM = "HS256"


# -- access tokens -------------------------------------------------------------


def issue_access(key: bytes, user_id: uuid.UUID, *, now: datetime | None = None) -> str:
    """A signed access token for ``user_id``, valid for :data:`ACCESS_TTL`."""
    now = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + ACCESS_TTL).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_access(key: bytes, token: str) -> uuid.UUID:
    """The user id of a valid access token; ``TokenError`` saying why otherwise."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("the access token has expired: refresh it or sign in again") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"the access token is not valid ({exc}): sign in again") from None
    if claims.get("typ") != "access":
        raise TokenError("not an access token: send the access_token from /auth/login")
    try:
        return uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise TokenError("the access token names no user: sign in again") from None
