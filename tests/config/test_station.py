"""Station config: the roadmap example validates, broken files say where and why."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from grimnir.config._yamlpos import load_yaml_with_positions
from grimnir.config.station import (
    load_station_config,
    parse_station_config,
    slugify,
)
from grimnir.domain.errors import ConfigError
from grimnir.domain.priority import Priority
from tests._require import SHARED, require_shared

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "station-wgmr.yaml"
SHARED_EXAMPLE = SHARED / "examples" / "station-wgmr.yaml"
TEXT = EXAMPLE.read_text(encoding="utf-8")
NODE_TYPES = (
    "agc, compressor, duck, equalizer, gate, level_meter, limiter, loudness_normalize, mix, "
    "silence_detector"
)


def _edit(old: str, new: str) -> str:
    """The example with ``old`` (which must occur once) replaced by ``new``."""
    assert TEXT.count(old) == 1, old
    return TEXT.replace(old, new)


def _line(text: str, needle: str) -> int:
    """1-based line of the only line of ``text`` containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_station_config(text, "station.yaml")
    problems = caught.value.problems
    count = len(problems)
    assert caught.value.args[0] == f"station.yaml: {count} problem{'' if count == 1 else 's'}"
    return problems


# --- the example --------------------------------------------------------------------------


def test_the_shared_example_validates_unchanged() -> None:
    require_shared("examples/station-wgmr.yaml")
    config = load_station_config(SHARED_EXAMPLE)
    assert config.station.name == "WGMR FM"


def test_example_values_come_through() -> None:
    config = load_station_config(EXAMPLE)
    assert config.station.id == uuid.UUID("6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11")
    assert config.station.timezone == "America/New_York"
    assert config.station.zone.key == "America/New_York"
    assert config.station.short_name is None
    assert config.station.resolved_short_name == "wgmr-fm"

    (mount,) = config.mounts
    assert mount.id == "mount-main"
    assert [o.type for o in mount.outputs] == ["icecast", "hls", "recording"]
    icecast, hls, recording = mount.outputs
    assert icecast.type == "icecast"
    assert icecast.masked_url == "icecast://source:***@localhost:8000/stream"
    assert "password" not in repr(icecast)
    assert (icecast.format, icecast.bitrate_kbps, icecast.legacy_source) == ("mp3", 128, False)
    assert hls.type == "hls"
    assert (hls.segment_duration_sec, hls.window_segments, hls.format) == (4, 6, "aac")
    assert recording.type == "recording"
    assert (recording.rotation_days, recording.rotate_minutes) == (30, 60)

    nodes = config.dsp_graph.nodes
    assert [n.type for n in nodes] == ["loudness_normalize", "agc", "compressor", "limiter"]
    compressor = nodes[2]
    assert compressor.type == "compressor"
    assert compressor.ratio == 3.0
    assert compressor.makeup_gain_db == 0

    assert config.failover.emergency_audio_path == "/media/emergency.mp3"
    assert config.failover.live_grace_sec == 5
    assert config.priorities.as_priorities() == {p.key: p for p in Priority}


def test_defaults_fill_the_optional_sections() -> None:
    minimal = (
        "station:\n  id: 6f1c2a4e-3b7d-4c1e-9a57-2d8f0b6e4a11\n  name: Radio Café Øst\n"
        "  timezone: Europe/Oslo\nmounts:\n  - id: main\n    name: Main\n"
        "    outputs:\n      - type: 'null'\n"
    )
    config = parse_station_config(minimal)
    assert config.station.resolved_short_name == "radio-cafe-st"
    assert config.dsp_graph.nodes == []
    assert config.failover.layer_fade_ms == 500
    assert config.priorities.as_priorities()["fallback"] is Priority.FALLBACK
    assert config.mounts[0].outputs[0].type == "null"


def test_config_is_frozen() -> None:
    config = parse_station_config(TEXT)
    with pytest.raises(ValueError, match="frozen"):
        config.station.name = "other"  # type: ignore[misc]


def test_slugify() -> None:
    assert slugify("WGMR FM") == "wgmr-fm"
    assert slugify("  KEXP 90.3 — Seattle!  ") == "kexp-90-3-seattle"


