"""Orchestration: Prefect flows (rebuild, backfill, reconcile, tail) and the warehouse they load.

Importing ``flows`` or ``flows.warehouse`` never imports Prefect: the app reads the warehouse through
``flows.warehouse.read`` without it. The flows themselves live in ``flows.rebuild``, ``flows.backfill``,
``flows.reconcile`` and ``flows.tail``.
"""
