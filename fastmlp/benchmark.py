"""fastmlp against its peers, from Python: ``fastmlp.benchmark.main(["--quick"])`` runs what
``fastmlp bench --quick`` and ``python bench/compare.py --quick`` run (see bench/README.md)."""
from ._bench.benchmark import main

__all__ = ["main"]