# --- broken variants: one problem each, exact line, path and hint ---------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        pytest.param(
            "type: compressor",
            "type: compresor",
            "compresor",
            "dsp_graph.nodes[2].type: unknown node type 'compresor'; did you mean 'compressor'? "
            f"(valid: {NODE_TYPES})",
            id="unknown-node-type",
        ),
        pytest.param(
            "dsp_graph:",
            "dsp_grap:",
            "dsp_grap:",
            "dsp_grap: unknown key 'dsp_grap'; did you mean 'dsp_graph'?",
            id="typo-top-level",
        ),
        pytest.param(
            "threshold_db: -20.0",
            "thresold_db: -20.0",
            "thresold_db",
            "dsp_graph.nodes[2].thresold_db: unknown key 'thresold_db'; "
            "did you mean 'threshold_db'?",
            id="typo-in-node",
        ),
        pytest.param(
            "segment_duration_sec: 4",
            "segment_duraton_sec: 4",
            "segment_duraton_sec",
            "mounts[0].outputs[1].segment_duraton_sec: unknown key 'segment_duraton_sec'; "
            "did you mean 'segment_duration_sec'?",
            id="typo-in-output",
        ),
        pytest.param(
            "ratio: 3.0",
            "ratio: 0.5",
            "ratio: 0.5",
            "dsp_graph.nodes[2].ratio: must be ≥ 1 (got 0.5)",
            id="bad-ratio",
        ),
        pytest.param(
            "ratio: 3.0",
            "ratio: abc",
            "ratio: abc",
            "dsp_graph.nodes[2].ratio: must be a number (got 'abc')",
            id="wrong-type",
        ),
        pytest.param(
            'timezone: "America/New_York"',
            'timezone: "America/New_Yrok"',
            "New_Yrok",
            "station.timezone: unknown time zone 'America/New_Yrok'; "
            "did you mean 'America/New_York'?",
            id="bad-timezone",
        ),
        pytest.param(
            "icecast://source:password@localhost:8000/stream",
            "icecast://source:password@localhost:8000",
            "icecast://",
            "mounts[0].outputs[0].url: must be a URL like "
            "icecast://source:PASSWORD@host:8000/mount (the mount path (like /stream) is missing)",
            id="bad-url",
        ),
        pytest.param(
            "icecast://source:password@localhost:8000/stream",
            "https://source:password@localhost:8443/stream",
            "https://",
            "mounts[0].outputs[0].url: must be a URL like icecast://source:PASSWORD@host:8000/"
            "mount (the source connection cannot use TLS: write icecast:// or http://)",
            id="tls-source-url",
        ),
        pytest.param(
            "  emergency: 0\n",
            "  emergency: 4\n",
            "fallback: 4",
            "priorities.fallback: 'emergency' is 4 already; give each of the five sources its "
            "own priority from 0 to 4",
            id="priorities-not-distinct",
        ),
        pytest.param(
            "  live_override: 1\n",
            "  live_overide: 1\n",
            "live_overide",
            "priorities.live_overide: unknown key 'live_overide'; did you mean 'live_override'?",
            id="priorities-typo",
        ),
        pytest.param(
            "      - type: hls\n",
            "      - kind: hls\n",
            "kind: hls",
            "mounts[0].outputs[1].type: required key missing: `type:` says which kind of "
            "output (valid: file, hls, http, icecast, null, recording)",
            id="output-type-missing",
        ),
        pytest.param(
            "      - type: recording\n",
            "      - type: null\n",
            "type: null",
            'mounts[0].outputs[2].type: is empty; to use the null output, quote it: type: "null" '
            "(valid: file, hls, http, icecast, null, recording)",
            id="unquoted-null-output",
        ),
        pytest.param(
            "        format: mp3\n",
            "        format: mp4\n",
            "format: mp4",
            "mounts[0].outputs[0].format: must be one of mp3, aac, opus, vorbis, flac "
            "(got 'mp4'); did you mean 'mp3'?",
            id="bad-format",
        ),
        pytest.param(
            "    - type: limiter\n",
            "    - type: equalizer\n"
            "      bands_db: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\n"
            "      bands:\n"
            "        - {kind: peak, freq_hz: 1000, gain_db: 3}\n"
            "    - type: limiter\n",
            "type: equalizer",
            "dsp_graph.nodes[3]: give either bands_db (graphic EQ) or bands (parametric), not both",
            id="equalizer-both-forms",
        ),
        pytest.param(
            "    - type: limiter\n",
            "    - type: equalizer\n      bands_db: [1, 2, 3]\n    - type: limiter\n",
            "bands_db",
            "dsp_graph.nodes[3].bands_db: needs exactly 10 gains in dB, for 31, 62, 125, 250, "
            "500, 1k, 2k, 4k, 8k and 16k Hz (got 3)",
            id="equalizer-band-count",
        ),
        pytest.param(
            "bitrate_kbps: 128",
            "bitrate_kbps: 128\n        bitrate_kbps: 96",
            "bitrate_kbps: 96",
            "mounts[0].outputs[0].bitrate_kbps: duplicate key 'bitrate_kbps' (first at line 17); "
            "YAML keeps only the last one, so remove or rename one of them",
            id="duplicate-yaml-key",
        ),
    ],
)
def test_broken_example_names_line_path_and_hint(
    old: str, new: str, needle: str, expected: str
) -> None:
    text = _edit(old, new)
    assert _problems(text) == [f"station.yaml:{_line(text, needle)} {expected}"]


