"""The monitoring examples under ``deploy/`` load, and speak only our metrics.

Prometheus rules, their unit tests and the example configs are checked by the real
tools (``promtool``, ``amtool``); the Grafana dashboards have no offline checker, so
their queries are checked here: every metric they name is one ``/metrics`` exports,
and brackets balance.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._require import require_peer

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "grimnir-rules.yml"
RULE_TESTS = PROMETHEUS / "grimnir-rules.test.yml"
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"
PROVISIONING = DEPLOY / "grafana" / "provisioning"

# -- what /metrics exports ------------------------------------------------------------

GAUGES = frozenset(
    {
        "grimnir_database_up",
        "grimnir_database_pool_in_use",
        "grimnir_database_pool_size",
        "grimnir_bus_connected",
        "grimnir_station_on_air",
        "grimnir_executor_state",
        "grimnir_executor_priority",
        "grimnir_schedule_horizon_seconds",
        "grimnir_analysis_queue_depth",
        "grimnir_library_items",
        "grimnir_media_engine_up",
        "grimnir_media_engine_output_health",
        "grimnir_media_engine_loudness_lufs",
        "grimnir_media_engine_loudness_target_lufs",
        "grimnir_media_engine_true_peak_dbtp",
        "grimnir_playout_buffer_depth_samples",
        "grimnir_playout_cpu_usage_percent",
        "grimnir_playout_silence_seconds",
        "grimnir_engine_listeners",
    }
)
"""Gauges: on the wire under exactly this name."""
COUNTERS = frozenset(
    {
        "grimnir_api_requests",
        "grimnir_executor_items_started",
        "grimnir_schedule_entries",
        "grimnir_analysis_jobs",
        "grimnir_media_engine_restarts",
        "grimnir_media_engine_output_reconnects",
        "grimnir_playout_dropout_count",
        "grimnir_playout_late_blocks",
        "grimnir_playout_dead_air_seconds",
    }
)
"""Counters, by base name: on the wire only as ``<name>_total``."""
HISTOGRAMS = frozenset(
    {
        "grimnir_api_request_duration_seconds",
        "grimnir_bus_lag_seconds",
        "grimnir_schedule_build_duration_seconds",
        "grimnir_smart_block_materialize_duration_seconds",
        "grimnir_analysis_job_duration_seconds",
    }
)
"""Histograms, by base name: on the wire only as ``_bucket``, ``_sum`` and ``_count``."""


def wire_names() -> frozenset[str]:
    """Every series name a query may select."""
    return (
        GAUGES
        | {f"{name}_total" for name in COUNTERS}
        | {f"{name}{suffix}" for name in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
    )


WIRE_NAMES = wire_names()

ALERTS = {
    # alert: (severity, for)
    "DeadAir": ("page", "10s"),
    "ScheduleGap": ("ticket", "10m"),
    "PlayoutUnderrun": ("page", None),
    "OutputDown": ("page", "30s"),  # an integration test that kills Icecast waits this long
    "MediaEngineDown": ("page", "30s"),
    "HighCPU": ("ticket", "5m"),
    "LoudnessOffTarget": ("ticket", "10m"),
    "EngineCrashLoop": ("page", None),
    "AnalysisFailuresHigh": ("ticket", None),
}
VARIABLES = frozenset({"station", "__rate_interval"})
"""Dashboard variables a query may use."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_METRIC = re.compile(r"(?<![\w:])grimnir_[A-Za-z0-9_:]*")
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
_PAIRS = {")": "(", "]": "[", "}": "{"}


def metric_names(expr: str) -> set[str]:
    """The ``grimnir_…`` series names a PromQL expression selects (not in strings)."""
    return set(_METRIC.findall(_STRING.sub('""', expr)))


def variables(expr: str) -> set[str]:
    return {a or b for a, b in _VARIABLE.findall(expr)}


def balanced(expr: str) -> bool:
    """Whether ``()``, ``[]`` and ``{}`` pair up, outside string literals."""
    stack: list[str] = []
    for char in _STRING.sub('""', expr):
        if char in "([{":
            stack.append(char)
        elif char in _PAIRS and (not stack or stack.pop() != _PAIRS[char]):
            return False
    return not stack


