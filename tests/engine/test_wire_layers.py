"""The contract's ``Layer`` numbers map to our ``Layer`` names and back, in one place."""

from __future__ import annotations

import pytest

from grimnir.domain import COMMAND_LAYERS, EngineError
from grimnir.engine.v1 import engine_pb2 as pb
from grimnir.engine.v1.wire import check_layer, layer_from_pb, layer_to_pb


@pytest.mark.parametrize("layer", COMMAND_LAYERS)
def test_each_command_layer_goes_there_and_back(layer: str) -> None:
    name = layer_from_pb(layer_to_pb(layer))
    assert name == layer
    assert type(name) is str  # what EngineControl gets and its messages quote


def test_unspecified_is_automation_and_others_are_refused() -> None:
    assert layer_from_pb(pb.LAYER_UNSPECIFIED) == "automation"
    assert type(check_layer("live")) is str
    with pytest.raises(EngineError, match="unknown layer 'fallback': use one of automation, em"):
        check_layer("fallback")
    with pytest.raises(EngineError, match="unknown layer number 99"):
        layer_from_pb(99)
