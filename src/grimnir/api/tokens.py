"""Credentials: JWT access tokens, rotating refresh tokens, API keys, live tokens.

Access tokens are HS256 JWTs signed with the installation's secret, 15 minutes
long, and only ever decoded with that one algorithm (``alg: none`` or RS/HS
confusion cannot pass). Refresh tokens, API keys and live tokens are random
secrets of which only a SHA-256 is stored: they carry 256 bits of entropy, so a
fast hash is the right one (argon2 is for the low-entropy passwords people pick).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.store.models import ApiKey, LiveToken, RefreshToken

ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)
LIVE_TOKEN_TTL = timedelta(hours=24)
ISSUER = "grimnir"
ALGORITHM = "HS256"
API_KEY_PREFIX = "grk_"
LIVE_TOKEN_PREFIX = "glt_"  # noqa: S105 — a prefix, not a secret


class TokenError(Exception):
    """A credential that is malformed, expired, revoked or signed with another key."""


def digest(secret: str) -> str:
    """SHA-256 hex of a random secret (what the database keeps)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


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


# -- refresh tokens --------------------------------------------------------------


async def issue_refresh(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    family: uuid.UUID | None = None,
    now: datetime | None = None,
) -> str:
    """A new refresh token (stored hashed) in ``family`` (a new one for a sign-in)."""
    now = now or datetime.now(UTC)
    secret = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            user_id=user_id,
            family=family or uuid.uuid4(),
            token_hash=digest(secret),
            created_at=now,
            expires_at=now + REFRESH_TTL,
        )
    )
    await session.flush()
    return secret


async def rotate_refresh(
    session: AsyncSession, secret: str, *, now: datetime | None = None
) -> tuple[uuid.UUID, str]:
    """Use a refresh token once: (user id, the next token). A token presented a
    second time revokes its whole family, so a stolen copy stops working for both."""
    now = now or datetime.now(UTC)
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == digest(secret))
    )
    if row is None:
        raise TokenError("unknown refresh token: sign in again")
    if row.revoked_at is not None:
        raise TokenError("this sign-in was revoked: sign in again")
    if row.used_at is not None:
        await revoke_family(session, row.family, now=now)
        raise TokenError(
            "this refresh token was already used, so the sign-in is revoked: sign in again"
        )
    if row.expires_at <= now:
        raise TokenError("the refresh token has expired: sign in again")
    row.used_at = now
    return row.user_id, await issue_refresh(session, row.user_id, family=row.family, now=now)


async def revoke_family(
    session: AsyncSession, family: uuid.UUID, *, now: datetime | None = None
) -> None:
    """Revoke every refresh token of one sign-in."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )


async def revoke_refresh(session: AsyncSession, secret: str) -> bool:
    """Sign out: revoke the family of this refresh token (False if unknown)."""
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == digest(secret))
    )
    if row is None:
        return False
    await revoke_family(session, row.family)
    return True


# -- API keys --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewApiKey:
    row: ApiKey
    secret: str
    """The whole key, shown to its owner once."""


async def create_api_key(
    session: AsyncSession,
    user_id: uuid.UUID,
    name: str,
    *,
    expires_at: datetime | None = None,
) -> NewApiKey:
    """A new API key ``grk_<prefix>_<secret>``; only the prefix and a hash are stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    whole = f"{API_KEY_PREFIX}{prefix}_{secret}"
    row = ApiKey(
        user_id=user_id, name=name, prefix=prefix, key_hash=digest(whole), expires_at=expires_at
    )
    session.add(row)
    await session.flush()
    return NewApiKey(row, whole)


def api_key_prefix(whole: str) -> str | None:
    """The lookup prefix of something shaped like an API key, else ``None``."""
    if not whole.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, _ = whole[len(API_KEY_PREFIX) :].partition("_")
    return prefix if sep and 0 < len(prefix) <= 32 else None


async def check_api_key(
    session: AsyncSession, whole: str, *, now: datetime | None = None
) -> ApiKey:
    """The key row for a presented API key; ``TokenError`` if it does not hold."""
    now = now or datetime.now(UTC)
    prefix = api_key_prefix(whole)
    if prefix is None:
        raise TokenError("malformed API key: it starts with 'grk_'")
    row = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or not hmac.compare_digest(row.key_hash, digest(whole)):
        raise TokenError("unknown API key: create one under /api/v1/me/api-keys")
    if row.revoked_at is not None:
        raise TokenError("this API key was revoked: create a new one")
    if row.expires_at is not None and row.expires_at <= now:
        raise TokenError("this API key has expired: create a new one")
    return row


# -- live tokens -----------------------------------------------------------------


async def create_live_token(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    label: str = "",
    mount: str | None = None,
    ttl: timedelta = LIVE_TOKEN_TTL,
    now: datetime | None = None,
) -> tuple[LiveToken, str]:
    """A one-time harbor password ``glt_…`` (stored hashed)."""
    now = now or datetime.now(UTC)
    secret = LIVE_TOKEN_PREFIX + secrets.token_urlsafe(24)
    row = LiveToken(
        station_id=station_id,
        user_id=user_id,
        token_hash=digest(secret),
        label=label,
        mount=mount,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    await session.flush()
    return row, secret


async def redeem_live_token(
    session: AsyncSession,
    station_id: uuid.UUID,
    secret: str,
    mount: str,
    *,
    now: datetime | None = None,
) -> LiveToken:
    """Spend a live token on a harbor connection; a second use is refused."""
    now = now or datetime.now(UTC)
    row = await session.scalar(
        select(LiveToken).where(
            LiveToken.token_hash == digest(secret), LiveToken.station_id == station_id
        )
    )
    if row is None:
        raise TokenError("unknown live token")
    if row.used_at is not None:
        raise TokenError("this live token was already used: ask for a new one")
    if row.expires_at <= now:
        raise TokenError("this live token has expired: ask for a new one")
    if row.mount is not None and row.mount != mount:
        raise TokenError(f"this live token is for {row.mount}, not {mount}")
    # NOTE: conditional update so two connections racing with one token cannot both win.
    result = await session.execute(
        update(LiveToken)
        .where(LiveToken.id == row.id, LiveToken.used_at.is_(None))
        .values(used_at=now)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise TokenError("this live token was already used: ask for a new one")
    return row
