#!/usr/bin/env bash
# Regenerate the Python modules of the engine control contract from proto/.
#
# The generated files are committed: src/grimnir/engine/v1/engine_pb2.py,
# engine_pb2.pyi and engine_pb2_grpc.py (package grimnir.engine.v1, from
# proto/grimnir/engine/v1/engine.proto). Generating with -Iproto straight
# into src/ makes the generated imports (`from grimnir.engine.v1 import
# engine_pb2`) resolve as they are, with no import rewriting.
#
# Usage: scripts/gen-proto.sh [OUT_DIR]   (default: src; tests pass a temp dir)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/src}"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python="python3"

mkdir -p "$out"
cd "$root"
"$python" -m grpc_tools.protoc \
    -Iproto \
    --python_out="$out" \
    --pyi_out="$out" \
    --grpc_python_out="$out" \
    proto/grimnir/engine/v1/engine.proto
