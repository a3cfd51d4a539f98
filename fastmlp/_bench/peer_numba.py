"""The per-sample SGD epoch as a compiled loop in Numba, the peer a performance-minded
user would write instead of calling fastmlp (see fastmlp._bench.peers.NumbaPeer).

The same algorithm as fastmlp's per-sample kernel: tanh hidden layers, a softmax output
with the cross-entropy loss (delta^(L) = x^(L) - y), and after each sample, layer by layer
from L down, the delta recursion and the update w_ij <- w_ij - eta x_i delta_j in one pass
over each row of W^(l). One thread, no Python per sample; ``fastmath`` lets LLVM reorder
the sums so that the loops vectorise.
"""
import numpy as np
from numba import njit


@njit(fastmath=True, nogil=True)
def sgd_epoch(Ws, X, y, order, eta, xs, deltas):
    """Per-sample SGD over X[order] (labels y), in place on the weights Ws (W^(l) with the
    bias in row 0); eta has the weights' type; xs and deltas are room for x^(1..L) and
    delta^(1..L)."""
    L = len(Ws)
    zero = eta - eta  # of the weights' type, so that float32 sums stay float32
    for k in range(order.shape[0]):
        row = order[k]
        for l in range(L):
            W, x_in, s = Ws[l], X[row] if l == 0 else xs[l - 1], xs[l]
            for j in range(s.shape[0]):
                s[j] = W[0, j]
            for i in range(x_in.shape[0]):
                xi, w = x_in[i], W[i + 1]
                for j in range(s.shape[0]):
                    s[j] += xi * w[j]
            if l < L - 1:
                for j in range(s.shape[0]):
                    s[j] = np.tanh(s[j])
            else:
                top = s.max()
                total = zero
                for j in range(s.shape[0]):
                    s[j] = np.exp(s[j] - top)
                    total += s[j]
                for j in range(s.shape[0]):
                    s[j] /= total
        out = deltas[L - 1]
        out[:] = xs[L - 1]
        out[y[row]] -= 1
        for l in range(L - 1, -1, -1):
            W, delta, x_in = Ws[l], deltas[l], X[row] if l == 0 else xs[l - 1]
            for j in range(delta.shape[0]):
                W[0, j] -= eta * delta[j]
            for i in range(x_in.shape[0]):
                w = W[i + 1]
                if l > 0:
                    back = zero
                    for j in range(delta.shape[0]):
                        back += w[j] * delta[j]
                    deltas[l - 1][i] = back * (1 - x_in[i] * x_in[i])
                a = eta * x_in[i]
                for j in range(delta.shape[0]):
                    w[j] -= a * delta[j]
