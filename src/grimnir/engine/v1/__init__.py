"""Generated Python modules of the engine control contract (``grimnir.engine.v1``).

``engine_pb2*.py`` are written by ``scripts/gen-proto.sh`` from
``proto/grimnir/engine/v1/engine.proto`` and committed; never edit them by
hand (``tests/engine/test_proto.py`` fails when they drift from the proto).
``address`` (hand-written) is how both sides reach each other: ``HOST:PORT``
or ``unix:PATH``; the engine's server and the control plane's client share it.
"""
