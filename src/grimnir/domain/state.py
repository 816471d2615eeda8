"""The executor's state machine: states and the moves allowed between them."""

from __future__ import annotations

from enum import StrEnum

from grimnir.domain.errors import InvalidTransitionError


class ExecutorState(StrEnum):
    """What a station's executor is doing."""

    IDLE = "idle"
    PRELOADING = "preloading"
    PLAYING = "playing"
    FADING = "fading"
    LIVE = "live"
    EMERGENCY = "emergency"

    def can_become(self, target: ExecutorState) -> bool:
        """True when the move from this state to ``target`` is allowed."""
        return target in _ALLOWED[self]

    def transition(self, target: ExecutorState) -> ExecutorState:
        """``target`` if the move is allowed, else ``InvalidTransitionError``."""
        if not self.can_become(target):
            allowed = ", ".join(sorted(s.value for s in _ALLOWED[self])) or "nothing"
            raise InvalidTransitionError(
                f"executor cannot go from {self.value} to {target.value}; "
                f"from {self.value} it may go to: {allowed}"
            )
        return target


_S = ExecutorState

# NOTE: emergency can interrupt any state, and leaving it (or live) returns to
# wherever the ladder says: automation (preloading/playing) or idle when the
# timeline is empty. Fading always ends in playing (next item) or idle.
_ALLOWED: dict[ExecutorState, frozenset[ExecutorState]] = {
    _S.IDLE: frozenset({_S.PRELOADING, _S.PLAYING, _S.LIVE, _S.EMERGENCY}),
    _S.PRELOADING: frozenset({_S.PLAYING, _S.IDLE, _S.LIVE, _S.EMERGENCY}),
    _S.PLAYING: frozenset({_S.FADING, _S.PRELOADING, _S.IDLE, _S.LIVE, _S.EMERGENCY}),
    _S.FADING: frozenset({_S.PLAYING, _S.IDLE, _S.LIVE, _S.EMERGENCY}),
    _S.LIVE: frozenset({_S.PLAYING, _S.PRELOADING, _S.IDLE, _S.EMERGENCY}),
    _S.EMERGENCY: frozenset({_S.PLAYING, _S.PRELOADING, _S.IDLE, _S.LIVE}),
}
