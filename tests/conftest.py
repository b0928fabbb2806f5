"""Test-wide settings: rank promotion raises; warnings are errors (pyproject)."""

import os

# Several XLA CPU devices are only for subprocess tests; keep this process at one.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
jax.config.update("jax_numpy_rank_promotion", "raise")
