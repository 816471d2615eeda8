"""The committed generated modules match what ``scripts/gen-proto.sh`` makes from the proto."""

from __future__ import annotations

import subprocess
from pathlib import Path

from grimnir.engine.grpc import EngineServicer
from grimnir.engine.v1 import engine_pb2
from tests._require import require_peer

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("engine_pb2.py", "engine_pb2.pyi", "engine_pb2_grpc.py")


def test_generated_modules_match_the_proto(tmp_path: Path) -> None:
    bash = require_peer("bash")
    subprocess.run(
        [bash, str(ROOT / "scripts" / "gen-proto.sh"), str(tmp_path)], check=True, timeout=120
    )
    committed = ROOT / "src" / "grimnir" / "engine" / "v1"
    fresh = tmp_path / "grimnir" / "engine" / "v1"
    for name in GENERATED:
        assert (fresh / name).read_text() == (committed / name).read_text(), (
            f"src/grimnir/engine/v1/{name} is out of date: run scripts/gen-proto.sh (make proto)"
        )


def test_every_rpc_of_the_contract_is_served() -> None:
    service = engine_pb2.DESCRIPTOR.services_by_name["Engine"]
    names = {method.name for method in service.methods}
    assert names == {
        "LoadGraph", "Play", "Stop", "Fade", "Skip", "InsertEmergency", "RouteLive", "KickLive",
        "SetMetadata", "SetFallback", "Unqueue", "StreamTelemetry", "StreamEvents", "GetStatus",
        "AnalyzeMedia", "GenerateWaveform",
    }  # fmt: skip
    for name in names:
        assert name in vars(EngineServicer), f"EngineServicer does not implement {name}"
    for method in service.methods:
        assert "station_id" in method.input_type.fields_by_name, method.name
