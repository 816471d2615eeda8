"""``grimnir.services.alerts.receive`` on SQLite and PostgreSQL: every kind of CAP
input is handled as issue 20 says, with its reason and the original in the log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from grimnir.bus import ALERT_RECEIVED
from grimnir.eas import SameHeader, SameMessage
from grimnir.services import alerts
from grimnir.store.models import EasAlert
from tests._databases import migrated_database
from tests.eas import _cap_samples as cap
from tests.eas_onair._world import DURING, EAS, alert_world


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_database(request.param, tmp_path_factory.mktemp("db")) as database:
        yield database


async def _rows(world_ctx: alerts.AlertContext, station_id: object) -> list[EasAlert]:
    async with world_ctx.sessions() as session:
        found = await session.scalars(
            select(EasAlert).where(EasAlert.station_id == station_id).order_by(EasAlert.received_at)
        )
        return list(found.all())


US_ONLY = (cap.info(same="TOR", capcp=None),)
REF = "cap-pac@canada.ca,urn:oid:2.49.0.1.124.1.2026,2026-03-01T13:05:00-05:00"


async def test_alert_update_cancel_and_duplicate(url: str, tmp_path: Path) -> None:
    async with alert_world(url, tmp_path) as world:
        events = await world.bus.subscribe([ALERT_RECEIVED], str(world.station.id))
        first = cap.alert(infos=US_ONLY)
        got = await alerts.receive(world.ctx, world.station, first, "cap-push")
        assert got.decision == "relay"
        assert got.reason.startswith("relay: tornado")
        assert "not on air in this process" in got.reason
        assert got.same_header is not None
        header = SameHeader.parse(got.same_header, year=2026)
        assert (header.originator, header.event, header.locations) == ("WXR", "TOR", ("048453",))
        assert header.sender == "WGMR/FM "

        again = await alerts.receive(world.ctx, world.station, first, "feed")
        assert again.decision == "duplicate"
        assert "already received" in again.reason

        update = cap.alert(
            identifier="upd-1",
            sent="2026-03-01T13:07:00-05:00",
            msg_type="Update",
            references=REF,
            infos=US_ONLY,
        )
        updated = await alerts.receive(world.ctx, world.station, update, "cap-push")
        assert updated.decision == "relay"
        assert "replaces cap-pac@canada.ca urn:oid:2.49.0.1.124.1.2026" in updated.reason

        cancel = cap.alert(
            identifier="cancel-1",
            sent="2026-03-01T13:09:00-05:00",
            msg_type="Cancel",
            references="cap-pac@canada.ca,upd-1,2026-03-01T13:07:00-05:00",
            infos=US_ONLY,
        )
        cancelled = await alerts.receive(world.ctx, world.station, cancel, "naad")
        assert cancelled.decision == "cancel"
        assert "stops cap-pac@canada.ca upd-1" in cancelled.reason

        rows = await _rows(world.ctx, world.station.id)
        assert [r.decision for r in rows] == ["relay", "duplicate", "relay", "cancel"]
        assert [r.source for r in rows] == ["cap-push", "feed", "cap-push", "naad"]
        assert bytes(rows[0].original) == first  # kept verbatim
        assert rows[2].msg_type == "Update"
        seen = [(await events.get(timeout=1)).data["decision"] for _ in range(4)]
        assert seen == ["relay", "duplicate", "relay", "cancel"]


@pytest.mark.parametrize(
    ("document", "decision", "reason"),
    [
        pytest.param(
            cap.alert(infos=(cap.info(same="TOR", capcp=None, geocodes=(("SAME", "006037"),)),)),
            "filter",
            "filtered: no area matches 006037",
            id="out-of-area",
        ),
        pytest.param(b"<alert><identifier>x</alert>", "rejected", "rejected: ", id="malformed"),
        pytest.param(
            b'<?xml version="1.0"?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier>'
            b"</alert>",
            "rejected",
            "rejected: ",
            id="xxe",
        ),
        pytest.param(
            (
                '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
                + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
                + ']><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol9;</alert>'
            ).encode(),
            "rejected",
            "rejected: ",
            id="billion-laughs",
        ),
        pytest.param(
            cap.alert(namespace="urn:oasis:names:tc:emergency:cap:1.1"),
            "rejected",
            "namespace",
            id="wrong-namespace",
        ),
        pytest.param(
            cap.alert(infos=US_ONLY, status="Exercise"),
            "filter",
            "status Exercise",
            id="exercise",
        ),
    ],
)
async def test_inputs_are_logged_with_their_reason(
    url: str, tmp_path: Path, document: bytes, decision: str, reason: str
) -> None:
    async with alert_world(url, tmp_path) as world:
        got = await alerts.receive(world.ctx, world.station, document, "cap-push")
        assert got.decision == decision
        assert reason in got.reason
        (row,) = await _rows(world.ctx, world.station.id)
        assert (row.decision, row.reason) == (got.decision, got.reason)
        assert bytes(row.original) == document
        if decision == "rejected":
            assert "passwd" not in got.reason
            assert "lol" * 3 not in got.reason


async def test_an_expired_alert_is_filtered(url: str, tmp_path: Path) -> None:
    later = DURING + timedelta(hours=2)
    async with alert_world(url, tmp_path, now=later) as world:
        got = await alerts.receive(world.ctx, world.station, cap.alert(infos=US_ONLY), "feed")
        assert got.decision == "filter"
        assert got.reason.startswith("filtered: expired at 2026-03-01T14:05:00-05:00")


async def test_a_same_header_heard_is_relayed_with_our_sender(url: str, tmp_path: Path) -> None:
    heard = SameHeader("WXR", "SVR", ("048453",), 30, DURING - timedelta(minutes=2), "KWO35   ")
    async with alert_world(url, tmp_path) as world:
        got = await alerts.receive(world.ctx, world.station, heard, "same-monitor")
        assert got.decision == "relay"
        assert got.same_header == str(heard).replace("KWO35   ", "WGMR/FM ")
        (row,) = await _rows(world.ctx, world.station.id)
        assert bytes(row.original) == str(heard).encode()


async def test_decoded_same_messages_and_source_labels(url: str, tmp_path: Path) -> None:
    """What ``grimnir.eas`` sources hand on: a decoded message and a labelled source."""
    heard = SameHeader("CIV", "CAE", ("048453",), 60, DURING, "KWO35   ")
    async with alert_world(url, tmp_path) as world:
        message = SameMessage((), str(heard), heard, None)
        got = await alerts.receive(world.ctx, world.station, message, "same-monitor:http://up/x")
        assert got.decision == "relay"
        garbled = SameMessage((), None, None, "no two bursts agree")
        bad = await alerts.receive(world.ctx, world.station, garbled, "same-monitor:http://up/x")
        assert bad.decision == "rejected"
        assert "no two bursts agree" in bad.reason
        rows = await _rows(world.ctx, world.station.id)
        assert [r.source for r in rows] == ["same-monitor", "same-monitor"]


async def test_a_station_without_alerts_refuses(url: str, tmp_path: Path) -> None:
    async with alert_world(url, tmp_path, {**EAS, "enabled": False}) as world:
        with pytest.raises(alerts.AlertsDisabled, match=r"set eas\.enabled: true"):
            await alerts.receive(world.ctx, world.station, cap.alert(), "cap-push")
        assert await _rows(world.ctx, world.station.id) == []


async def test_an_unknown_source_is_refused(url: str, tmp_path: Path) -> None:
    async with alert_world(url, tmp_path) as world:
        with pytest.raises(ValueError, match="use one of cap-push, feed"):
            await alerts.receive(world.ctx, world.station, cap.alert(), "fax")
