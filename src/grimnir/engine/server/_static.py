"""Small files from a directory (HLS playlists and segments), never from outside it,
and who is fetching them (an HLS player polls the playlist and fetches segments: a
client seen within ``active_s`` is counted as a listener)."""

from __future__ import annotations

import time
from ipaddress import ip_address
from pathlib import Path

from grimnir.engine.server._http import HttpError, Request, simple_response

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".aac": "audio/aac",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "audio/mp4",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".json": "application/json",
}
_PLAYLISTS = frozenset({".m3u8"})


class StaticDir:
    """Serves the files under ``directory`` at ``prefix`` (``/hls/wgmr/live.m3u8``)."""

    def __init__(self, prefix: str, directory: Path, *, active_s: float = 30.0) -> None:
        self.prefix = prefix
        self.directory = directory.resolve()
        self.active_s = active_s
        """How long after its last request a client still counts as listening."""
        self._seen: dict[tuple[str, str], float] = {}
        self._pruned = 0.0

    def visited(self, client: str, user_agent: str, now: float | None = None) -> None:
        """Note a request answered for ``client`` (its address) with ``user_agent``.
        Runs on the server loop, which alone changes the record (and prunes it)."""
        now = time.monotonic() if now is None else now
        self._seen[(client, user_agent)] = now
        if now - self._pruned > self.active_s:
            self._pruned = now
            horizon = now - self.active_s
            self._seen = {key: at for key, at in self._seen.items() if at >= horizon}

    def listeners(self, now: float | None = None) -> int:
        """Clients (address and player) that fetched a file within ``active_s``
        (any thread: it only reads)."""
        horizon = (time.monotonic() if now is None else now) - self.active_s
        return sum(1 for at in list(self._seen.values()) if at >= horizon)

    def matches(self, path: str) -> bool:
        return path.startswith(self.prefix + "/")

    def locate(self, path: str) -> Path:
        """The file for request ``path``; ``HttpError`` 403 for escapes, 404 when absent."""
        segments = path[len(self.prefix) + 1 :].split("/")
        for segment in segments:
            if segment in ("", ".", "..") or "\\" in segment or "\x00" in segment:
                raise HttpError(403, "Forbidden path")
        try:
            # NOTE: resolve() follows symlinks, so a link pointing outside is caught below.
            found = self.directory.joinpath(*segments).resolve(strict=True)
        except (FileNotFoundError, NotADirectoryError):
            raise HttpError(404, "No such file") from None
        except OSError:
            raise HttpError(403, "Forbidden path") from None
        if not found.is_relative_to(self.directory):
            raise HttpError(403, "Forbidden path")
        if not found.is_file():
            raise HttpError(404, "No such file")
        return found

    def respond(self, request: Request, client: str = "") -> bytes:
        """The whole response for a GET or HEAD of a file under this prefix; a GET
        answered counts ``client`` (its address) as listening."""
        if request.method not in ("GET", "HEAD"):
            raise HttpError(405, "Method not allowed", {"Allow": "GET, HEAD"})
        found = self.locate(request.path)
        try:
            # NOTE: read on the server loop: playlists and segments are a few hundred KB
            # on local disk; a thread hop would cost more than the read.
            body = found.read_bytes()
        except FileNotFoundError:
            raise HttpError(404, "No such file") from None  # rotated away meanwhile
        if request.method == "GET" and client:
            self.visited(client, request.header("user-agent"))
        suffix = found.suffix.lower()
        cache = "no-cache" if suffix in _PLAYLISTS else "max-age=60"
        return simple_response(
            200,
            body,
            content_type=CONTENT_TYPES.get(suffix, "application/octet-stream"),
            headers={"Cache-Control": cache, "Access-Control-Allow-Origin": "*"},
            head_only=request.method == "HEAD",
        )


def client_address(request: Request, peer: str) -> str:
    """Who is asking: the peer's address, or for a request relayed from this machine
    (the control plane's ``/listen`` proxy) the first ``X-Forwarded-For`` address.
    Only a loopback peer is believed: anyone else could name any address."""
    try:
        loopback = ip_address(peer.split("%", 1)[0]).is_loopback
    except ValueError:
        loopback = False
    forwarded = request.header("x-forwarded-for").split(",", 1)[0].strip()
    return forwarded if loopback and forwarded else peer
