"""AzuraCast's users and streamers as Snapshot accounts.

AzuraCast grants permissions through roles (``role_permissions``: an action,
global when ``station_id`` is NULL); we have three roles. A global
``administer all`` is an admin; on a station, ``administer all`` or any
permission that manages the station itself is a manager; the rest (media,
reports, viewing) is a DJ. Streamers are DJs who connect an encoder.
Password hashes are passed on as stored: bcrypt and argon2 are checked at the
first sign-in here and rehashed.
"""

from __future__ import annotations

from typing import Literal

from grimnir.importers._azuracast_map import Row, flag, integer, text
from grimnir.importers._azuracast_sql import Dump, Value
from grimnir.importers.model import Finding, User

ADMIN = "administer all"
_MANAGER = {
    ADMIN,
    "manage station profile",
    "manage station broadcasting",
    "manage station automation",
    "manage station mounts",
    "manage station remotes",
    "manage station streamers",
    "manage station web hooks",
}
_HASHES = ("$2y$", "$2b$", "$2a$", "$argon2id$", "$argon2i$")


def _hash(stored: Value, who: str, findings: list[Finding], part: str) -> str | None:
    raw = text(stored)
    if raw is None:
        return None
    if raw.startswith(_HASHES):
        return raw
    findings.append(
        Finding(
            part,
            who,
            "the password is stored in a form we cannot check: "
            "the person sets a new one at first sign-in",
            skipped=False,
        )
    )
    return None


def permissions(dump: Dump) -> dict[int, list[tuple[int | None, str]]]:
    """Each user's permissions through their roles: ``(station id or None, action)``."""
    by_role: dict[Value, list[tuple[int | None, str]]] = {}
    for row in dump.rows("role_permissions"):
        by_role.setdefault(row["role_id"], []).append(
            (integer(row.get("station_id")), text(row.get("action_name")) or "")
        )
    out: dict[int, list[tuple[int | None, str]]] = {}
    for row in dump.rows("user_has_role"):
        uid = integer(row["user_id"])
        if uid is not None:
            out.setdefault(uid, []).extend(by_role.get(row["role_id"], []))
    return out


def users(
    dump: Dump,
    station: Row,
    perms: dict[int, list[tuple[int | None, str]]],
    findings: list[Finding],
) -> list[User]:
    """The accounts with a say over this station: global admins and everyone
    holding a permission on it."""
    sid = integer(station["id"])
    out: list[User] = []
    for row in dump.rows("users"):
        uid = integer(row["id"])
        if uid is None:
            continue
        granted = perms.get(uid, [])
        global_ = {action for station_id, action in granted if station_id is None}
        local = {action for station_id, action in granted if station_id == sid}
        email = text(row.get("email")) or f"user {uid}"
        role: Literal["admin", "manager", "dj"]
        if ADMIN in global_:
            role = "admin"
        elif "administer stations" in global_ or local & _MANAGER:
            role = "manager"
        elif local:
            role = "dj"
        else:
            continue
        shown = sorted(local | (global_ - {ADMIN}))
        if role != "admin" and shown != [ADMIN]:
            findings.append(
                Finding(
                    "user",
                    email,
                    "AzuraCast permissions ("
                    + ", ".join(shown)
                    + f") carried over as role {role!r}",
                    skipped=False,
                )
            )
        if text(row.get("two_factor_secret")):
            findings.append(
                Finding(
                    "user",
                    email,
                    "two-factor sign-in is not carried over: the person sets it up again",
                    skipped=False,
                )
            )
        out.append(
            User(
                key=str(uid),
                username=email,
                email=text(row.get("email")),
                display_name=text(row.get("name")),
                password_hash=_hash(row.get("auth_password"), email, findings, "user"),
                role=role,
            )
        )
    return out


def streamers(
    dump: Dump, station: Row, findings: list[Finding]
) -> tuple[list[User], dict[Value, str]]:
    """The station's streamer accounts (keys ``streamer-<id>``: their ids are
    AzuraCast's own, apart from the users'), and their names by id."""
    out: list[User] = []
    names: dict[Value, str] = {}
    for row in dump.rows("station_streamers"):
        if row["station_id"] != station["id"]:
            continue
        username = text(row.get("streamer_username")) or f"streamer {text(row['id'])}"
        names[row["id"]] = username
        out.append(
            User(
                key=f"streamer-{text(row['id'])}",
                username=username,
                display_name=text(row.get("display_name")),
                password_hash=_hash(row.get("streamer_password"), username, findings, "user"),
                role="dj",
                disabled=not flag(row.get("is_active")),
                streamer=True,
            )
        )
    return out, names
