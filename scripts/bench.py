"""Benchmark initlab against sequential JAX, a PyTorch loop and torch.func.

Writes ``bench-results/benchmark.json`` and ``benchmark.md`` (see
``initlab.bench``); the same as ``initlab bench``.

Example:
  $ python scripts/bench.py --quick
"""

from initlab.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