def test_missing_required_key_points_at_the_parent_mapping() -> None:
    text = _edit('  name: "WGMR FM"\n', "")
    assert _problems(text) == [
        f"station.yaml:{_line(text, 'station:')} station.name: required key missing"
    ]


def test_duplicate_mount_id_points_at_the_second_and_names_the_first() -> None:
    second = '  - id: "mount-main"\n    name: "Backup"\n    outputs:\n      - type: "null"\n'
    text = _edit("\ndsp_graph:", f"{second}\ndsp_graph:")
    first = _line(text, 'name: "Main Stream"') - 1
    line = _line(text, 'name: "Backup"') - 1
    assert _problems(text) == [
        f"station.yaml:{line} mounts[1].id: duplicate mount id 'mount-main' (first at line {first})"
    ]
    assert first == 11


def test_duplicate_node_ids() -> None:
    text = _edit("    - type: compressor\n", "    - type: compressor\n      id: comp\n")
    text = text.replace("    - type: limiter\n", "    - type: limiter\n      id: comp   # again\n")
    first = _line(text, "type: compressor") + 1
    again = _line(text, "# again")
    assert _problems(text) == [
        f"station.yaml:{again} dsp_graph.nodes[3].id: duplicate node id 'comp' "
        f"(first at line {first})"
    ]


def test_yaml_syntax_error_names_file_and_line() -> None:
    text = _edit("  target_lufs: -16.0", "  target_lufs: [-16.0")
    assert _problems(text) == [
        f"station.yaml:{_line(text, 'true_peak_limit')} YAML syntax error: expected ',' or ']', "
        f"but got ':' (while parsing a flow sequence at line {_line(text, '[-16.0')})"
    ]


def test_all_problems_are_reported_sorted_by_line() -> None:
    text = (
        TEXT.replace("  live_timeout_sec: 30", "  live_timeout_sec: 0")
        .replace('timezone: "America/New_York"', 'timezone: "Mars/Olympus"')
        .replace("release_ms: 10", "release_ms: 10\n      bogus: 1")
        .replace("        bitrate_kbps: 128", "        bitrate_kbps: 1000")
    )
    assert _problems(text) == [
        "station.yaml:8 station.timezone: unknown time zone 'Mars/Olympus' "
        "(use an IANA name like 'Europe/Oslo')",
        "station.yaml:17 mounts[0].outputs[0].bitrate_kbps: must be ≤ 320 (got 1000)",
        "station.yaml:46 dsp_graph.nodes[3].bogus: unknown key 'bogus'; valid keys here: "
        "id, enabled, type, threshold_db, release_ms",
        "station.yaml:49 failover.live_timeout_sec: must be > 0 (got 0)",
    ]


def test_error_text_lists_every_problem_under_the_summary() -> None:
    text = _edit("ratio: 3.0", "ratio: 0")
    with pytest.raises(ConfigError) as caught:
        parse_station_config(text, "wgmr.yaml")
    assert (
        str(caught.value)
        == "wgmr.yaml: 1 problem\nwgmr.yaml:39 dsp_graph.nodes[2].ratio: must be ≥ 1 (got 0)"
    )


# --- whole-file problems ------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml: no such file$"):
        load_station_config(path)


def test_directory_and_non_utf8_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_station_config(tmp_path)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"station:\n  name: Radio Caf\xe9\n")
    with pytest.raises(
        ConfigError, match=r"latin1\.yaml: not UTF-8 text \(bad byte at offset 26\)"
    ):
        load_station_config(latin1)


