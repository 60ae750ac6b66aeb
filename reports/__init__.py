"""Reports: DuckDB SQL over the lake's curated tables; the daily HTML / Markdown report (docs/architecture.md §1)."""

from reports.daily import ReportPaths, build_report

__all__ = ["ReportPaths", "build_report"]