def test_the_expression_checks_can_fail() -> None:
    """The helpers reject what they are there to reject."""
    assert "grimnir_playout_dropout_count_total" in WIRE_NAMES
    assert "grimnir_playout_dropout_count" not in WIRE_NAMES  # a counter without _total
    assert "grimnir_bus_lag_seconds_bucket" in WIRE_NAMES
    assert "grimnir_bus_lag_seconds" not in WIRE_NAMES  # a histogram without its suffix
    assert "grimnir_station_on_air_total" not in WIRE_NAMES  # a gauge with one
    expr = 'rate(grimnir_api_requests_total{route="/grimnir_x", s="$station"}[$__rate_interval])'
    assert metric_names(expr) == {"grimnir_api_requests_total"}
    assert variables(expr) == {"station", "__rate_interval"}
    assert variables('x{a=~"${station:regex}"} > $threshold') == {"station", "threshold"}
    assert balanced(expr)
    assert balanced('sum(x{a="(("})')
    assert not balanced("sum(rate(x[5m])")
    assert not balanced("sum(x{a='b')}")


# -- promtool and amtool --------------------------------------------------------------


def run(*argv: str, cwd: Path = DEPLOY) -> str:
    """Run a checker; its whole output is the failure message."""
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    output = f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}"
    assert done.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_peer("promtool")


@pytest.fixture(scope="module")
def amtool() -> str:
    return require_peer("amtool")


def test_promtool_accepts_the_rules(promtool: str) -> None:
    assert "SUCCESS: 9 rules found" in run(promtool, "check", "rules", str(RULES))


def test_the_rules_pass_their_unit_tests(promtool: str) -> None:
    # NOTE: rule_files in the test file are relative to the working directory.
    assert "SUCCESS" in run(promtool, "test", "rules", RULE_TESTS.name, cwd=PROMETHEUS)


def test_promtool_accepts_the_prometheus_config(promtool: str) -> None:
    # check config resolves rule_files relative to the config file, and checks them too
    output = run(promtool, "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert "SUCCESS: 1 rule files found" in output
    assert "SUCCESS: 9 rules found" in output


def test_amtool_accepts_the_alertmanager_config(amtool: str) -> None:
    assert "SUCCESS" in run(amtool, "check-config", str(ALERTMANAGER))


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (("alertname=DeadAir", "severity=page", "station=demo"), "page"),
        (("alertname=OutputDown", "severity=page", "station=demo", "output=icecast"), "page"),
        (("alertname=HighCPU", "severity=ticket", "station=demo"), "ticket"),
    ],
)
def test_alertmanager_routes_by_severity(
    amtool: str, labels: tuple[str, ...], receiver: str
) -> None:
    run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER}",
        f"--verify.receivers={receiver}",
        *labels,
    )


def test_alertmanager_groups_by_station_and_inhibits_under_a_dead_engine() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    assert config["route"]["group_by"] == ["alertname", "station"]
    [inhibit] = config["inhibit_rules"]
    assert inhibit["source_matchers"] == ['alertname="MediaEngineDown"']
    assert inhibit["target_matchers"] == ['alertname=~"OutputDown|DeadAir"']
    assert inhibit["equal"] == ["station"]


# -- the rules ------------------------------------------------------------------------


def _rules() -> list[dict[str, Any]]:
    config = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    [group] = config["groups"]
    assert group["name"] == "grimnir"
    rules: list[dict[str, Any]] = group["rules"]
    return rules


def test_the_rules_are_the_nine_alerts_each_with_severity_and_a_runbook() -> None:
    rules = _rules()
    assert sorted(rule["alert"] for rule in rules) == sorted(ALERTS)
    for rule in rules:
        severity, wait = ALERTS[rule["alert"]]
        assert rule["labels"] == {"severity": severity}, rule["alert"]
        assert rule.get("for") == wait, rule["alert"]
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook"}, rule["alert"]
        assert all(text.strip() for text in annotations.values()), rule["alert"]


def test_the_rules_use_only_exported_metrics() -> None:
    for rule in _rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= WIRE_NAMES, f"{rule['alert']}: {sorted(names - WIRE_NAMES)}"
        assert balanced(rule["expr"]), rule["alert"]


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert firing == set(ALERTS)
    assert quiet == set(ALERTS)
    for case in cases:
        for alert in case.get("exp_alerts") or []:
            assert set(alert["exp_annotations"]) == {"summary", "description", "runbook"}
            assert alert["exp_labels"]["severity"] == ALERTS[case["alertname"]][0]


