"""Each kind of configured output opens through its one registered opener."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from grimnir import config
from grimnir.config import StationConfig
from grimnir.domain.errors import EngineError
from grimnir.engine.outputs import StreamInfo
from grimnir.engine.runtime import RuntimeOptions, StationRuntime
from grimnir.engine.runtime_outputs import OPENERS, open_output
from tests.engine._stations import station


def _configured_kinds() -> set[type[object]]:
    """The output types a station's mount accepts (its ``outputs`` union)."""
    (mount,) = typing.get_args(StationConfig.model_fields["mounts"].annotation)
    (output,) = typing.get_args(mount.model_fields["outputs"].annotation)
    union = typing.get_args(output)[0]  # Annotated[A | B | …, discriminator]
    return set(typing.get_args(union))


def test_every_output_kind_the_config_accepts_has_an_opener() -> None:
    kinds = _configured_kinds()
    assert config.IcecastOutput in kinds
    assert len(kinds) >= 6
    assert kinds == set(OPENERS)


def test_outputs_open_on_the_engine_and_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    runtime = StationRuntime(station([{"type": "null"}]), RuntimeOptions(http_port=0))
    info = StreamInfo(name="test")
    before = len(runtime.engine.outputs)
    null = config.NullOutput(type="null")
    open_output(runtime, "main", null, info)
    recorded = config.FileOutput(type="file", path=str(tmp_path / "out.mp3"))
    open_output(runtime, "main", recorded, info)
    assert len(runtime.engine.outputs) == before + 2
    with pytest.raises(EngineError, match="mount main: no output opens a str"):
        open_output(runtime, "main", "icecast://nowhere", info)
    runtime.engine.close()
