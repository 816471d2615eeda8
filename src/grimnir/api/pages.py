"""Pagination: ``?limit=&offset=`` in, ``{items, total, limit, offset}`` out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from grimnir.services.paging import rows_page

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
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
    with the total count of matching rows (read by :func:`grimnir.services.paging.rows_page`)."""
    rows, total = await rows_page(
        session,
        model,
        limit=page.limit,
        offset=page.offset,
        where=where,
        order_by=order_by,
        options=options,
    )
    return page_of(rows, total, page, out)


def page_of(rows: Sequence[Any], total: int, page: PageParams, out: Callable[[Any], U]) -> Page[U]:
    """The answer for one page a service read: ``rows`` each turned into ``out(row)``,
    of ``total`` in all."""
    return Page(items=[out(r) for r in rows], total=total, limit=page.limit, offset=page.offset)
