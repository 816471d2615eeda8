"""Small files from a directory (HLS playlists and segments), never from outside it."""

from __future__ import annotations

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

    def __init__(self, prefix: str, directory: Path) -> None:
        self.prefix = prefix
        self.directory = directory.resolve()

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

    def respond(self, request: Request) -> bytes:
        """The whole response for a GET or HEAD of a file under this prefix."""
        if request.method not in ("GET", "HEAD"):
            raise HttpError(405, "Method not allowed", {"Allow": "GET, HEAD"})
        found = self.locate(request.path)
        try:
            # NOTE: read on the server loop: playlists and segments are a few hundred KB
            # on local disk; a thread hop would cost more than the read.
            body = found.read_bytes()
        except FileNotFoundError:
            raise HttpError(404, "No such file") from None  # rotated away meanwhile
        suffix = found.suffix.lower()
        cache = "no-cache" if suffix in _PLAYLISTS else "max-age=60"
        return simple_response(
            200,
            body,
            content_type=CONTENT_TYPES.get(suffix, "application/octet-stream"),
            headers={"Cache-Control": cache, "Access-Control-Allow-Origin": "*"},
            head_only=request.method == "HEAD",
        )
