"""fastmlp against its peers, from Python: ``fastmlp.benchmark.main(["--quick"])`` runs what
``fastmlp bench --quick`` and ``python bench/compare.py --quick`` run (see bench/README.md).
The benchmark and its peers live in fastmlp._bench."""
from ._bench.benchmark import main

__all__ = ["main"]
