"""Time fastmlp against numpy, scikit-learn, PyTorch, FANN, Numba and JAX: see bench/README.md.

    python bench/compare.py --threads 1 > results.txt
"""
import sys

from fastmlp.benchmark import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
