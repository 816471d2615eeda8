"""End to end on a real ``grimnir up``: a CAP alert posted for the station's area goes
on air (SAME header ×3, attention signal, voice, EOM ×3) on the station's own
recording, where Debian's multimon-ng and our decoder both read exactly the
header we meant; automation then resumes the item the alert cut, with no
silence over 0.5 s around the alert, and the compliance log has the airing."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from grimnir.eas import decode_same
from tests._onair import SHORT, Api, Up, make_station, silences
from tests._require import require_peer
from tests.eas import _cap_samples as cap

RATE = 22_050
EAS = {
    "enabled": True,
    "country": "US",
    "sender_id": "WTST/FM",
    "same_locations": ["048453"],
    "attention_seconds": 8,
}
AROUND_S = 3.0
"""How far before and after the alert silences are looked for."""


def _alert(
    name: str = "e2e", msg_type: str = "Alert", references: str | None = None, same: str = "TOR"
) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0)
    return cap.alert(
        identifier=f"{name}-{now:%H%M%S}",
        msg_type=msg_type,
        references=references,
        sender="w-nws.webmaster@noaa.gov",
        sent=now.isoformat(),
        infos=(
            cap.info(
                same=same,
                capcp=None,
                language="en-US",
                expires=(now + timedelta(hours=1)).isoformat(),
                geocodes=(("SAME", "048453"),),
            ),
        ),
    )


def _recording(folder: Path) -> np.ndarray:
    """Every file of the recording output, in order, as mono s16 at 22050 Hz."""
    files = sorted(folder.rglob("*.mp3"))
    assert files, f"no recording in {folder}"
    chunks = []
    for path in files:
        done = subprocess.run(
            [require_peer("ffmpeg"), "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(RATE),
             "-f", "s16le", "-"],
            capture_output=True, check=True, timeout=120,
        )  # fmt: skip
        chunks.append(np.frombuffer(done.stdout, dtype="<i2"))
    return np.concatenate(chunks)


def _multimon(pcm: np.ndarray) -> list[str]:
    done = subprocess.run(
        [require_peer("multimon-ng"), "-q", "-t", "raw", "-a", "EAS", "-"],
        input=pcm.astype("<i2").tobytes(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    lines = [
        line.removeprefix("EAS: ").strip()
        for line in done.stdout.decode("ascii", errors="replace").splitlines()
        if line.startswith("EAS: ")
    ]
    return [t for i, t in enumerate(lines) if i == 0 or lines[i - 1] != t]


def _wait(what: str, check: object, timeout_s: float) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check() if callable(check) else None
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_cap_alert_goes_on_air_and_automation_resumes(tmp_path: Path) -> None:
    for peer in ("ffmpeg", "multimon-ng", "espeak-ng"):
        require_peer(peer)
    rec = tmp_path / "rec"
    station = make_station(
        tmp_path,
        tracks=1,
        track_s=150.0,
        emergency=False,
        outputs=[{"type": "recording", "path": str(rec), "format": "mp3", "bitrate_kbps": 192}],
        extra={"eas": EAS},
    )
    up = Up(station)
    try:
        up.wait_ready(120)
        api = Api(up.base)
        cut = _wait("an item on air", api.current, 60)
        assert isinstance(cut, dict)
        time.sleep(3.0)
        posted = api.client.post(
            f"/stations/{SHORT}/alerts/cap",
            content=_alert(),
            headers={"Content-Type": "application/xml"},
        )
        assert posted.status_code == 200, posted.text
        got = posted.json()
        assert got["decision"] == "relay", got
        assert got["airing_id"] is not None, got
        assert got["latency_frames"] is not None
        header = got["same_header"]
        # another alert while the first is on air waits for it: alerts never interleave
        # (another event: multimon-ng reports a header repeated soon after only once)
        later = _alert("e2e-q", same="SVR")
        queued = api.client.post(f"/stations/{SHORT}/alerts/cap", content=later).json()
        assert queued["decision"] == "relay", queued
        assert queued["airing_id"] is None, queued
        assert "queued" in queued["reason"], queued

        def showing() -> dict[str, object] | None:
            now = api.client.get(f"/public/stations/{SHORT}/now-playing").json()
            current = now.get("current") or {}
            return current if current.get("kind") == "alert" else None

        shown = _wait("now-playing to show the alert", showing, 10)
        assert isinstance(shown, dict)
        assert str(shown["title"]).startswith("EAS: Tornado warning")

        def ended() -> dict[str, object] | None:
            one = api.client.get(f"/stations/{SHORT}/alerts/{got['alert_id']}").json()
            airing = one["airings"][0] if one["airings"] else None
            return one if airing and airing["ended_at"] else None

        entry = _wait("the alert to end", ended, 90)

        def queued_ended() -> dict[str, object] | None:
            one = api.client.get(f"/stations/{SHORT}/alerts/{queued['alert_id']}").json()
            airing = one["airings"][0] if one["airings"] else None
            return one if airing and airing["ended_at"] else None

        behind = _wait("the queued alert to air and end", queued_ended, 120)
        time.sleep(4.0)  # automation heard again
        asrun = api.client.get(f"/stations/{SHORT}/asrun", params={"limit": 20}).json()["items"]

        # a second alert, cancelled in its attention signal: off air at once, no EOM
        second = _alert("e2e-2")
        again = api.client.post(f"/stations/{SHORT}/alerts/cap", content=second).json()
        assert again["decision"] == "relay", again
        time.sleep(7.0)
        sent = re.search(rb"<sent>([^<]+)</sent>", second)
        ident = re.search(rb"<identifier>([^<]+)</identifier>", second)
        assert sent is not None
        assert ident is not None
        reference = f"w-nws.webmaster@noaa.gov,{ident[1].decode()},{sent[1].decode()}"
        cancel = _alert("e2e-cancel", "Cancel", reference)
        stopped = api.client.post(f"/stations/{SHORT}/alerts/cap", content=cancel).json()
        assert stopped["decision"] == "cancel", stopped
        one = api.client.get(f"/stations/{SHORT}/alerts/{again['alert_id']}").json()
        assert one["airings"][0]["ended_how"] == "cancelled", one
        time.sleep(3.0)  # automation again, then the recording is closed
        api.close()
    finally:
        up.stop()

    assert isinstance(entry, dict)
    (airing,) = entry["airings"]
    assert airing["ended_how"] == "completed"
    assert isinstance(behind, dict)
    (after_it,) = behind["airings"]
    assert after_it["ended_how"] == "completed"
    assert after_it["started_at"] >= airing["ended_at"], (airing, after_it)
    assert any(o["type"] == "recording" for o in airing["outputs"])
    assert entry["decision"] == "relay"
    assert entry["original"].startswith("<?xml")

    # the as-run log: the item cut, the alert, the same item again
    rows = list(reversed(asrun))
    layers = [(r["layer"], r["timeline_entry_id"], r["end_reason"]) for r in rows]
    first_alert = next(i for i, r in enumerate(rows) if r["layer"] == "emergency")
    before = rows[first_alert - 1]
    back = next(i for i in range(first_alert, len(rows)) if rows[i]["layer"] != "emergency")
    after = rows[back]
    assert before["layer"] == "automation", layers
    assert before["end_reason"] == "preempted", layers
    assert after["layer"] == "automation", layers
    assert after["timeline_entry_id"] == before["timeline_entry_id"], layers
    assert rows[first_alert]["title"].startswith("EAS: Tornado warning")

    pcm = _recording(rec)
    heard = [header, "NNNN", queued["same_header"], "NNNN", again["same_header"]]
    assert _multimon(pcm) == heard
    ours = decode_same(pcm.astype(np.float32) / 32768.0, RATE)
    confirmed = [m for m in ours.messages if m.confirmed]
    assert [m.text for m in confirmed] == heard
    head, eom = confirmed[:2]

    # the voice: between the attention signal and the EOM, audio (not a pause)
    speech = pcm[head.end + int(9.6 * RATE) : eom.start - int(1.2 * RATE)].astype(np.float64)
    assert len(speech) > RATE
    windows = speech[: len(speech) // 2205 * 2205].reshape(-1, 2205) / 32768.0
    loud = np.sqrt(np.mean(windows**2, axis=1)) > 10 ** (-40 / 20)
    assert loud.mean() > 0.5, f"only {loud.mean():.0%} of the message is audible"

    # no dead air around it (the alert's own one-second pauses are SAME's, inside it)
    wav = tmp_path / "around.wav"
    subprocess.run(
        [require_peer("ffmpeg"), "-v", "error", "-f", "s16le", "-ar", str(RATE), "-ac", "1",
         "-i", "-", str(wav)],
        input=pcm.tobytes(), check=True, timeout=60,
    )  # fmt: skip
    # NOTE: the first alert and the one queued behind it air as one stretch (between
    # them, SAME's own one-second pauses): around it means before the first and after
    # the second's end of message
    start_s, end_s = head.start / RATE, confirmed[3].end / RATE
    found = silences(wav, len(pcm) / RATE)
    long = [s for s in found if s.length > 0.5]
    around = [
        s
        for s in long
        if (start_s - AROUND_S < s.end and s.start < start_s + 0.2)
        or (end_s - 0.2 < s.end and s.start < end_s + AROUND_S)
    ]
    assert not around, f"silence around the alert ({start_s:.1f}–{end_s:.1f} s): {around}"
