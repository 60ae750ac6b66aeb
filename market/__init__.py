"""Market facts, the lowest layer: trading calendar and holidays, session hours, tick sizes and price limits,
futures expiry, reference data (VN30 members, sectors) and the exchange clock (ICT, UTC+7).

Imports nothing of the project. Docs: docs/market.md, docs/architecture.md.
"""
