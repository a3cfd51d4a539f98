"""Time the kernels' minibatch epochs of this checkout against another build, in one run.

    python bench/small_batches.py --base /path/to/other/checkout [--dtype float64]
        [--batches 2,4,8,10,16,24,32] [--sizes 784-30-10,64-32-10,784-128-10]

Both builds' extensions (the newest instruction set this CPU runs) are loaded into one
process and timed in turn on the same data, the same order and the same start weights, so
that load on the machine hits both alike: for each network and batch size, the best of
``--repeats`` epochs of 1024 random samples, in ns per sample, and the ratio base / this.
It is how the small-batch path (fastmlp/_kernels/small_batches.pxi) was set against the BLAS path:
build the commit before it in another directory and point --base at it.
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import fastmlp as fm
from fastmlp._engine import backends as _backends

HERE = Path(__file__).resolve().parent.parent


def kernels(root, alias, isa):
    """The extension _core_<isa> (or _core) built in the checkout ``root``, as module ``alias``
    (in fastmlp/_kernels, or in fastmlp in a checkout from before the kernels moved there)."""
    stem = "_core" if isa == "generic" else f"_core_{isa}"
    path = glob.glob(str(Path(root) / "fastmlp" / "_kernels" / f"{stem}.cpython-*.so"))
    path += glob.glob(str(Path(root) / "fastmlp" / f"{stem}.cpython-*.so"))
    if not path:
        raise SystemExit(f"no {stem} extension built in {root}/fastmlp/_kernels")
    spec = importlib.util.spec_from_file_location(f"{alias}.{stem}", path[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="another checkout with its extensions built in place")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--activation", default="tanh")
    parser.add_argument("--batches", default="2,4,8,10,16,24,32")
    parser.add_argument("--sizes", default="784-30-10,64-32-10,784-128-10,64-100-100-10")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    isa = _backends.available_isas()[-1]
    builds = {"base": kernels(args.base, "base_build", isa), "this": kernels(HERE, "this_build", isa)}
    batches = [int(b) for b in args.batches.split(",")]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{isa} kernels, {args.dtype}, {args.activation}; best of {args.repeats} epochs of 1024 samples; "
          f"BLAS on 1 thread; load average {load}")
    print("ns per sample, base / this (ratio > 1: this is faster)")
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        for text in args.sizes.split(","):
            sizes = [int(d) for d in text.split("-")]
            n = 1024
            X = rng.random((n, sizes[0])).astype(args.dtype)
            Y = rng.random((n, sizes[-1])).astype(args.dtype)
            net = fm.MLP(sizes, activation=args.activation, output="identity", loss="l2", seed=0, dtype=args.dtype)
            # Each build numbers the activations and the loss by its own codes.
            arch = {name: k.Architecture(net.sizes, [k.ACTIVATION_CODES[a.name] for a in net.activations],
                                         [a.params for a in net.activations], k.LOSS_CODES[net.loss.name])
                    for name, k in builds.items()}
            order = rng.permutation(n).astype(np.intp)
            cells = []
            for batch in batches:
                best = {name: np.inf for name in builds}
                for _ in range(args.repeats):
                    for name, k in builds.items():  # interleaved
                        params = net.params.copy()
                        start = time.perf_counter()
                        k.minibatch_epoch(arch[name], params, X, Y, order, batch, 0.01)
                        best[name] = min(best[name], time.perf_counter() - start)
                base, this = (best[name] / n * 1e9 for name in ("base", "this"))
                cells.append(f"{batch}: {base:.0f}/{this:.0f} ({base / this:.2f}x)")
            print(f"{text:<16}" + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
