"""Stored credentials: rotating refresh tokens (a sign-in), API keys and one-time
live tokens for the harbor.

Each is a random secret of which only a SHA-256 is stored: they carry 256 bits of
entropy, so a fast hash is the right one (argon2 is for the low-entropy passwords
people pick). Like every service, these take the caller's ``AsyncSession`` and
never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain import NotFoundError
from grimnir.store.models import ApiKey, LiveToken, RefreshToken

REFRESH_TTL = timedelta(days=30)
LIVE_TOKEN_TTL = timedelta(hours=24)
API_KEY_PREFIX = "grk_"
LIVE_TOKEN_PREFIX = "glt_"  # noqa: S105 — a prefix, not a secret


class TokenError(Exception):
    """A credential that is malformed, expired, revoked or signed with another key."""


def digest(secret: str) -> str:
    """SHA-256 hex of a random secret (what the database keeps)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


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


async def _refresh_row(session: AsyncSession, secret: str) -> RefreshToken | None:
    return await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == digest(secret))
    )


async def rotate_refresh(
    session: AsyncSession, secret: str, *, now: datetime | None = None
) -> tuple[uuid.UUID, str]:
    """Use a refresh token once: (user id, the next token). A token presented a
    second time revokes its whole family, so a stolen copy stops working for both.

    ``TokenError`` says why a token does not hold; after a replay the revocation is
    in ``session``: commit it anyway."""
    now = now or datetime.now(UTC)
    row = await _refresh_row(session, secret)
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
    row = await _refresh_row(session, secret)
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


async def use_api_key(session: AsyncSession, whole: str, *, now: datetime | None = None) -> ApiKey:
    """:func:`check_api_key`, and note the use in the key's ``last_used_at``."""
    now = now or datetime.now(UTC)
    row = await check_api_key(session, whole, now=now)
    row.last_used_at = now
    return row


async def list_api_keys(session: AsyncSession, user_id: uuid.UUID) -> Sequence[ApiKey]:
    """The user's API keys, oldest first (revoked and expired ones too)."""
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at)
    )
    return rows.all()


async def revoke_api_key(
    session: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID, *, now: datetime | None = None
) -> tuple[ApiKey, bool]:
    """Revoke one of the user's API keys: (its row, whether this revoked it; ``False``
    when it already was). ``NotFoundError`` if the user has no key ``key_id``."""
    row = await session.get(ApiKey, key_id)
    if row is None or row.user_id != user_id:
        raise NotFoundError(f"user {user_id} has no API key {key_id}: list the user's keys")
    if row.revoked_at is not None:
        return row, False
    row.revoked_at = now or datetime.now(UTC)
    return row, True


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
