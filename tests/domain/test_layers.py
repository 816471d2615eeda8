"""One ``Layer`` for config, engine and clients: names, priorities, the command layers."""

from __future__ import annotations

from grimnir.domain import COMMAND_LAYERS, Layer, Priority


def test_layers_are_their_config_names_in_priority_order() -> None:
    assert [str(layer) for layer in Layer] == ["emergency", "live", "automation", "fallback"]
    assert [layer.priority for layer in Layer] == sorted(layer.priority for layer in Layer)
    assert Layer("live") == "live"
    assert Layer.FALLBACK.priority is Priority.FALLBACK


def test_commands_address_every_layer_but_fallback() -> None:
    assert ", ".join(COMMAND_LAYERS) == "automation, emergency, live"
    assert Layer.FALLBACK not in COMMAND_LAYERS
