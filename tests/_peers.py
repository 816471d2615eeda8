"""Real peers for engine tests: an icecast2 server on a free loopback port, and helpers."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from tests._require import FFMPEG_PATH, peer_path, require_peer

ICECAST = peer_path("icecast2") or "icecast2"
PASSWORD = "hackme-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class IcecastServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        (root / "log").mkdir(exist_ok=True)
        web = Path("/usr/share/icecast2/web")
        admin = Path("/usr/share/icecast2/admin")
        owner = ""
        if os.geteuid() == 0:  # icecast2 refuses to run as root without dropping privileges
            owner = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
            os.chmod(root, 0o755)  # noqa: S103 - nobody must reach its log folder
            shutil.chown(root / "log", "nobody", "nogroup")
        self.config = root / "icecast.xml"
        self.config.write_text(f"""<icecast>
  <limits><sources>4</sources><burst-size>65536</burst-size></limits>
  <authentication>
    <source-password>{PASSWORD}</source-password>
    <admin-user>admin</admin-user><admin-password>{PASSWORD}</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{self.port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>{root}</basedir><logdir>{root / "log"}</logdir>
    <webroot>{web}</webroot><adminroot>{admin}</adminroot></paths>
  <logging><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>{owner}</security>
</icecast>
""")
        os.chmod(self.config, 0o644)

    def start(self) -> None:
        # NOTE: a restart on the same port may find it briefly held (the old socket, or
        # another test's short-lived listener on a busy machine): icecast2 then exits at
        # once, and is started again until the deadline (a bound for waiting only).
        # NOTE: up means icecast2 answers its status page: a bare TCP connect may reach
        # whoever else holds the port while our icecast2 has already exited.
        self.proc = self._spawn()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                time.sleep(0.2)
                self.proc = self._spawn()
                continue
            try:
                if self._stats() is not None and self.proc.poll() is None:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("icecast2 did not start")

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [ICECAST, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None

    def _stats(self) -> dict[str, object] | None:
        """Icecast's status, or None while what answers is not (yet) a whole Icecast status."""
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.port}/status-json.xsl", timeout=2
        ) as answer:
            raw = answer.read().decode("utf-8", "replace")
        try:
            stats = json.loads(raw).get("icestats")
        except (json.JSONDecodeError, AttributeError):
            return None  # NOTE: Icecast 2.4's status page is not always valid JSON
        # NOTE: a starting icecast2 once answered {"icestats": null}
        if not isinstance(stats, dict) or "server_id" not in stats:
            return None
        return stats

    def status(self) -> list[dict[str, object]]:
        stats = self._stats()
        source = (stats or {}).get("source", [])
        if not isinstance(source, (list, dict)):
            return []
        return source if isinstance(source, list) else [source]


def icecast_server() -> Iterator[IcecastServer]:
    require_peer("icecast2")
    # NOTE: not under pytest's tmp_path: icecast2 drops root for nobody, who
    # cannot enter pytest's private (0700) temp folders.
    root = Path(tempfile.mkdtemp(prefix="grimnir-icecast-"))
    server = IcecastServer(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


FFMPEG = FFMPEG_PATH


def tone_filter(freq_hz: float, seconds: float | None = None) -> str:
    """An ffmpeg lavfi stereo 48 kHz sine at -12 dBFS peak (endless without ``seconds``)."""
    length = "" if seconds is None else f":d={seconds}"
    sine = f"0.2512*sin(2*PI*{freq_hz}*t)"
    return f"aevalsrc={sine}|{sine}:s=48000{length}"


class Senders:
    """ffmpeg processes pushing tones to icecast mounts; all killed at the end."""

    def __init__(self, server: IcecastServer) -> None:
        self.server = server
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, mount: str) -> str:
        return f"http://127.0.0.1:{self.server.port}/{mount}"

    def start(self, mount: str, freq_hz: float) -> None:
        target = f"icecast://source:{PASSWORD}@127.0.0.1:{self.server.port}/{mount}"
        command = [
            *(FFMPEG, "-v", "error", "-nostdin", "-re", "-f", "lavfi"),
            *("-i", tone_filter(freq_hz), "-c:a", "libmp3lame", "-b:a", "128k"),
            *("-f", "mp3", "-content_type", "audio/mpeg", target),
        ]
        self.procs[mount] = subprocess.Popen(command, stdin=subprocess.DEVNULL)

        def listed() -> bool:
            # NOTE: a sender refused (icecast2 still busy with a mount just left) tries again
            if self.procs[mount].poll() is not None:
                time.sleep(0.2)
                self.procs[mount] = subprocess.Popen(command, stdin=subprocess.DEVNULL)
            return self._listed(mount)

        assert wait_for(listed, 10), f"/{mount} did not come up"

    def kill(self, mount: str) -> None:
        proc = self.procs.pop(mount)
        proc.kill()
        proc.wait(timeout=5)

    def kill_all(self) -> None:
        for mount in list(self.procs):
            self.kill(mount)

    def _listed(self, mount: str) -> bool:
        try:
            with urllib.request.urlopen(self.url(mount), timeout=2) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except OSError:
            return False

    def set_title(self, mount: str, title: str) -> None:
        query = urllib.parse.urlencode({"mount": f"/{mount}", "mode": "updinfo", "song": title})
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.server.port}/admin/metadata?{query}",
            headers={
                "Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
            },
        )
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            assert answer.status == 200
