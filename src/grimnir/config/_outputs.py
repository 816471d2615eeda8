"""Mounts and their outputs: where a station's encoded audio goes.

A mount is one programme feed; each of its outputs sends that feed somewhere
(an Icecast server, our own listener server, HLS segments, a recording).
Outputs are told apart by ``type``. Bitrates are ignored for lossless formats
(flac, wav).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from grimnir.config._base import AT_KEY_ERROR, ConfigModel, HttpUrl, NonEmptyStr, Slug
from grimnir.domain.catalog import MP3_BITRATES, AudioFormat, OutputKind
from grimnir.domain.urls import mask_url

StreamFormat = Literal["mp3", "aac", "opus", "vorbis", "flac"]
"""Formats a listener's player can take over the network."""

FileFormat = Literal["mp3", "aac", "opus", "vorbis", "flac", "wav"]
"""Formats we can write to disk (streaming formats plus uncompressed WAV)."""

Bitrate = Annotated[int, Field(ge=32, le=320)]

_ICECAST_EXAMPLE = "icecast://source:PASSWORD@host:8000/mount"


def _check_icecast_url(value: str) -> str:
    """Accept ``icecast://`` or ``http://`` with a host and a mount path (the port
    is 8000 when left out, Icecast's own default)."""
    reason = None
    parts = urlsplit(value)
    if parts.scheme == "https":
        # NOTE: the source client speaks plain HTTP; listeners may still reach the
        # server through a TLS proxy in front of it
        reason = "the source connection cannot use TLS: write icecast:// or http://"
    elif parts.scheme not in ("icecast", "http"):
        reason = "it must start with icecast:// or http://"
    elif not parts.hostname:
        reason = "the host is missing"
    elif parts.path in ("", "/"):
        reason = "the mount path (like /stream) is missing"
    elif parts.query or parts.fragment:
        reason = "a mount path cannot have ?query or #fragment"
    else:
        try:
            parts.port  # noqa: B018 - reading it validates the port number
        except ValueError:
            reason = "the port must be a number from 1 to 65535"
    if reason is not None:
        # NOTE: the URL itself is not echoed: it usually holds the source password.
        raise ValueError(f"must be a URL like {_ICECAST_EXAMPLE} ({reason})")
    return value


IcecastUrl = Annotated[str, AfterValidator(_check_icecast_url)]


def _check_mount_path(value: str) -> str:
    if not value.startswith("/") or len(value) < 2 or any(c.isspace() for c in value):
        raise ValueError(f"must be a mount path starting with '/', like /wgmr.mp3 (got {value!r})")
    return value


MountPath = Annotated[str, AfterValidator(_check_mount_path)]


class _OutputBase(ConfigModel):
    """What every output has in common."""

    @property
    def kind(self) -> OutputKind:
        """The output's type as the domain enum."""
        return OutputKind(getattr(self, "type"))  # noqa: B009 - every subclass has `type`

    @property
    def audio_format(self) -> AudioFormat:
        """The encoded format as the domain enum."""
        return AudioFormat(getattr(self, "format"))  # noqa: B009 - every subclass has `format`

    @model_validator(mode="after")
    def _mp3_bitrate_exists(self) -> Self:
        bitrate = getattr(self, "bitrate_kbps", None)
        if getattr(self, "format", None) == "mp3" and bitrate not in MP3_BITRATES:
            valid = ", ".join(str(b) for b in MP3_BITRATES)
            raise PydanticCustomError(
                AT_KEY_ERROR,
                "MP3 has no {bitrate} kbps; use one of {valid}",
                {"bitrate": bitrate, "valid": valid, "at_key": "bitrate_kbps"},
            )
        return self


