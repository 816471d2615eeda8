"""Metrics, tracing, structured logs and health of Grimnir's processes.

``metrics`` holds the process-wide instruments (plan builds, smart-block
fills, analysis jobs) that the planner and library record into and
``/metrics`` exports, and the catalogue of every metric family the control
plane exports; ``tracing`` configures OpenTelemetry from the standard
``OTEL_*`` variables; ``logs`` the human and JSON log formats.

This package imports nothing of ours but ``domain``, so any package may
import it to record what it does.
"""