# -- Grafana --------------------------------------------------------------------------

DASHBOARD_FILES = ["grimnir-station.json", "grimnir-fleet.json"]


def _dashboard(name: str) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    return dashboard


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    found: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def test_only_the_two_dashboards_are_shipped() -> None:
    assert sorted(p.name for p in DASHBOARDS.iterdir()) == sorted(DASHBOARD_FILES)


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_dashboard_uses_a_datasource_variable(name: str) -> None:
    dashboard = _dashboard(name)
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["uid"] == name.removesuffix(".json")
    variables_ = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables_["datasource"]["type"] == "datasource"
    assert variables_["datasource"]["query"] == "prometheus"
    source = {"type": "prometheus", "uid": "${datasource}"}
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == source, panel["title"]
        assert all(target["datasource"] == source for target in panel["targets"]), panel["title"]


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_dashboard_queries_use_only_exported_metrics(name: str) -> None:
    panels = [panel for panel in _panels(_dashboard(name)) if panel["type"] != "row"]
    assert panels
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in panels:
        title = panel.get("title", "")
        assert title.strip(), f"panel {panel['id']} has no title"
        exprs = [target["expr"] for target in panel.get("targets", []) if target.get("expr")]
        assert exprs, f"{title}: no query"
        for expr in exprs:
            names = metric_names(expr)
            assert names <= WIRE_NAMES, f"{title}: {sorted(names - WIRE_NAMES)} in {expr}"
            assert balanced(expr), f"{title}: unbalanced {expr}"
            assert variables(expr) <= VARIABLES, f"{title}: {variables(expr)} in {expr}"


def test_station_dashboard_shows_one_station_of_those_on_air() -> None:
    dashboard = _dashboard("grimnir-station.json")
    variables_ = {v["name"]: v for v in dashboard["templating"]["list"]}
    station = variables_["station"]
    assert station["type"] == "query"
    assert station["definition"] == "label_values(grimnir_station_on_air, station)"
    assert station["query"]["query"] == station["definition"]
    for panel in _panels(dashboard):
        for target in panel["targets"]:
            assert 'station="$station"' in target["expr"], panel["title"]
    shown = set().union(
        *(metric_names(t["expr"]) for p in _panels(dashboard) for t in p["targets"])
    )
    assert {
        "grimnir_station_on_air",
        "grimnir_executor_state",
        "grimnir_executor_priority",
        "grimnir_media_engine_loudness_lufs",
        "grimnir_media_engine_loudness_target_lufs",
        "grimnir_media_engine_true_peak_dbtp",
        "grimnir_engine_listeners",
        "grimnir_media_engine_output_health",
        "grimnir_media_engine_output_reconnects_total",
        "grimnir_playout_buffer_depth_samples",
        "grimnir_playout_dropout_count_total",
        "grimnir_playout_late_blocks_total",
        "grimnir_playout_silence_seconds",
        "grimnir_playout_cpu_usage_percent",
    } <= shown


def test_fleet_dashboard_shows_the_control_plane_and_firing_alerts() -> None:
    dashboard = _dashboard("grimnir-fleet.json")
    exprs = [t["expr"] for p in _panels(dashboard) for t in p["targets"]]
    assert 'ALERTS{alertstate="firing"}' in exprs
    assert any(
        "histogram_quantile(0.99" in e and "grimnir_api_request_duration_seconds_bucket" in e
        for e in exprs
    )
    shown = set().union(*(metric_names(e) for e in exprs))
    assert {
        "grimnir_station_on_air",
        "grimnir_media_engine_up",
        "grimnir_playout_cpu_usage_percent",
        "grimnir_media_engine_restarts_total",
        "grimnir_api_requests_total",
        "grimnir_bus_lag_seconds_bucket",
        "grimnir_database_pool_in_use",
        "grimnir_database_pool_size",
        "grimnir_analysis_queue_depth",
    } <= shown


def test_grafana_provisioning_loads_prometheus_and_the_dashboards() -> None:
    sources = yaml.safe_load(
        (PROVISIONING / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )
    [source] = sources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://localhost:9090"
    providers = yaml.safe_load(
        (PROVISIONING / "dashboards" / "grimnir.yml").read_text(encoding="utf-8")
    )
    [provider] = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]
