"""``grimnir.engine`` names what other parts use, and importing it loads nothing heavy."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import grimnir.engine


def test_every_public_name_resolves_to_its_module_object() -> None:
    for name in grimnir.engine.__all__:
        value = getattr(grimnir.engine, name)
        home = importlib.import_module(grimnir.engine._LAZY[name])
        assert value is getattr(home, name), name
    assert sorted(grimnir.engine._LAZY) == sorted(grimnir.engine.__all__)


def test_submodules_still_import_through_the_package() -> None:
    from grimnir.engine import adapter, render

    assert adapter.__name__ == "grimnir.engine.adapter"
    assert render.__name__ == "grimnir.engine.render"


def test_importing_the_package_or_a_client_loads_no_audio_or_grpc_library() -> None:
    code = (
        "import sys, json, grimnir.engine, grimnir.engine.v1.types\n"
        "print(json.dumps(sorted(m for m in ('av', 'pedalboard', 'grpc', 'numpy')"
        " if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []
