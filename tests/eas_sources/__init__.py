"""Tests of the alert sources: feeds, NAAD stream, SAME monitor, scheduled tests."""
