"""Bus fixtures: every contract test runs on the memory bus, real Redis and real NATS.

Each test gets its own channel/subject prefix (``t<hex>``), so parallel runs on
one server never see each other's events; pub/sub stores no keys, so there is
nothing to flush afterwards. Set ``GRIMNIR_TEST_REDIS_URL`` /
``GRIMNIR_TEST_NATS_URL`` to point elsewhere. Without a server the tests skip,
except on CI (``CI`` set), where they fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from grimnir.bus import EventBus
from tests.bus._bus_helpers import connect_or_skip, make_bus, unique_prefix


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
        pytest.param("nats", id="nats", marks=pytest.mark.nats),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def bus(backend: str) -> AsyncIterator[EventBus]:
    """A connected bus of this backend with a prefix of its own; closed afterwards."""
    bus = make_bus(backend, unique_prefix())
    await connect_or_skip(backend, bus)
    try:
        yield bus
    finally:
        await bus.close()