class IcecastOutput(_OutputBase):
    """Push the stream to an Icecast (or compatible) server as a source client."""

    type: Literal["icecast"]
    url: IcecastUrl = Field(
        description="Server and mount, e.g. icecast://source:PASSWORD@host:8000/stream; "
        "http:// works too. User defaults to 'source', port to 8000 when left out."
    )
    format: StreamFormat = Field(default="mp3", description="Encoded format sent to the server.")
    bitrate_kbps: Bitrate = Field(default=128, description="Encoder bitrate in kbit/s.")
    legacy_source: bool = Field(
        default=False,
        description="Use the old SOURCE method instead of HTTP PUT (Icecast < 2.4, Shoutcast).",
    )
    public: bool = Field(default=False, description="Ask the server to list us in directories.")
    name: str | None = Field(default=None, description="ice-name header (station name shown).")
    description: str | None = Field(default=None, description="ice-description header.")
    genre: str | None = Field(default=None, description="ice-genre header.")
    website_url: HttpUrl | None = Field(
        default=None,
        description="ice-url header (the station's web site). Named so because `url` is "
        "the server address.",
    )

    @property
    def masked_url(self) -> str:
        """The server URL with the password replaced, safe to print or log."""
        return mask_url(self.url)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Mask the password in ``repr()`` too: configs end up in logs and tracebacks."""
        for key, value in super().__repr_args__():
            yield key, (self.masked_url if key == "url" else value)


class HttpOutput(_OutputBase):
    """Serve the stream from our built-in listener server (port 8000 by default)."""

    type: Literal["http"]
    path: MountPath = Field(description="Mount path on the listener server, e.g. /wgmr.mp3.")
    format: StreamFormat = Field(default="mp3", description="Encoded format served.")
    bitrate_kbps: Bitrate = Field(default=128, description="Encoder bitrate in kbit/s.")
    burst_kb: int = Field(
        default=64,
        ge=0,
        le=4096,
        description="KiB of recent audio sent at once to a new listener so playback starts fast.",
    )


class HlsOutput(_OutputBase):
    """Write HLS segments and a playlist into a directory for a web server to serve."""

    type: Literal["hls"]
    path: NonEmptyStr = Field(description="Directory for the playlist and segments.")
    segment_duration_sec: float = Field(
        default=6, ge=1, le=30, description="Length of one segment in seconds."
    )
    window_segments: int = Field(
        default=6, ge=3, description="Segments listed in the live playlist (the rewind window)."
    )
    format: Literal["aac"] = Field(default="aac", description="HLS segments are AAC only.")
    bitrate_kbps: Bitrate = Field(default=128, description="Encoder bitrate in kbit/s.")


class RecordingOutput(_OutputBase):
    """Record the programme to files (logger/compliance recordings)."""

    type: Literal["recording"]
    path: NonEmptyStr = Field(description="Directory the recordings are written to.")
    format: FileFormat = Field(default="mp3", description="Encoded format of the files.")
    bitrate_kbps: Bitrate = Field(default=192, description="Encoder bitrate in kbit/s.")
    rotate_minutes: int = Field(
        default=60,
        ge=1,
        le=1440,
        description="Start a new file on every boundary of this many minutes (60: on the hour).",
    )
    rotation_days: int = Field(
        default=30,
        ge=1,
        description="Retention: recordings older than this many days are deleted.",
    )


class FileOutput(_OutputBase):
    """Write the whole stream into one file (mostly for `grimnir render`)."""

    type: Literal["file"]
    path: NonEmptyStr = Field(description="The file to write.")
    format: FileFormat = Field(default="mp3", description="Encoded format of the file.")
    bitrate_kbps: Bitrate = Field(default=192, description="Encoder bitrate in kbit/s.")


class NullOutput(_OutputBase):
    """Encode and throw away: measures encoder cost in benchmarks."""

    type: Literal["null"]
    format: FileFormat = Field(default="mp3", description="Encoded format.")
    bitrate_kbps: Bitrate = Field(default=128, description="Encoder bitrate in kbit/s.")


Output = Annotated[
    IcecastOutput | HttpOutput | HlsOutput | RecordingOutput | FileOutput | NullOutput,
    Field(discriminator="type"),
]
"""Any output; ``type`` says which."""


class Mount(ConfigModel):
    """One programme feed and the outputs it is sent to."""

    id: Slug = Field(description="Short id, unique in the station, e.g. mount-main.")
    name: NonEmptyStr = Field(description="Human name shown in the UI.")
    outputs: list[Output] = Field(
        min_length=1, description="Where this feed goes; at least one output."
    )
