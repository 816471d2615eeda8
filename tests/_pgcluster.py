"""A private PostgreSQL server for fault tests: its own data dir and port, stopped
and started by the test (the shared server on :5432 is never touched).

``initdb``/``pg_ctl`` come from PATH or Debian's ``/usr/lib/postgresql/<major>/bin``.
As root the server runs as the ``postgres`` user (PostgreSQL refuses root), so
its folder lives in a directory that user can reach.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _tools() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres (None: not installed)."""
    found = shutil.which("pg_ctl")
    if found is not None:
        return Path(found).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """``start()`` (initdb the first time), ``stop()`` like a crash, ``start()`` again."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.folder: Path | None = None
        self.running = False
        self._prefix: list[str] = []

    @staticmethod
    def unavailable() -> str:
        """Why a private server cannot run here ("" when it can)."""
        tools = _tools()
        if tools is None:
            return "PostgreSQL's server programs (initdb, pg_ctl) are not installed"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no postgres user to run the server"
            if shutil.which("runuser") is None:
                return "running as root and there is no runuser"
        return ""

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        tools = _tools()
        assert tools is not None
        return subprocess.run(
            [*self._prefix, str(tools / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def _init(self) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="grimnir-pg-"))
        folder.chmod(0o755)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(folder, user.pw_uid, user.pw_gid)
            self._prefix = ["runuser", "-u", "postgres", "--"]
        done = self._run("initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres",
                         "--no-sync")  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        return folder

    def start(self) -> str:
        """Start the server (and wait until it takes connections); returns its URL."""
        if self.folder is None:
            self.folder = self._init()
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )
        done = self._run("pg_ctl", "-D", str(self.folder / "data"), "-o", options,
                         "-l", str(self.folder / "log"), "-w", "start")  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}")
        self.running = True
        return self.url

    def stop(self) -> None:
        """Stop at once, as a crash would (connections dropped, no checkpoint)."""
        if self.running and self.folder is not None:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
            self.running = False

    def remove(self) -> None:
        """Stop and delete everything."""
        self.stop()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
