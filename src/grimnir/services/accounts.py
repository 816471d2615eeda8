"""User accounts: password hashing and the rules for names and passwords.

Shared by the CLI and the API so both enforce the same rules.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Sequence

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grimnir.domain.errors import ConfigError, NotFoundError
from grimnir.services.paging import rows_page
from grimnir.store import repos
from grimnir.store.models import User

MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; safe to store)."""
    return _hasher.hash(password)


_BCRYPT = ("$2a$", "$2b$", "$2y$")
_DJANGO_PBKDF2 = "pbkdf2_sha256$"
_DJANGO_ARGON2 = "argon2$"
_UNSALTED_MD5 = re.compile(r"[0-9a-f]{32}")
"""LibreTime's: the bare MD5 hex digest of the password (its PHP side and its API both
write it). Weak, so it is only ever checked once: the first good sign-in replaces it."""


def usable_hash(stored_hash: str) -> bool:
    """True when ``stored_hash`` is one :func:`verify_password` can check: ours
    (argon2id), any argon2, bcrypt (``$2a$``/``$2b$``/``$2y$``, as AzuraCast stores
    them), Django's ``pbkdf2_sha256$`` and ``argon2$``, or LibreTime's unsalted MD5."""
    prefixes = ("$argon2", *_BCRYPT, _DJANGO_PBKDF2, _DJANGO_ARGON2)
    return stored_hash.startswith(prefixes) or bool(_UNSALTED_MD5.fullmatch(stored_hash))


def _verify_pbkdf2(stored_hash: str, password: str) -> bool:
    try:
        _, iterations, salt, expected = stored_hash.split("$", 3)
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(base64.b64encode(digest).decode("ascii"), expected)


def _verify_bcrypt(stored_hash: str, password: str) -> bool:
    # NOTE: PHP writes $2y$, the same algorithm the library knows as $2b$; bcrypt
    # reads at most 72 bytes of a password (PHP cut longer ones there silently)
    fixed = "$2b$" + stored_hash[4:]
    try:
        return bcrypt.checkpw(password.encode()[:72], fixed.encode("ascii"))
    except ValueError:
        return False


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``: ours, or one carried over from
    AzuraCast or LibreTime as it was (see :func:`usable_hash`)."""
    if stored_hash.startswith(_BCRYPT):
        return _verify_bcrypt(stored_hash, password)
    if stored_hash.startswith(_DJANGO_PBKDF2):
        return _verify_pbkdf2(stored_hash, password)
    if _UNSALTED_MD5.fullmatch(stored_hash):
        digest = hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()
        return hmac.compare_digest(digest, stored_hash)
    if stored_hash.startswith(_DJANGO_ARGON2):
        stored_hash = stored_hash[len(_DJANGO_ARGON2) - 1 :]
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when ``stored_hash`` is not our argon2id with today's parameters (one
    carried over from another product): the next good sign-in replaces it."""
    if not stored_hash.startswith("$argon2id$"):
        return True
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


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
    display_name: str | None = None,
) -> User:
    """Check, hash and store a new user (``ConflictError`` if the name is taken)."""
    check_new_credentials(username, password)
    user = await repos.create_user(
        session,
        username=username,
        password_hash=hash_password(password),
        is_admin=is_admin,
        email=email,
    )
    if display_name is not None:
        user.display_name = display_name
    return user


LOCKED_HASH = "!no-password"
"""The hash of an account that cannot sign in until an administrator sets a password."""


async def import_user(
    session: AsyncSession,
    *,
    username: str,
    password_hash: str | None,
    is_admin: bool = False,
    email: str | None = None,
    display_name: str | None = None,
    disabled: bool = False,
) -> User:
    """A user carried over from another product with their password hash as it was
    (checked and rehashed at their first sign-in; see :func:`usable_hash`). A hash
    we cannot check is not kept: the account gets no password until an
    administrator sets one (``ConflictError`` if the name is taken)."""
    kept = password_hash if password_hash and usable_hash(password_hash) else LOCKED_HASH
    user = await repos.create_user(
        session, username=username, password_hash=kept, is_admin=is_admin, email=email
    )
    user.display_name, user.disabled = display_name, disabled
    return user


async def find_user(session: AsyncSession, username: str) -> User | None:
    """The user called ``username``, else ``None``."""
    return await session.scalar(select(User).where(User.username == username))


async def find_user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user with id ``user_id``, else ``None``."""
    return await session.get(User, user_id)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    """The user with id ``user_id`` (``NotFoundError`` if there is none)."""
    user = await find_user_by_id(session, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}: list the users to find it")
    return user


async def list_users(session: AsyncSession) -> Sequence[User]:
    """Every user, by username."""
    return await repos.list_users(session)


async def users_page(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[User], int]:
    """(at most ``limit`` users from ``offset`` on, by username; how many there are)."""
    return await rows_page(session, User, limit=limit, offset=offset, order_by=[User.username])


def set_password(user: User, password: str) -> None:
    """Give ``user`` a new password (``ConfigError`` saying what to change if it is
    unacceptable; the user is then left as it was)."""
    check_new_credentials(user.username, password)
    user.password_hash = hash_password(password)


def update_user(
    user: User,
    *,
    password: str | None = None,
    email: str | None = None,
    display_name: str | None = None,
    is_admin: bool | None = None,
    disabled: bool | None = None,
) -> None:
    """Change what is given (``None``: leave it); the password is checked first, so a
    bad one changes nothing."""
    if password is not None:
        set_password(user, password)
    if email is not None:
        user.email = email
    if display_name is not None:
        user.display_name = display_name
    if is_admin is not None:
        user.is_admin = is_admin
    if disabled is not None:
        user.disabled = disabled


async def delete_user(session: AsyncSession, user: User) -> None:
    """Delete the user: their memberships, keys and sign-ins go; as-run and audit
    rows stay, without the name."""
    await session.delete(user)
