"""The near-real-time loop's I/O edge: ``vntrack tail`` and ``vntrack replay --verify`` (issue 5).

Reads what capture made durable (sealed segments and complete journal batches, contract C1), runs the pure
micro-batch engine (:mod:`transforms.incremental`), appends the row outputs and a checkpoint atomically under
``lake/live/date=D/``, and publishes the snapshot of contract C3. Layout and guarantees: live/README.md.
"""
