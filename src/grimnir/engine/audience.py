"""Who is listening to each of a station's mounts, by how they listen.

A mount reaches listeners three ways, each counted where it is known: our own
listener server counts its connections (``ListenerMount``), Icecast counts its
own (``IcecastOutput.poll_listeners``, asked every ``POLL_S``), and HLS players
are the clients that fetched a playlist or segment lately (``StaticDir``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from grimnir.engine.outputs import IcecastOutput
from grimnir.engine.server import ListenerMount, StaticDir
from grimnir.engine.v1.status import AudienceCounts

POLL_S: Final = 10.0
"""How often Icecast is asked for its listener counts."""


@dataclass(slots=True)
class MountAudience:
    """The outputs of one configured mount that listeners reach."""

    http: list[ListenerMount] = field(default_factory=list)
    icecast: list[IcecastOutput] = field(default_factory=list)
    hls: list[StaticDir] = field(default_factory=list)

    def counts(self) -> AudienceCounts:
        """Listeners now: ``http``, ``icecast`` (``None`` while no Icecast count is
        known), ``hls``, their ``total``, and ``outputs``: each listener output's own
        count, by its path on our server (``/wgmr.mp3``) or ``host:port/mount`` on
        Icecast (``output_key``)."""
        outputs: dict[str, int | None] = {m.path: m.listener_count for m in self.http}
        for o in self.icecast:
            outputs[output_key(o)] = o.listeners
        http = sum(m.listener_count for m in self.http)
        known = [o.listeners for o in self.icecast if o.listeners is not None]
        icecast = sum(known) if known else None
        hls = sum(s.listeners() for s in self.hls)
        total = http + (icecast or 0) + hls
        return AudienceCounts(http=http, icecast=icecast, hls=hls, total=total, outputs=outputs)


def output_key(output: IcecastOutput) -> str:
    """How audience counts name an Icecast output: ``host:port/mount``."""
    t = output.target
    host = f"[{t.host}]" if ":" in t.host else t.host
    return f"{host}:{t.port}{t.mount}"


def audience_status(audience: dict[str, MountAudience]) -> dict[str, AudienceCounts]:
    """Every mount's counts, by mount id (the ``audience`` part of engine status)."""
    return {mount_id: a.counts() for mount_id, a in audience.items()}
