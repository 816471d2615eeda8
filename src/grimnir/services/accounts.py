"""User accounts: password hashing and the rules for names and passwords.

Shared by the CLI and the API so both enforce the same rules.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain.errors import ConfigError
from grimnir.store import repos
from grimnir.store.models import User

MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; safe to store)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_new_credentials(username: str, password: str) -> None:
    """Raise ``ConfigError`` saying what to change when either is unacceptable."""
    if not _USERNAME.match(username):
        raise ConfigError(
            f"username {username!r} is not allowed: use 2–64 letters, digits, '.', '_', "
            "'@' or '-', starting with a letter or digit"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise ConfigError("password starts or ends with white space: remove it")


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    is_admin: bool = False,
    email: str | None = None,
) -> User:
    """Check, hash and store a new user (``ConflictError`` if the name is taken)."""
    check_new_credentials(username, password)
    return await repos.create_user(
        session,
        username=username,
        password_hash=hash_password(password),
        is_admin=is_admin,
        email=email,
    )
