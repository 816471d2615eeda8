"""Acceptance: every scenario in ``scenarios/`` runs the whole station and passes.

A scenario marked ``soak: true`` runs under ``make soak`` only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.simulation._checks import report
from tests.simulation._scenario import all_scenarios, load
from tests.simulation._sim import Simulation, write_media


def _params() -> list[object]:
    out: list[object] = []
    for path in all_scenarios():
        marks = [pytest.mark.slow] if load(path).soak else []
        out.append(pytest.param(path, id=path.stem, marks=marks))
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sim-media")
    write_media(folder)
    return folder


@pytest.mark.parametrize("path", _params())
async def test_scenario(path: Path, media: Path, tmp_path: Path) -> None:
    scenario = load(path)
    sim = Simulation(scenario, f"sqlite+aiosqlite:///{tmp_path / 'sim.db'}", media)
    outcome = await sim.run()
    found = report(outcome)
    assert found == {"silence": [], "hard": [], "asrun": [], "log": []}, (found, outcome.notes)
