"""``grimnir engine``: one station's media engine, controlled over gRPC."""

from __future__ import annotations

import atexit
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn

import typer

from grimnir.domain.errors import EXIT_CONFIG, AddressError, ConfigError, GrimnirError

if TYPE_CHECKING:
    import grpc as grpc_lib  # NOTE: the command's --grpc parameter takes the name


# NOTE: plain click output, not the other commands' rich consoles (``_common``): a
# restarted engine is off air until it serves, and this module imports nothing it
# does not need for that (see ``grimnir.cli.main``).


def fail(message: str, problems: list[str] | None = None) -> NoReturn:
    typer.secho("error:", fg="red", bold=True, err=True, nl=False)
    typer.echo(f" {message}", err=True)
    for line in problems or []:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(1)


def _split_address(value: str, default_port: int, what: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = value, str(default_port)
    try:
        number = int(port)
    except ValueError:
        fail(f"{what} must be HOST:PORT, like 127.0.0.1:{default_port} (got {value!r})")
    if not 0 <= number <= 65535:
        fail(f"{what} port must be 0–65535 (got {number})")
    return host or "0.0.0.0", number  # noqa: S104 - an empty host means all interfaces


def _harbor_users(values: list[str]) -> dict[str, str]:
    users: dict[str, str] = {}
    env = os.environ.get("GRIMNIR_HARBOR_USERS", "")
    for entry in [*filter(None, (e.strip() for e in env.split(","))), *values]:
        name, sep, password = entry.partition(":")
        if not sep or not name or not password:
            fail(f"harbor users are NAME:PASSWORD (got {entry.split(':')[0]!r}:…)")
        users[name] = password
    return users


def engine_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="Station config file.")],
    grpc: Annotated[
        str,
        typer.Option(
            "--grpc",
            help="gRPC control address: HOST:PORT, or unix:PATH for a socket file "
            "(what `grimnir up` uses: unix:<station folder>/engine.sock).",
            envvar="GRIMNIR_GRPC",
        ),
    ] = "127.0.0.1:9091",
    http: Annotated[
        str,
        typer.Option(
            "--http", help="Listener/harbor/HLS server HOST:PORT.", envvar="GRIMNIR_ENGINE_HTTP"
        ),
    ] = "127.0.0.1:8000",
    burst: Annotated[
        int,
        typer.Option(
            help="20 ms blocks mixed per wake-up: more = less CPU, more latency.", min=1, max=50
        ),
    ] = 10,
    harbor_user: Annotated[
        list[str] | None,
        typer.Option("--harbor-user", help="NAME:PASSWORD a DJ may connect with (repeatable)."),
    ] = None,
    harbor_auth_url: Annotated[
        str | None,
        typer.Option(
            "--harbor-auth-url",
            help="The API's harbor callback (DJ accounts, live tokens), "
            "e.g. http://127.0.0.1:8080/api/v1/internal/harbor/auth.",
            envvar="GRIMNIR_HARBOR_AUTH_URL",
        ),
    ] = None,
    harbor_auth_secret: Annotated[
        str,
        typer.Option(
            "--harbor-auth-secret",
            help="The station's shared secret for that callback (prefer the environment).",
            envvar="GRIMNIR_HARBOR_AUTH_SECRET",
            show_default=False,
        ),
    ] = "",
    log_format: Annotated[
        Literal["human", "json"],
        typer.Option(
            "--log-format",
            help="Log lines for people, or one JSON object per line for a log shipper.",
            envvar="GRIMNIR_LOG_FORMAT",
        ),
    ] = "human",
) -> None:
    """Run one station's media engine until stopped (Ctrl-C / SIGTERM).

    Paths in the station file are used as written; relative ones count from the
    file's folder. Missing output folders are created at start.
    """
    from grimnir.config.station import load_station_config
    from grimnir.engine.grpc import bind as bind_control
    from grimnir.engine.grpc import release as release_control
    from grimnir.engine.grpc import report_exit_reason
    from grimnir.engine.runtime import RuntimeOptions, StationRuntime
    from grimnir.observability.logs import configure_logging
    from grimnir.observability.tracing import configure_tracing, shutdown_tracing

    configure_logging("INFO", log_format)
    if configure_tracing("grimnir-engine"):
        atexit.register(shutdown_tracing)  # NOTE: every way out of here ends in SystemExit
    try:
        station = load_station_config(config)
    except ConfigError as exc:
        fail(str(exc.args[0]), exc.problems)
    http_host, http_port = _split_address(http, 8000, "--http")
    options = RuntimeOptions(
        http_host=http_host,
        http_port=http_port,
        burst_blocks=burst,
        harbor_users=_harbor_users(harbor_user or []),
        harbor_auth_url=harbor_auth_url or None,
        harbor_auth_secret=harbor_auth_secret,
    )
    if options.harbor_auth_url and not harbor_auth_secret:
        fail("--harbor-auth-url needs --harbor-auth-secret (or GRIMNIR_HARBOR_AUTH_SECRET)")
    runtime = StationRuntime(station, options)
    stop = threading.Event()
    bound: grpc_lib.Server | None = None
    try:
        # NOTE: the control address first: a second engine for the same station
        # is refused before it opens (and writes to) the first one's outputs.
        bound, _ = bind_control(runtime, grpc)
        runtime.start()
        bound.start()
        server = bound
    except GrimnirError as exc:
        if bound is not None:
            release_control(bound, grpc)
        runtime.close()
        if not isinstance(exc, AddressError):
            fail(str(exc))
        # NOTE: a distinct status, so a supervisor reports it instead of restarting.
        typer.echo(f"error: {exc}", err=True)
        report_exit_reason(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    host, port = runtime.server.address
    typer.echo(f"engine for {station.station.name} on air")
    typer.echo(f"  gRPC control   {grpc}")
    for mount in runtime.listener_mounts:
        typer.echo(f"  listen         http://{host}:{port}{mount.path}")
    for prefix in runtime.hls_paths:
        typer.echo(f"  HLS            http://{host}:{port}{prefix}/index.m3u8")
    for output in runtime.icecast:
        typer.echo(f"  Icecast        {output.name} (reconnects until it is up)")
    for recording in runtime.recordings:
        typer.echo(f"  recording to   {recording.path}")
    for problem in runtime.path_problems:
        typer.echo(f"warning: {problem}", err=True)
    for path in runtime.harbor.paths:
        typer.echo(f"  harbor (DJs)   icecast://{host}:{port}{path}")
    if options.harbor_auth_url:
        typer.echo(f"  DJ accounts    checked by {options.harbor_auth_url}")
    elif not options.harbor_users:
        typer.echo(
            "note: no harbor users: DJs are refused until you pass --harbor-user NAME:PASS",
            err=True,
        )
    while not stop.wait(0.5):
        if not runtime.alive:
            typer.echo(
                "error: the engine loop stopped unexpectedly; exiting for a restart", err=True
            )
            server.stop(0)
            runtime.close()
            raise typer.Exit(1)
    server.stop(1.0)
    runtime.close()


def engine_main(args: list[str]) -> None:
    """``grimnir engine ARGS`` on its own (see ``grimnir.cli.main``)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(engine_command)
    app(args=args, prog_name="grimnir engine")
