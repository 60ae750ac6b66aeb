"""Orchestration: Prefect flows (rebuild, backfill, reconcile, tail) and the warehouse they load.

Importing ``flows`` or ``warehouse`` never imports Prefect: the app reads the warehouse through
``warehouse.read`` without it. The flows themselves live in ``flows.rebuild``, ``flows.backfill``,
``flows.reconcile`` and ``flows.tail``.
"""
