"""Importing an AzuraCast backup against scanning the same files (issue 19).

Generates an AzuraCast backup the way ``azuracast:backup`` writes it (MariaDB dump
of AzuraCast's own schema plus the station folders; tests/importers/azuracast) with
``--tracks`` generated tracks beside the fixture station's own, then in one run:

* the baseline: a fresh data dir, ``grimnir station add`` and ``grimnir library
  scan`` of the backup's media folder (every file copied in, read and analysed);
* the import: another fresh data dir, ``grimnir import azuracast --backup``
  (the dump read, every file copied in and analysed by the same pipeline, then
  tags, cue points, playlists, schedules and people written).

Both are whole ``grimnir`` processes (SQLite, the default); each figure is the
least wall time of ``--repeat`` interleaved runs, as other work on the machine
only adds. Goals: the import under 5 minutes for 1,000 tracks on 2 cores, and
≤ 1.2 × the scan of the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.importers.azuracast import make_backup as mb  # noqa: E402

STATION = "grimnir_fm"
MEDIA = f"var/azuracast/stations/{STATION}/media/"
STATION_YAML = """\
station:
  id: 6d7c1f36-2f7e-4a52-9d0e-3f1c2b9a8e01
  name: Scan Baseline
  short_name: baseline
  timezone: America/Chicago
mounts:
  - id: main
    name: Main
    outputs: [{type: http, path: /radio.mp3, format: mp3, bitrate_kbps: 128}]
"""


def grimnir(data: Path, *args: str) -> tuple[float, float, str]:
    """Run ``grimnir args`` on its own data dir: (wall s, CPU s of it and its
    children, stdout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIMNIR_")}
    env["GRIMNIR_DATA_DIR"] = str(data)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "grimnir", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"grimnir {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def scan(work: Path, media: Path, n: int) -> tuple[float, float, int]:
    data = work / f"scan-{n}"
    (work / "station.yaml").write_text(STATION_YAML)
    grimnir(data, "station", "add", "--config", str(work / "station.yaml"))
    wall, cpu, out = grimnir(data, "library", "scan", str(media), "--station", "baseline", "--json")
    summary = json.loads(out)
    return wall, cpu, int(summary["added"])


def import_backup(work: Path, backup: Path, n: int) -> tuple[float, float, int]:
    data = work / f"import-{n}"
    wall, cpu, out = grimnir(
        data, "import", "azuracast", "--backup", str(backup), "--station", STATION, "--json"
    )
    report = json.loads(out)[0]
    if report["state"] != "done":
        raise SystemExit(f"the import ended {report['state']}: {report['parts']}")
    return wall, cpu, int(report["counts"]["media"]["created"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not mb.reachable():
        raise SystemExit("needs MariaDB on 127.0.0.1:3306 (root, no password) to make the backup")
    with tempfile.TemporaryDirectory(prefix="grimnir-import-bench-") as tmp:
        work = Path(tmp)
        print(f"generating an AzuraCast backup with {args.tracks} extra tracks …", flush=True)
        backup = mb.make_backup(work / "backup.zip", size=args.tracks)
        media = work / "media"
        with zipfile.ZipFile(backup) as zipped:
            for name in zipped.namelist():
                if name.startswith(MEDIA) and not name.endswith("/") and "/.albumart/" not in name:
                    target = media / name.removeprefix(MEDIA)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zipped.read(name))
        files = sum(1 for p in media.rglob("*") if p.is_file())
        print(f"{files} media files, backup {backup.stat().st_size / 1e6:.1f} MB", flush=True)
        scans, imports = [], []
        for n in range(args.repeat):
            scans.append(scan(work, media, n))
            imports.append(import_backup(work, backup, n))
        s_wall, s_cpu, s_items = min(scans)
        i_wall, i_cpu, i_items = min(imports)
        print(f"library scan (baseline) {s_wall:8.1f} s wall {s_cpu:8.1f} CPU s  {s_items} items")
        print(f"import azuracast        {i_wall:8.1f} s wall {i_cpu:8.1f} CPU s  {i_items} items")
        ratio = i_wall / s_wall
        print(f"import / scan: {ratio:.2f}× wall, {i_cpu / s_cpu:.2f}× CPU  (goal ≤ 1.2×)")
        verdict = "met" if i_wall < 300 else "NOT met"
        print(f"import of {args.tracks} tracks: {i_wall / 60:.1f} min (goal < 5 min): {verdict}")


if __name__ == "__main__":
    main()
