"""Prediction through an exported ONNX graph in onnxruntime against net.forward: time and
agreement, on the same networks in one run.

    python bench/onnx_predict.py [--threads 1] [--repeats 7] [--n 20000]

For each network (random weights, random inputs) it prints the median time of a batched
pass over n samples and of one single-sample call, as samples/s and microseconds, the
speed ratio fastmlp/onnxruntime (the two take turns, so that both see the same load), and
the largest |h - net.forward(X)|. Both sides use ``threads`` threads (BLAS for fastmlp,
intra-op for onnxruntime).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import onnxruntime as ort

import fastmlp as fm
import fastmlp.onnx

NETWORKS = [
    ([64, 32, 10], "tanh", "float64"),
    ([784, 128, 10], "tanh", "float32"),
    ([784, 512, 512, 10], "relu", "float32"),
]


def median_seconds(calls, repeats):
    """The median time of each call; the calls take turns, so that both see the same load."""
    times = [[] for _ in calls]
    for _ in range(repeats):
        for call, spent in zip(calls, times):
            start = time.perf_counter()
            call()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args(argv)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = args.threads
    rng = np.random.default_rng(0)
    print("| network | dtype | fastmlp samples/s | onnxruntime samples/s | fastmlp/ort speed | fastmlp 1 sample (us) "
          "| onnxruntime 1 sample (us) | fastmlp/ort speed | max abs difference |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for sizes, hidden, dtype in NETWORKS:
        net = fm.MLP(sizes, activation=hidden, loss="cross_entropy", dtype=dtype, seed=0, n_threads=args.threads)
        session = ort.InferenceSession(fastmlp.onnx.to_model(net).SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        X = rng.normal(0.0, 1.0, size=(args.n, sizes[0])).astype(dtype)
        x1 = X[:1]
        difference = float(np.abs(session.run(["h"], {"x": X})[0] - net.forward(X)).max())
        batch = median_seconds([lambda: net.forward(X), lambda: session.run(["h"], {"x": X})], args.repeats)
        single = [t / 200 for t in median_seconds([lambda: [net.forward(x1) for _ in range(200)],
                                                   lambda: [session.run(["h"], {"x": x1}) for _ in range(200)]],
                                                  args.repeats)]
        print(f"| {'-'.join(map(str, sizes))} {hidden} | {dtype} | {args.n / batch[0]:,.0f} | {args.n / batch[1]:,.0f} "
              f"| {batch[1] / batch[0]:.2f} | {single[0] * 1e6:.1f} | {single[1] * 1e6:.1f} | {single[1] / single[0]:.2f} "
              f"| {difference:.1e} |")


if __name__ == "__main__":
    main()
