"""fastmlp.estimators against scikit-learn's MLPClassifier on the shipped digits, and
threaded grid searches against serial ones; prints markdown tables.

    python bench/estimators.py [--repeats 5] [--per-sample-epochs 10] [--fits-only]

Table 1: fit times (median of --repeats, ours and scikit-learn's run alternately so that
both see the same load, BLAS held to one thread for both) of the same estimator settings,
on the digits and on a synthetic 10,000 x 100 set of 10 classes, with the held-out
accuracy of each. Table 2: GridSearchCV over 4
settings x 3 folds, serial (n_jobs=1) against joblib's threading backend with n_jobs=2,
for per-sample and minibatch fits, with BLAS limited to one thread around the whole search
(in the main thread) and, for contrast, left at its default thread count. CPU/wall is the
process's CPU time over the wall time: above 1 only when threads ran at the same time. A
last row does the same for numpy's matrix product, which runs in parallel wherever cores
are free: the parallelism the machine allowed during the run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import warnings

import joblib
import numpy as np
from sklearn import neural_network
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from fastmlp import estimators
from fastmlp.datasets import load_digits, train_test_split


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def timed(function, repeats):
    """(median wall seconds, median process CPU seconds over wall seconds, last result) of
    ``repeats`` calls."""
    seconds, busy, result = [], [], None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        result = function()
        seconds.append(time.perf_counter() - start)
        busy.append((time.process_time() - cpu) / seconds[-1])
    return statistics.median(seconds), statistics.median(busy), result


def synthetic(n=10_000, d=100, classes=10, seed=0):
    """n samples of d features in ``classes`` Gaussian clusters (a fifth of the features
    informative), split 75/25: (X_train, X_test, y_train, y_test)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.normal(size=(classes, d // 5))
    X = rng.normal(size=(n, d))
    X[:, : d // 5] += 1.5 * centres[y]
    return train_test_split(X, y, 0.25, seed=seed)


def fit_times(repeats, per_sample_epochs):
    X, y = load_digits()
    digits = train_test_split(X / 16, y, 0.25, seed=0)
    rows = [
        ("digits, defaults (adam, batch 200, 200 epochs)", digits, {}),
        (f"digits, solver='sgd', batch_size=1 ({per_sample_epochs} epochs)", digits,
         {"solver": "sgd", "batch_size": 1, "max_iter": per_sample_epochs}),
        ("digits, solver='lbfgs' (max_iter=200)", digits, {"solver": "lbfgs"}),
        ("synthetic 10,000 x 100, defaults (adam, batch 200), 20 epochs", synthetic(), {"max_iter": 20}),
    ]
    print(f"| 75% for training, 64-100-10 on the digits ({len(digits[0])} samples), 100-100-10 on the synthetic set "
          "| scikit-learn s | fastmlp s | speed-up | accuracy scikit-learn | accuracy fastmlp |")
    print("|---|---|---|---|---|---|")
    for name, (X_train, X_test, y_train, y_test), params in rows:
        seconds = {neural_network: [], estimators: []}
        models = {}
        for _ in range(repeats):  # alternately, so that both see the same load
            for module in seconds:
                start = time.perf_counter()
                models[module] = module.MLPClassifier(random_state=0, **params).fit(X_train, y_train)
                seconds[module].append(time.perf_counter() - start)
        theirs, ours = (statistics.median(seconds[module]) for module in (neural_network, estimators))
        print(f"| {name} | {theirs:.3f} | {ours:.3f} | {theirs / ours:.1f}x "
              f"| {models[neural_network].score(X_test, y_test):.4f} | {models[estimators].score(X_test, y_test):.4f} |")


def searches(repeats):
    X, y = load_digits()
    X = X / 16
    grid = {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2]}
    cases = [
        ("per-sample SGD (batch_size=1, 5 epochs), BLAS limited to 1 thread",
         {"solver": "sgd", "batch_size": 1, "learning_rate_init": 0.01, "max_iter": 5}, 1),
        ("minibatch Adam (batch 200, 30 epochs), BLAS limited to 1 thread", {"max_iter": 30}, 1),
        ("minibatch Adam (batch 200, 30 epochs), BLAS default threads", {"max_iter": 30}, None),
    ]
    print(f"| GridSearchCV, 4 settings x 3 folds, {len(X)} digits | serial s | threading n_jobs=2 s | speed-up "
          "| CPU/wall serial | CPU/wall threading |")
    print("|---|---|---|---|---|---|")
    for name, params, blas in cases:
        def run(n_jobs, params=params):
            search = GridSearchCV(estimators.MLPClassifier(random_state=0, **params), grid, cv=3, n_jobs=n_jobs)
            with joblib.parallel_backend("threading", n_jobs=n_jobs):
                return search.fit(X, y)

        # The limit is set once, in the main thread, around the whole search (see
        # fastmlp._engine.threads: OpenBLAS takes it from the main thread only).
        with threadpool_limits(blas, user_api="blas"):
            serial, serial_busy, _ = timed(lambda: run(1), repeats)
            threaded, threaded_busy, _ = timed(lambda: run(2), repeats)
        print(f"| {name} | {serial:.3f} | {threaded:.3f} | {serial / threaded:.2f}x | {serial_busy:.2f} "
              f"| {threaded_busy:.2f} |")
    serial, serial_busy, threaded, threaded_busy = control(repeats)
    print(f"| control: numpy 400x400 matmuls (GIL released), 2 jobs | {serial:.3f} | {threaded:.3f} "
          f"| {serial / threaded:.2f}x | {serial_busy:.2f} | {threaded_busy:.2f} |")


def control(repeats):
    """The same two-jobs comparison for work known to run in parallel (numpy's matrix
    product releases the GIL): the parallelism the machine allowed during the run."""
    A = np.random.default_rng(0).random((400, 400))

    def job():
        for _ in range(100):
            A @ A

    def threaded():
        workers = [threading.Thread(target=job) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    with threadpool_limits(1, user_api="blas"):
        serial, serial_busy, _ = timed(lambda: (job(), job()), repeats)
        parallel, parallel_busy, _ = timed(threaded, repeats)
    return serial, serial_busy, parallel, parallel_busy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--per-sample-epochs", type=int, default=10)
    parser.add_argument("--fits-only", action="store_true", help="table 1 only, without the searches")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; load average before: "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}\n")
    with threadpool_limits(1):
        fit_times(args.repeats, args.per_sample_epochs)
    if not args.fits_only:
        print()
        searches(args.repeats)
    print(f"\nload average after: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
