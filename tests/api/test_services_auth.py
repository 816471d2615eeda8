"""One sign-in check for the API and the harbor: a real user, a wrong password, an
unknown name and a disabled account, on a real database."""

from __future__ import annotations

from sqlalchemy import update

from grimnir.domain import Role
from grimnir.services import check_login, membership_role
from grimnir.store.models import User
from tests._api import PASSWORD, ApiWorld


async def test_check_login_names_the_user_or_nobody(world: ApiWorld) -> None:
    async with world.ctx.sessions() as session:
        user = await check_login(session, "dj", PASSWORD)
        assert user is not None
        assert user.username == "dj"
        assert await check_login(session, "dj", "not the password") is None
        assert await check_login(session, "nobody-of-that-name", "whatever-123") is None
        await session.execute(update(User).where(User.username == "dj").values(disabled=True))
        assert await check_login(session, "dj", PASSWORD) is None


async def test_membership_role(world: ApiWorld) -> None:
    async with world.ctx.sessions() as session:
        dj = await check_login(session, "dj", PASSWORD)
        assert dj is not None
        station = world.stations["wgmr"]
        assert await membership_role(session, dj.id, station) is Role.DJ
        stranger = await check_login(session, "admin", PASSWORD)
        assert stranger is not None
        assert await membership_role(session, stranger.id, station) is None
