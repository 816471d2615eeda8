"""Real peers for engine tests: an icecast2 server on a free loopback port, and helpers."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ICECAST = shutil.which("icecast2") or "/usr/bin/icecast2"
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
        self.proc = subprocess.Popen(
            [ICECAST, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("icecast2 did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None

    def status(self) -> list[dict[str, object]]:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.port}/status-json.xsl", timeout=2
        ) as answer:
            raw = answer.read().decode("utf-8", "replace")
        try:
            stats = json.loads(raw)["icestats"]
        except json.JSONDecodeError:
            return []  # NOTE: Icecast 2.4's status page is not always valid JSON
        source = stats.get("source", [])
        return source if isinstance(source, list) else [source]


def icecast_server() -> Iterator[IcecastServer]:
    if not Path(ICECAST).exists():
        if os.environ.get("CI"):
            pytest.fail("icecast2 is missing: scripts/test-peers.sh installs it")
        pytest.skip("icecast2 not installed: apt-get install icecast2 (or run make test)")
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
