"""``grimnir render``: a timeline or playlist through the engine to a file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from grimnir.cli._common import JsonOpt, err, fail, out, print_json
from grimnir.domain.errors import ConfigError, EngineError
from grimnir.domain.fades import FadeCurve


def render_command(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output file; the extension picks the format (.wav .flac .mp3 .aac .opus .ogg).",
        ),
    ],
    timeline: Annotated[
        Path | None, typer.Option(help="Timeline file (YAML/JSON `items:`).")
    ] = None,
    playlist: Annotated[
        Path | None, typer.Option(help="Folder of audio files or .m3u playlist.")
    ] = None,
    crossfade: Annotated[
        float, typer.Option(help="Playlist mode: crossfade in seconds.", min=0.0, max=30.0)
    ] = 0.0,
    curve: Annotated[
        FadeCurve, typer.Option(help="Playlist mode: fade curve.")
    ] = FadeCurve.S_CURVE,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Station config (DSP graph, failover).")
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            help="Seconds to render (playlists loop to fill it); default: until all has played.",
            min=0.02,
        ),
    ] = None,
    bitrate: Annotated[int | None, typer.Option(help="Bitrate in kbps for lossy formats.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Render offline, faster than real time, through the same engine as on air."""
    from grimnir.config.station import load_station_config
    from grimnir.engine.render import PlaylistFeeder, load_timeline, playlist_files, render

    if (timeline is None) == (playlist is None):
        fail("give exactly one of --timeline FILE or --playlist DIR_OR_M3U")
    try:
        station = load_station_config(config) if config is not None else None
        items = load_timeline(timeline) if timeline is not None else None
        feeder = None
        if playlist is not None:
            feeder = PlaylistFeeder(
                playlist_files(playlist), crossfade, curve, loop=duration is not None
            )
    except ConfigError as exc:
        fail(str(exc.args[0]), exc.problems if len(exc.problems) > 1 else None)

    started = time.perf_counter()
    total = None if duration is None else duration * 48_000
    with Progress(
        TextColumn("[bold]rendering[/]"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("", total=total)
        shown = [0]

        def progress(frames: int) -> None:
            # NOTE: called after each span of blocks; the bar moves every 5 s of audio.
            if frames - shown[0] >= 48_000 * 5:
                shown[0] = frames - frames % (48_000 * 5)
                speed = frames / 48_000 / max(time.perf_counter() - started, 1e-9)
                bar.update(
                    task,
                    completed=frames,
                    description=f"{frames / 48_000:,.0f} s, {speed:,.0f}× realtime",
                )

        try:
            result = render(
                output,
                station=station,
                timeline=items,
                playlist=feeder,
                duration_s=duration,
                bitrate_kbps=bitrate,
                progress=progress,
            )
        except (ConfigError, EngineError) as exc:
            fail(str(exc.args[0]) if exc.args else str(exc))
    elapsed = time.perf_counter() - started
    errors = [e.data for e in result.events if e.type == "source.error"]
    summary = {
        "output": str(output),
        "seconds": round(result.seconds, 3),
        "items": sum(1 for e in result.events if e.type == "item.started"),
        "errors": errors,
        "speed_x_realtime": round(result.seconds / max(elapsed, 1e-9), 1),
    }
    if as_json:
        print_json(summary)
        return
    out.print(
        f"rendered {summary['seconds']} s ({summary['items']} items) to {output} "
        f"at {summary['speed_x_realtime']}× realtime"
    )
    for error in errors:
        err.print(f"  skipped {error.get('path')}: {error.get('error')}", markup=False)
