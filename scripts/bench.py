"""Benchmark initlab against sequential JAX, a PyTorch loop and torch.func.

Writes ``bench-results/benchmark.json`` and ``benchmark.md`` (see
``initlab.bench``); the same as ``initlab bench``. Runs from a checkout
without installing initlab (``PYTHONPATH=.``).

Example:
  $ python scripts/bench.py --quick
  $ PYTHONPATH=. python scripts/bench.py --plan gpu --deadline 420 --out bench-gpu
  $ PYTHONPATH=. python scripts/bench.py --plan gpu --tiny --parts T  # any CPU
"""

from initlab.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
