"""How ``grimnir up`` picks its engines' addresses: free stream ports when none is
asked for, an immediate error naming the address and the option when one asked
for is taken, and a control socket per station folder."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from grimnir import _up_addresses as addresses
from grimnir._up_addresses import StreamPorts, check_control_address, control_address
from grimnir._up_http import _bind
from grimnir.domain.errors import GrimnirError


@pytest.fixture
def taken() -> Iterator[int]:
    """A loopback port something listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_control_is_a_socket_in_the_station_folder_unless_a_port_is_asked_for() -> None:
    folder = Path("/srv/grimnir/stations/wgmr-fm")
    assert control_address(folder, None, 3) == f"unix:{folder}/engine.sock"
    assert control_address(folder, 9091, 3) == "127.0.0.1:9094"


def test_without_stream_port_a_taken_default_gives_way_to_a_free_port(
    taken: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(addresses, "DEFAULT_STREAM_PORT", taken)
    ports = StreamPorts("127.0.0.1", None)
    first = ports.assign(0, "wgmr-fm")
    assert first != taken
    assert addresses.port_free("127.0.0.1", first)
    second = ports.assign(1, "kxyz")  # taken + 1: free, or another free port
    assert second not in (taken, first)


def test_a_stream_port_asked_for_that_is_taken_names_it_and_the_option(taken: int) -> None:
    with pytest.raises(GrimnirError) as caught:
        StreamPorts("127.0.0.1", taken).assign(0, "wgmr-fm")
    message = str(caught.value)
    assert f"127.0.0.1:{taken} is already in use (station wgmr-fm's listener/harbor port)" in (
        message
    )
    assert "--stream-port" in message


def test_an_adopted_engines_port_is_kept_and_not_handed_out_again(taken: int) -> None:
    ports = StreamPorts("127.0.0.1", 0)
    assert ports.keep(taken) == taken
    assert ports.assign(1, "kxyz") != taken


def test_a_taken_grpc_port_names_it_and_the_options(taken: int) -> None:
    with pytest.raises(GrimnirError, match="pass another --grpc-port, or leave it out"):
        check_control_address(f"127.0.0.1:{taken}", "wgmr-fm")


def test_a_socket_path_in_use_by_a_stranger_or_in_the_way_is_refused(tmp_path: Path) -> None:
    check_control_address(f"unix:{tmp_path / 'engine.sock'}", "wgmr-fm")  # nothing there: fine
    (tmp_path / "file.sock").write_text("not a socket")
    with pytest.raises(GrimnirError, match="in the way"):
        check_control_address(f"unix:{tmp_path / 'file.sock'}", "wgmr-fm")
    with socket.socket(socket.AF_UNIX) as stranger:
        stranger.bind(str(tmp_path / "live.sock"))
        stranger.listen()
        with pytest.raises(GrimnirError, match="in use by a program"):
            check_control_address(f"unix:{tmp_path / 'live.sock'}", "wgmr-fm")
    check_control_address(f"unix:{tmp_path / 'live.sock'}", "wgmr-fm")  # stale now: fine


def test_connections_to_the_http_socket_send_without_delay() -> None:
    """asyncio turns Nagle off (TCP_NODELAY) on accepted connections only for an
    IPPROTO_TCP listener; otherwise every kept-alive reply waits for a delayed ACK."""

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        listener = _bind("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            port = listener.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(seen, 10)
            writer.close()
        return value

    assert asyncio.run(accepted_nodelay()) != 0
