"""The engine control contract (``grimnir.engine.v1``): generated modules and shared code.

``engine_pb2*.py`` are written by ``scripts/gen-proto.sh`` from
``proto/grimnir/engine/v1/engine.proto`` and committed; never edit them by
hand (``tests/engine/test_proto.py`` fails when they drift from the proto).
The hand-written modules are what the engine's server and the control
plane's clients share: ``address`` (how both sides reach each other:
``HOST:PORT`` or ``unix:PATH``), ``types`` (requests and events in our own
types), ``status`` (what ``status()`` reports: ``StatusReport``),
``timebase`` (UTC ↔ engine frames) and ``wire`` (protobuf messages ↔ those
types, exceptions ↔ status codes).
"""