@pytest.mark.parametrize("text", ["", "# nothing but a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_station_config(str(path))
    assert str(caught.value) == (
        f"{path}: the file is empty; a station config needs at least `station:` and `mounts:`"
    )


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_station_config("\n- station\n- mounts\n", "list.yaml")
    assert str(caught.value) == (
        "list.yaml:2: the top level must be a mapping of keys like `station:` and `mounts:`, "
        "not a list"
    )


# --- the position-recording loader --------------------------------------------------------


def test_positions_of_keys_and_list_items() -> None:
    document = load_yaml_with_positions(TEXT, "station.yaml")
    assert document.problems == []
    assert document.lines[("station", "timezone")] == 8
    assert document.lines[("dsp_graph", "nodes", 2)] == 37
    assert document.lines[("dsp_graph", "nodes", 2, "ratio")] == 39
    assert document.line_of(("dsp_graph", "nodes", 2, "makeup_gain_db")) == 37
    assert document.data["dsp_graph"]["nodes"][2]["ratio"] == 3.0
    assert document.data["failover"]["automation_fallback_enabled"] is True
    assert document.data["failover"]["live_timeout_sec"] == 30


def test_anchors_merge_keys_and_plain_key_text() -> None:
    text = "base: &b\n  a: 1\n  b: 2\nnode:\n  <<: *b\n  b: 3\n  no: off\n"
    document = load_yaml_with_positions(text, "t.yaml")
    assert document.data["node"] == {"a": 1, "b": 3, "no": False}
    assert document.lines[("node", "b")] == 6
    assert document.lines[("node", "a")] == 2  # where the merged value was written


def test_merged_typo_points_at_the_line_written() -> None:
    text = TEXT.replace(
        "    - type: limiter\n      threshold_db: -1.0\n      release_ms: 10",
        "    - &lim\n      type: limiter\n      threshold_db: -3.0\n"
        "    - <<: *lim\n      releas_ms: 30",
    )
    assert _problems(text) == [
        f"station.yaml:{_line(text, 'releas_ms')} dsp_graph.nodes[4].releas_ms: "
        "unknown key 'releas_ms'; did you mean 'release_ms'?"
    ]


def test_a_section_with_every_key_commented_out_means_defaults() -> None:
    text = TEXT.split("\nfailover:")[0] + "\nfailover:\n#  live_timeout_sec: 30\npriorities:\n"
    config = parse_station_config(text)
    assert config.failover.live_timeout_sec == 30
    assert config.priorities.as_priorities()["emergency"] is Priority.EMERGENCY


def test_nested_problems_blame_the_key_written() -> None:
    text = _edit(
        "    - type: limiter\n",
        "    - type: mix\n      inputs: [live, automation]\n      gains_db: [-3]\n"
        "    - type: equalizer\n      bands:\n        - {knd: peak, freq_hz: 1000}\n"
        "    - type: limiter\n",
    )
    assert _problems(text) == [
        f"station.yaml:{_line(text, 'gains_db')} dsp_graph.nodes[3].gains_db: gives 1 gain(s) "
        "for 2 input(s); give one gain per input",
        f"station.yaml:{_line(text, 'knd:')} dsp_graph.nodes[4].bands[0].knd: unknown key 'knd'; "
        "did you mean 'kind'?",
    ]


def test_mp3_bitrate_must_exist() -> None:
    text = EXAMPLE.read_text().replace("bitrate_kbps: 128", "bitrate_kbps: 100", 1)
    with pytest.raises(ConfigError) as caught:
        parse_station_config(text, "station.yaml")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "bitrate_kbps: 100" in row)
    assert caught.value.problems == [
        f"station.yaml:{line} mounts[0].outputs[0].bitrate_kbps: MP3 has no 100 kbps; use one of "
        "32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320"
    ]


def test_harbor_defaults_to_one_live_mount_and_refuses_repeated_paths() -> None:
    assert [m.path for m in parse_station_config(TEXT).harbor.mounts] == ["/live"]
    broken = TEXT + "harbor:\n  mounts:\n    - path: /dj\n    - path: /dj\n"
    with pytest.raises(ConfigError, match=r"harbor\.mounts.*listed twice: /dj"):
        parse_station_config(broken, "s.yaml")
