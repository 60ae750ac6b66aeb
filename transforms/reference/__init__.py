"""Scalar reference implementation of docs/analytics.md: the test oracle of the vectorized transforms.

Plain Python, frame by frame in arrival order, the way the original per-message system worked; polars only
builds the output frames. ``run_reference`` returns the same tables as the vectorized pipeline.
"""

from transforms.reference.run import run_reference

__all__ = ["run_reference"]
