"""Replay: a recorded day through the same analytics as the live loop (``build_day``), and the live == replay check.

Docs: docs/architecture.md ("one day"), docs/analytics.md.
"""
