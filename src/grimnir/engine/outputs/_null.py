"""An output that only counts: for benchmarks and for stations that render nothing."""

from __future__ import annotations

from grimnir.engine.outputs._base import Output, OutputState


class NullOutput(Output):
    """Accepts every byte and keeps none; ``bytes_written`` says how many."""

    def __init__(self, name: str = "null") -> None:
        super().__init__(name)
        self._state = OutputState.UP

    def write(self, data: bytes) -> None:
        if self._state is OutputState.CLOSED:
            self.dropped_bytes += len(data)
            return
        self.bytes_written += len(data)

    def close(self) -> None:
        self._state = OutputState.CLOSED
