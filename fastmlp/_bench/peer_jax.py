"""The per-sample SGD epoch as a compiled loop in JAX, the other peer a performance-minded
user would write instead of calling fastmlp (see fastmlp._bench.peers.JaxPeer).

The same algorithm as fastmlp's per-sample kernel and the Numba loop: tanh hidden layers, a
softmax output with the cross-entropy loss (delta^(L) = x^(L) - y), and after each sample,
layer by layer from L down, delta^(l-1) = (W^(l)[1:] delta^(l)) * (1 - x^2) from the weights
before their update, then w_ij <- w_ij - eta x_i delta_j. The epoch is one ``jax.jit`` of a
``lax.scan`` over the shuffled sample indices, so no Python runs per sample; XLA is held to
one thread. Importing this module turns on JAX's float64 (``jax_enable_x64``), which the
float64 workloads need.
"""
import os

# XLA reads its flags when its CPU client starts (at the first computation, so this module
# is imported before anything runs on JAX): one thread, like the other peers.
ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
if ONE_THREAD not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {ONE_THREAD}".strip()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

jax.config.update("jax_enable_x64", True)


def sample_step(X, y, eta):
    """The scan's body: one SGD step on sample ``row`` of X (label y[row]); the weights are
    a tuple of (b^(l), W^(l) without its bias row) per layer. (Slicing the bias row off
    one array per step made XLA copy the rest: 1.45x and 1.7x slower on 64-32-10 and
    784-128-10.)"""

    def step(P, row):
        xs = [X[row]]
        for l, (b, W) in enumerate(P):
            s = b + xs[-1] @ W
            xs.append(jnp.tanh(s) if l < len(P) - 1 else jax.nn.softmax(s))
        delta = xs[-1].at[y[row]].add(-1)
        new = list(P)
        for l in range(len(P) - 1, -1, -1):
            b, W = P[l]
            x_in = xs[l]
            back = (W @ delta) * (1 - x_in * x_in) if l > 0 else None
            new[l] = (b - eta * delta, W - jnp.outer(eta * x_in, delta))
            delta = back
        return tuple(new), None

    return step


def epoch(P, X, y, order, eta):
    """Per-sample SGD over X[order]: returns the new weights."""
    P, _ = lax.scan(sample_step(X, y, eta), P, order)
    return P


def compiled_epoch(P, X, y, order, eta):
    """``epoch`` compiled ahead of time for these shapes and types (the weights' buffers
    are donated: each epoch updates them in place)."""
    return jax.jit(epoch, donate_argnums=0).lower(P, X, y, order, eta).compile()


def split(weights):
    """The lecture's W^(l) (bias in row 0) as the loop's (b^(l), W^(l)[1:]) pairs."""
    return tuple((jnp.asarray(W[0]), jnp.asarray(W[1:])) for W in weights)


def joined(P) -> list:
    """The loop's weights back in the lecture's layout, as numpy arrays."""
    return [np.vstack([np.asarray(b), np.asarray(W)]) for b, W in P]
