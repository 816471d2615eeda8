"""One page of a list: the rows at ``offset``, at most ``limit`` of them, and how
many match in all (what a paged answer carries)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ExecutableOption


async def rows_page(
    session: AsyncSession,
    model: type[Any],
    *,
    limit: int,
    offset: int,
    where: Sequence[ColumnElement[bool]] = (),
    order_by: Sequence[Any] = (),
    options: Sequence[ExecutableOption] = (),
) -> tuple[Sequence[Any], int]:
    """(one page of ``model`` rows matching ``where`` in ``order_by`` order, the count
    of all matching rows)."""
    total = await session.scalar(select(func.count()).select_from(model).where(*where))
    rows = await session.scalars(
        select(model)
        .where(*where)
        .options(*options)
        .order_by(*order_by)
        .limit(limit)
        .offset(offset)
    )
    return rows.all(), total or 0
