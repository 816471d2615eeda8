"""Pagination: ``?limit=&offset=`` in, ``{items, total, limit, offset}`` out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ExecutableOption

MAX_LIMIT = 500


T = TypeVar("T")
U = TypeVar("U")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Items to skip.")] = 0,
) -> PageParams:
    """The dependency every list route takes."""
    return PageParams(limit, offset)


async def paged(
    session: AsyncSession,
    model: type[Any],
    page: PageParams,
    out: Callable[[Any], U],
    *,
    where: Sequence[ColumnElement[bool]] = (),
    order_by: Sequence[Any] = (),
    options: Sequence[ExecutableOption] = (),
) -> Page[U]:
    """One page of ``model`` rows matching ``where``, each turned into ``out(row)``,
    with the total count of matching rows."""
    total = await session.scalar(select(func.count()).select_from(model).where(*where))
    rows = await session.scalars(
        select(model)
        .where(*where)
        .options(*options)
        .order_by(*order_by)
        .limit(page.limit)
        .offset(page.offset)
    )
    return Page(
        items=[out(r) for r in rows], total=total or 0, limit=page.limit, offset=page.offset
    )
