"""ClusterNode: instances share the stations and the planner, hand them over when
one dies, drains or joins, and one that was paused past its leases stops acting
before it does anything else."""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from collections.abc import Collection

import pytest

from grimnir.cluster import PLANNER, ClusterNode, FencingError, station_resource
from grimnir.domain import ExecutorState
from grimnir.store.models import ExecutorStateRecord
from tests.cluster.conftest import ManualClock, Sessions

TTL = 9.0
STATIONS = [uuid.UUID(int=n, version=4) for n in range(1, 25)]


class Recorder:
    """The callbacks of every node, in one log: ``(node, "acquired"|"lost", resource)``."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, str]] = []

    def node(
        self,
        sessions: Sessions,
        name: str,
        clock: ManualClock | None,
        *,
        stations: Collection[uuid.UUID] = STATIONS,
        monotonic: ManualClock | None = None,
        ttl: float = TTL,
    ) -> ClusterNode:
        """A node on ``clock`` (both clocks), or on the real ones if it is ``None``."""

        async def acquired(resource: str, token: int) -> None:
            self.log.append((name, "acquired", resource))

        async def lost(resource: str) -> None:
            self.log.append((name, "lost", resource))

        async def station_ids() -> Collection[uuid.UUID]:
            return stations

        return ClusterNode(
            sessions,
            name=name,
            node_id=uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.cluster.test"),
            ttl=ttl,
            stations=station_ids,
            on_acquired=acquired,
            on_lost=lost,
            clock=clock.now if clock else None,
            monotonic=(monotonic or clock or time).monotonic,
        )


async def _rounds(nodes: list[ClusterNode], clock: ManualClock, rounds: int = 3) -> None:
    """``rounds`` renewal intervals with every node ticking once in each."""
    for _ in range(rounds):
        for node in nodes:
            await node.tick()
        clock.advance(TTL / 3)


def _owners(nodes: list[ClusterNode]) -> dict[uuid.UUID, str]:
    owners: dict[uuid.UUID, str] = {}
    for node in nodes:
        for station in node.stations():
            assert station not in owners, f"{station} held by {owners[station]} and {node.member}"
            owners[station] = node.member.name
    return owners


async def test_every_station_has_one_owner_and_there_is_one_leader(
    sessions: Sessions, clock: ManualClock
) -> None:
    recorder = Recorder()
    nodes = [recorder.node(sessions, f"n{i}", clock) for i in range(3)]
    for node in nodes:
        await node.join()
    await _rounds(nodes, clock)

    owners = _owners(nodes)
    assert set(owners) == set(STATIONS)
    assert max(Counter(owners.values()).values()) <= math.ceil(24 / 3 * 1.2)
    assert [n.member.name for n in nodes if n.is_leader] == ["n0"]
    acquired = [(name, r) for name, what, r in recorder.log if what == "acquired"]
    assert len(acquired) == len(STATIONS) + 1  # each once, nothing changed hands
    assert not [entry for entry in recorder.log if entry[1] == "lost"]


async def test_a_paused_instance_stops_acting_before_anything_else(
    sessions: Sessions, clock: ManualClock, station_id: uuid.UUID
) -> None:
    """SIGSTOP longer than the lease, then SIGCONT: the others carry its stations,
    and when it wakes it is told ``on_lost`` first, answers no token, and the
    database refuses its old token."""
    recorder = Recorder()
    stations = [station_id, *STATIONS[:11]]
    paused = recorder.node(sessions, "paused", clock, stations=stations)
    other = recorder.node(sessions, "other", clock, stations=stations)
    await _rounds([paused, other], clock)
    resource = station_resource(station_id)
    owner, successor = (paused, other) if paused.token(resource) else (other, paused)
    paused, other = owner, successor  # the one paused is the one carrying station_id
    old = {r: t for r, t in paused.held().items()}
    assert resource in old

    clock.advance(TTL + 1)  # paused: no heartbeat, no renewal
    await _rounds([other], clock, rounds=2)
    assert set(other.stations()) == set(stations)

    # woken up: nothing answers for the old leases, before any round has run
    assert paused.held() == {}
    assert paused.token(resource) is None
    with pytest.raises(FencingError, match="holds no lease"):
        async with sessions() as session, session.begin():
            await paused.fenced(session, resource)

    async def write_with_the_old_token() -> None:
        async with sessions() as session, session.begin():
            await paused.leases.fenced(session, resource, old[resource])
            session.add(ExecutorStateRecord(station_id=station_id, state=ExecutorState.PLAYING))

    with pytest.raises(FencingError, match="took it over"):
        await write_with_the_old_token()
    async with sessions() as session:
        assert await session.get(ExecutorStateRecord, station_id) is None

    start = len(recorder.log)
    await paused.tick()
    woke = [entry for entry in recorder.log[start:] if entry[0] == paused.member.name]
    assert woke[: len(old)] == [(paused.member.name, "lost", r) for r in sorted(old)]
    assert all(what == "lost" for _, what, _ in woke)  # all held by the other now

    await _rounds([paused, other], clock)  # back in the cluster: it gets a share again
    owners = _owners([paused, other])
    assert set(owners) == set(stations)
    assert set(owners.values()) == {"paused", "other"}


async def test_a_refused_renewal_stops_the_holder(sessions: Sessions, clock: ManualClock) -> None:
    """The database's clock ran past the lease while this process's clock says it
    still has time (a clock that crawled, say): the renewal is refused and the
    holder stops, though its own deadline has not passed."""
    recorder = Recorder()
    local = ManualClock()
    holder = recorder.node(sessions, "holder", clock, monotonic=local, stations=STATIONS[:4])
    await holder.tick()
    assert len(holder.stations()) == 4
    clock.advance(TTL + 1)
    taker = recorder.node(sessions, "taker", clock, stations=STATIONS[:4])
    await taker.tick()  # the holder looks dead: the taker gets everything
    assert len(taker.stations()) == 4
    assert taker.is_leader

    start = len(recorder.log)
    await holder.tick()
    lost = [r for name, what, r in recorder.log[start:] if name == "holder" and what == "lost"]
    assert sorted(lost) == sorted([PLANNER, *(station_resource(s) for s in STATIONS[:4])])
    assert holder.held() == {}


async def test_a_draining_instance_hands_everything_over(
    sessions: Sessions, clock: ManualClock
) -> None:
    recorder = Recorder()
    nodes = [recorder.node(sessions, f"n{i}", clock) for i in range(3)]
    for node in nodes:
        await node.join()
    await _rounds(nodes, clock)
    leaving = nodes[0]
    assert leaving.is_leader
    held = set(leaving.held())

    start = len(recorder.log)
    await leaving.drain()
    assert leaving.held() == {}
    assert leaving.draining
    await _rounds(nodes, clock, rounds=2)
    assert leaving.held() == {}
    owners = _owners(nodes)
    assert set(owners) == set(STATIONS)
    assert leaving.member.name not in owners.values()
    assert sum(n.is_leader for n in nodes) == 1

    changes = recorder.log[start:]
    assert {r for name, what, r in changes if what == "lost" and name == "n0"} == held
    # the load bound may shuffle a station or two between the others, no more
    assert len([e for e in changes if e[1] == "lost" and e[0] != "n0"]) <= 2
    for resource in held:  # each given up before its new owner took it
        gave = changes.index((leaving.member.name, "lost", resource))
        took = next(i for i, e in enumerate(changes) if e[1:] == ("acquired", resource))
        assert gave < took


async def test_a_fourth_instance_takes_about_a_quarter(
    sessions: Sessions, clock: ManualClock
) -> None:
    recorder = Recorder()
    stations = [uuid.UUID(int=n, version=4) for n in range(100, 160)]
    nodes = [recorder.node(sessions, f"n{i}", clock, stations=stations) for i in range(3)]
    await _rounds(nodes, clock)
    before = _owners(nodes)

    nodes.append(recorder.node(sessions, "n3", clock, stations=stations))
    await _rounds(nodes, clock)
    after = _owners(nodes)
    assert set(after) == set(stations)
    moved = [s for s in stations if before[s] != after[s]]
    assert sum(after[s] == "n3" for s in moved) >= len(moved) - 3
    assert 0.15 <= len(moved) / len(stations) <= 0.35


async def test_start_and_stop_join_and_leave(sessions: Sessions) -> None:
    """The real loop on the database's clock: it takes its stations, and on the way
    out gives them back and removes its row."""
    recorder = Recorder()
    node = recorder.node(sessions, "solo", None, stations=STATIONS[:3], ttl=30)
    async with node:
        await node.tick()
        assert node.stations() == set(STATIONS[:3])
        assert node.is_leader
        assert [m.name for m in await node.roster.members()] == ["solo"]
    assert node.held() == {}
    assert await node.roster.members() == []
    assert sorted(r for _, what, r in recorder.log if what == "lost") == sorted(
        [PLANNER, *(station_resource(s) for s in STATIONS[:3])]
    )
