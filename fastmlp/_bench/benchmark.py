"""fastmlp against its peers: the same SGD epochs and predictions, timed in one run.

    python bench/compare.py [--threads 1] [--quick] [--workloads W1,W2] [--markdown]

Each workload is one epoch of SGD (tanh hidden layers, softmax + cross-entropy, eta 0.01,
shuffled) or one batched prediction, on random data: only the shapes matter. For every
implementation that is installed (see fastmlp._bench.peers) the run first checks that it learns
and, where it can be compared exactly, that its update equals fastmlp's (``check_*``).
Then it sizes the work so that one measurement takes about ``seconds`` (that sizing run is
also the warm-up) and reports the median and best samples/s of ``repeats`` measurements,
interleaved across implementations so that a change in the machine's load hits all of
them alike. Beside the rates it prints achieved GFLOP/s (see ``flops_per_sample``),
numpy's matmul GFLOP/s on the same machine (the roof), startup time and the peak memory
of training W4, each in a fresh process.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import peers as _peers
from ..network import MLP

ETA = 0.01
SEED = 0


@dataclass(frozen=True)
class Workload:
    """One thing to time: an SGD epoch with ``batch_size`` (or a prediction) on ``sizes``.
    ``max_samples`` bounds the data generated for it; ``budget`` multiplies the time one
    measurement may take (Settings.seconds)."""

    name: str
    sizes: tuple
    dtype: str
    batch_size: int
    kind: str  # "train" or "predict"
    max_samples: int
    budget: float = 1.0
    optimizer: str = "sgd"  # or "momentum" (0.9) or "adam" (0.9, 0.999, 1e-8), see _peers

    @property
    def label(self) -> str:
        shape = "-".join(map(str, self.sizes))
        what = f"batch {self.batch_size}" if self.kind == "train" else "predict"
        rule = "" if self.optimizer == "sgd" else f" {self.optimizer}"
        return f"{self.name} {shape} {self.dtype} {what}{rule}"


WORKLOADS = {
    w.name: w
    for w in [
        Workload("W1", (64, 32, 10), "float64", 1, "train", 200_000),
        Workload("W2", (784, 128, 10), "float32", 1, "train", 40_000),
        Workload("W3", (784, 256, 10), "float32", 32, "train", 60_000),
        Workload("W4", (784, 512, 512, 10), "float32", 256, "train", 40_000),
        # Every implementation that predicts 100,000 samples within 10 x seconds gets all of
        # them: with so many rows, how a library handles its temporaries shows in the rate.
        Workload("W5", (784, 512, 512, 10), "float32", 1, "predict", 100_000, budget=10.0),
        # The optimizers beside the plain step, per sample and in minibatches.
        Workload("W6", (784, 128, 10), "float32", 1, "train", 40_000, optimizer="momentum"),
        Workload("W7", (784, 128, 10), "float32", 1, "train", 40_000, optimizer="adam"),
        Workload("W8", (784, 128, 10), "float32", 32, "train", 60_000, optimizer="momentum"),
        Workload("W9", (784, 128, 10), "float32", 32, "train", 60_000, optimizer="adam"),
        # W1 in single precision: against FANN's float build and the compiled loops in float32.
        Workload("W10", (64, 32, 10), "float32", 1, "train", 200_000),
    ]
}


@dataclass(frozen=True)
class Settings:
    """How long and how often to measure: the full run, or the --quick smoke run."""

    seconds: float  # aimed-for duration of one measurement
    repeats: int
    sample_fraction: float  # of each workload's max_samples
    probe_fraction: float  # of the sizing run's samples (see probe_size)
    roof_size: int  # n of the n x n matmul
    import_repeats: int
    memory_samples: int


FULL = Settings(seconds=0.5, repeats=5, sample_fraction=1.0, probe_fraction=1.0, roof_size=2048,
                import_repeats=7, memory_samples=16_384)
QUICK = Settings(seconds=0.03, repeats=2, sample_fraction=0.1, probe_fraction=0.25, roof_size=1024,
                 import_repeats=1, memory_samples=1_024)


@dataclass
class Result:
    """The measured rates of one implementation on one workload, or why there are none."""

    workload: Workload
    peer: str
    n: int = 0
    rates: list = field(default_factory=list)
    note: str = ""

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else float("nan")

    @property
    def best(self) -> float:
        """The fastest measurement: the least disturbed by the rest of the machine."""
        return max(self.rates) if self.rates else float("nan")

    @property
    def spread(self) -> float:
        """(max - min) / median of the rates."""
        return (max(self.rates) - min(self.rates)) / self.rate if self.rates else float("nan")

    @property
    def gflops(self) -> float:
        w = self.workload
        return self.rate * flops_per_sample(w.sizes, w.kind == "train") / 1e9


def flops_per_sample(sizes, training: bool) -> float:
    """Floating-point operations for one sample, counting a multiply-add as 2.

    MACs = sum over the layers l = 1..L of d^(l-1) * d^(l) (biases and activations not counted).
    Forward = 2 * MACs. Training = 3 * forward = 6 * MACs: the forward pass, the delta
    recursion (delta^(l-1) = W^(l) delta^(l), 2 * MACs; counted for layer 1 too, the usual
    convention) and the weight gradient / update (x^(l-1) delta^(l)^T, 2 * MACs).
    Prediction = forward only.
    """
    macs = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return 2 * macs * (3 if training else 1)


def timed(fn, *args) -> float:
    """Wall-clock seconds of fn(*args)."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def make_data(w: Workload, n: int, seed=SEED):
    """n random inputs of the workload's dtype and n random class labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, w.sizes[0]), dtype=np.dtype(w.dtype).type)
    return X, rng.integers(0, w.sizes[-1], size=n)


def probe_size(w: Workload, settings: Settings) -> int:
    """Samples in the first, sizing run: enough batches to see the steady rate."""
    if w.kind == "predict":
        n = 1024
    else:
        n = 256 if w.batch_size == 1 else 8 * w.batch_size
    return max(int(n * settings.probe_fraction), w.batch_size)


def plan_size(rate: float, w: Workload, settings: Settings, limit: int) -> int:
    """Samples for one measurement of about settings.seconds * w.budget at ``rate``
    samples/s: a whole number of batches, at least the probe size, at most ``limit``."""
    step = w.batch_size if w.kind == "train" else 1
    n = min(int(rate * settings.seconds * w.budget), limit)
    return max(n // step * step, min(probe_size(w, settings), limit))


def prepare(name: str, w: Workload, X, y, settings: Settings):
    """Build peer ``name`` for the workload, size its measurement with a probe run (which
    is also its warm-up), and return (n, the timed callable, its converted data)."""
    rule = {} if w.optimizer == "sgd" else {"optimizer": w.optimizer}
    peer = _peers.PEERS[name](list(w.sizes), w.dtype, w.batch_size, ETA, SEED, **rule)
    run = peer.predict if w.kind == "predict" else peer.train_epoch
    n0 = min(probe_size(w, settings), len(X))
    rate = n0 / timed(run, peer.data(X[:n0], y[:n0]))
    n = plan_size(rate, w, settings, len(X))
    return n, run, peer.data(X[:n], y[:n])


def skip_reason(name: str, w: Workload) -> str:
    """Why peer ``name`` does not run workload w ("" when it does)."""
    peer = _peers.PEERS[name]
    if not _peers.available(name, w.dtype):
        return "not installed"
    if w.kind == "predict" and not getattr(peer, "predicts", True):
        return "training only"
    if w.kind == "train" and w.batch_size > 1 and not peer.minibatch:
        return "no minibatch SGD"
    if w.optimizer not in getattr(peer, "optimizers", ("sgd",)):
        return f"no {w.optimizer} here"
    return ""


def measure(w: Workload, names, settings: Settings, progress) -> list:
    """Results of every peer in ``names`` on workload w, repeats interleaved."""
    limit = max(int(w.max_samples * settings.sample_fraction), probe_size(w, settings))
    X, y = make_data(w, limit)
    results, runs = [], []
    for name in names:
        result = Result(w, name, note=skip_reason(name, w))
        results.append(result)
        if not result.note:
            progress(f"{w.name}: preparing {name}")
            result.n, run, data = prepare(name, w, X, y, settings)
            runs.append((result, run, data))
    for _ in range(settings.repeats):
        for result, run, data in runs:
            result.rates.append(result.n / timed(run, data))
    return results


def matmul_gflops(dtype, size: int, repeats: int) -> float:
    """numpy's GFLOP/s for an n x n by n x n product (2 n^3 flops): the best of ``repeats``
    after a warm-up, since a roof is what the machine can do when nothing disturbs it."""
    rng = np.random.default_rng(SEED)
    A, B = (rng.standard_normal((size, size)).astype(dtype) for _ in range(2))
    A @ B
    return 2 * size**3 / min(timed(np.matmul, A, B) for _ in range(repeats)) / 1e9


def limit_threads(threads: int, names) -> None:
    """Hold every BLAS and OpenMP pool (numpy's, scipy's, torch's) and torch's intra-op
    pool to ``threads`` for the rest of the process. Loads fastmlp's backend and the
    libraries of the peers in ``names`` first, so that threadpoolctl finds them."""
    from threadpoolctl import threadpool_limits

    MLP([2, 2])
    for name in names:
        _peers.available(name)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    threadpool_limits(limits=threads)


def run_child(code: str) -> str:
    """stdout of ``python -c code`` in a fresh interpreter. It runs in the folder that holds
    this fastmlp package: ``-c`` puts that folder first on sys.path, so the child imports
    the fastmlp being timed here, not another copy."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"child process failed: {code}\n{done.stderr}")
    return done.stdout


IMPORTS = {
    "import numpy": "import numpy",
    "import fastmlp": "import fastmlp",
    "import fastmlp + first MLP": "import fastmlp; fastmlp.MLP([2, 2])",  # loads the backend
}


def startup_seconds(statement: str, repeats: int) -> float:
    """Median wall time of running ``statement`` first thing in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return statistics.median(float(run_child(code)) for _ in range(repeats))


def peak_rss_mib() -> float:
    """The peak resident set size of this process image, in MiB: Linux's VmHWM. Unlike
    ru_maxrss it starts afresh at exec, so a child does not inherit its parent's peak."""
    status = Path("/proc/self/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) / 1024


def training_memory(name: str, samples: int, threads: int) -> None:
    """Child side of ``peak_memory``: print as JSON the peak RSS once the libraries and W4's
    data are loaded (baseline) and after building the network and training one epoch."""
    w = WORKLOADS["W4"]
    limit_threads(threads, [name])
    X, y = make_data(w, samples)
    baseline = peak_rss_mib()
    peer = _peers.PEERS[name](list(w.sizes), w.dtype, w.batch_size, ETA, SEED)
    peer.train_epoch(peer.data(X, y))
    print(json.dumps({"baseline": baseline, "peak": peak_rss_mib()}))


def peak_memory(name: str, samples: int, threads: int) -> dict:
    """Peak RSS of training W4 with peer ``name`` in a fresh process (see training_memory)."""
    code = f"from fastmlp._bench.benchmark import training_memory; training_memory({name!r}, {samples}, {threads})"
    return json.loads(run_child(code))


def check_same_step(names) -> list:
    """From the same weights, one full-batch step (float64, 64 samples) of every peer that
    exposes its weights must equal fastmlp's to 1e-10. Returns one line per peer."""
    sizes, lines = [64, 32, 10], []
    rng = np.random.default_rng(SEED)
    X, y = rng.standard_normal((64, 64)), rng.integers(0, 10, size=64)
    ref = _peers.FastMLP(sizes, "float64", 64, 0.1, SEED)
    start = ref.weights()
    ref.net.sgd_step(X, y, 0.1)
    for name in names:
        if name == "fastmlp" or not hasattr(_peers.PEERS[name], "set_weights"):
            continue
        peer = _peers.PEERS[name](sizes, "float64", 64, 0.1, SEED)
        data = peer.data(X, y)
        peer.set_weights(start)
        peer.train_epoch(data)
        gap = max(float(np.abs(a - b).max()) for a, b in zip(peer.weights(), ref.weights()))
        if not gap < 1e-10:
            raise AssertionError(f"{name}: one step differs from fastmlp's by {gap:.3g}")
        lines.append(f"{name}: one full-batch step equals fastmlp's (max |dW| = {gap:.1e})")
    return lines


def check_learning(names) -> list:
    """On a learnable problem (labels from a random linear teacher, 1024 samples) one
    epoch must lower each peer's own loss, per sample (float64) and in minibatches of 32
    (float32). Returns one line per peer and mode."""
    rng = np.random.default_rng(SEED)
    teacher, lines = rng.standard_normal((64, 10)), []
    for dtype, batch_size, eta in [("float64", 1, 0.05), ("float32", 32, 0.5)]:
        X = rng.standard_normal((1024, 64)).astype(dtype)
        y = (X @ teacher).argmax(axis=1)
        for name in names:
            if batch_size > 1 and not _peers.PEERS[name].minibatch:
                continue
            peer = _peers.PEERS[name]([64, 32, 10], dtype, batch_size, eta, SEED)
            data = peer.data(X, y)
            before = peer.loss(data)
            peer.train_epoch(data)
            after = peer.loss(data)
            if not after < before:
                raise AssertionError(f"{name}: one epoch ({dtype}, batch {batch_size}) did not lower its loss")
            lines.append(f"{name}: one epoch {dtype} batch {batch_size} lowers its loss {before:.3f} -> {after:.3f}")
    return lines


def table(headers, rows, markdown: bool, text_columns: int = 2) -> str:
    """Rows as a Markdown table or as aligned plain text; the first ``text_columns``
    columns are left-aligned, the numbers after them right-aligned."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(r) + " |" for r in cells]
        lines.insert(1, "|" + "|".join("---" if i < text_columns else "---:" for i in range(len(headers))) + "|")
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(wd) if i < text_columns else c.rjust(wd) for i, (c, wd) in enumerate(zip(r, widths))).rstrip()
        for r in cells
    )


def result_rows(results, roof: dict) -> list:
    """Table rows: the workload label on its first row only, median and best rates, their
    spread, GFLOP/s and % of the roof of the workload's dtype (both from the median), and
    fastmlp's median rate over the peer's."""
    ours = {r.workload.name: r.rate for r in results if r.peer == "fastmlp"}
    rows, previous = [], None
    for r in results:
        label = r.workload.label if r.workload is not previous else ""
        previous = r.workload
        if not r.rates:
            rows.append([label, r.peer, "", "", "", "", "", "", r.note])
            continue
        rows.append([
            label, r.peer, f"{r.n:,}", f"{r.rate:,.0f}", f"{r.best:,.0f}", f"{100 * r.spread:.0f}%",
            f"{r.gflops:.2f}",
            f"{100 * r.gflops / roof[r.workload.dtype]:.1f}", f"{ours[r.workload.name] / r.rate:.2f}",
        ])
    return rows


# Variables that change the figures: OpenBLAS's kernel choice and cache size, OpenMP's
# threads, and whether imports can cache their bytecode.
ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "PYTHONDONTWRITEBYTECODE")


def machine_lines(threads: int) -> list:
    """What the figures depend on: CPU, versions, thread counts, BLAS libraries, env."""
    from threadpoolctl import threadpool_info

    from .. import __version__

    models = [line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")]
    cpu = models[0] if models else platform.processor()
    versions = [f"fastmlp {__version__}", f"python {platform.python_version()}", f"numpy {np.__version__}"]
    versions += [f"{m} {sys.modules[m].__version__}" for m in ("scipy", "sklearn", "torch") if m in sys.modules]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [f"machine: {cpu}, {os.cpu_count()} CPUs, load average {load}; threads: {threads}",
             "versions: " + ", ".join(versions)]
    for pool in threadpool_info():
        where = pool["filepath"].split("site-packages/")[-1].split("/")[0]
        extra = f" {pool.get('version') or ''} {pool.get('architecture') or ''}".rstrip()
        lines.append(f"pool: {pool['internal_api']}{extra} ({where}) threads={pool['num_threads']}")
    env = [f"{k}={os.environ[k]}" for k in ENVIRONMENT if k in os.environ]
    lines.append("environment: " + (", ".join(env) or f"none of {', '.join(ENVIRONMENT)} set"))
    return lines


def _cpuinfo() -> list:
    """The lines of /proc/cpuinfo (none where there is no such file)."""
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def parse_args(argv):
    """The command line, checked: workloads and peers as lists, fastmlp always among them."""
    parser = argparse.ArgumentParser(prog="fastmlp-benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repeats: a smoke run for CI")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, e.g. W1,W2")
    parser.add_argument("--peers", default=",".join(_peers.PEERS), help="comma-separated implementations")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    for option, choices in (("workloads", WORKLOADS), ("peers", _peers.PEERS)):
        chosen = [c.strip() for c in getattr(args, option).split(",") if c.strip()]
        unknown = [c for c in chosen if c not in choices]
        if unknown or not chosen:
            parser.error(f"--{option}: unknown {unknown or 'empty'}; known: {', '.join(choices)}")
        setattr(args, option, chosen)
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    if "fastmlp" not in args.peers:
        args.peers.insert(0, "fastmlp")
    return args


def render(header, roof, results, startup, memory, checks, settings: Settings, markdown: bool) -> str:
    """The report: machine and roof, the rates table, startup, memory and the checks."""
    bullet = "- " if markdown else ""
    roof_line = ", ".join(f"{d} {g:.1f} GFLOP/s" for d, g in roof.items())
    lines = [bullet + line for line in header + [f"roof (numpy matmul {settings.roof_size}^2): {roof_line}"]]
    headers = ["workload", "implementation", "n", "samples/s", "best", "spread", "GFLOP/s", "% roof", "fastmlp/peer"]
    lines += ["", table(headers, result_rows(results, roof), markdown), ""]
    times = ", ".join(f"{what} {1000 * s:.0f} ms" for what, s in startup.items())
    lines.append(f"{bullet}startup in a fresh interpreter (median of {settings.import_repeats}): {times}")
    lines.append(f"{bullet}peak memory training W4 ({settings.memory_samples:,} samples, one epoch, fresh "
                 "process; peak RSS (VmHWM) before building the network and after the epoch, MiB):")
    rows = [[p, f"{m['baseline']:.0f}", f"{m['peak']:.0f}", f"{m['peak'] - m['baseline']:.0f}"]
            for p, m in memory.items()]
    lines += ["", table(["implementation", "baseline", "peak", "added"], rows, markdown, text_columns=1), ""]
    lines += [f"{bullet}check: {line}" for line in checks]
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run the comparison and print it; returns the exit status."""
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL

    began = time.perf_counter()

    def progress(message):
        print(f"[{time.perf_counter() - began:5.1f} s] {message}", file=sys.stderr, flush=True)

    limit_threads(args.threads, args.peers)
    header = machine_lines(args.threads)
    present = [p for p in args.peers if _peers.available(p)]
    progress("checking the peers")
    try:
        checks = check_same_step(present) + check_learning(present)
    except AssertionError as failure:
        print(f"peer check failed: {failure}", file=sys.stderr)
        return 1
    progress("roof")
    roof = {d: matmul_gflops(d, settings.roof_size, 5) for d in ("float32", "float64")}
    results = []
    for name in args.workloads:
        results += measure(WORKLOADS[name], args.peers, settings, progress)
    progress("startup time and peak memory (fresh processes)")
    startup = {what: startup_seconds(code, settings.import_repeats) for what, code in IMPORTS.items()}
    memory = {p: peak_memory(p, settings.memory_samples, args.threads) for p in ("fastmlp", "torch") if p in present}
    print(render(header, roof, results, startup, memory, checks, settings, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
