"""The multilayer perceptron in plain Python: the teaching version, and the kernels' check.

Everything here is lists, loops and ``math``, one lecture formula per line, in the
lecture's names. ``W[l-1][i][j]`` is w_ij^(l): layer l = 1..L, input i = 0..d^(l-1) (i = 0
is the bias, multiplying x_0 = 1), output j, stored at index j-1 of row i. ``x[l]`` is
x^(l) (x[0] is the input); ``s[l-1]`` and ``delta[l-1]`` are s^(l) and delta^(l).

The last section adapts these functions to the kernels' calling convention (flat numpy
buffers), so that ``MLP(..., backend="reference")`` runs the whole API on this file.
"""
from __future__ import annotations

import math

import numpy as np

# ---------------------------------------------------------------------------------------
# The lecture's formulas.


def softmax(s):
    """x_j = e^{s_j} / sum_k e^{s_k}, shifted by max(s) so that no exponential overflows."""
    m = max(s)
    e = [math.exp(s_j - m) for s_j in s]
    total = sum(e)
    return [e_j / total for e_j in e]


def log_sum_exp(s):
    """log sum_k e^{s_k}, without overflow."""
    m = max(s)
    return m + math.log(sum(math.exp(s_k - m) for s_k in s))


def theta_layer(theta, s_l):
    """x^(l) = theta(s^(l)): unit by unit, or softmax over the whole layer."""
    if theta.name == "softmax":
        return softmax(s_l)
    return [theta.theta(s_j) for s_j in s_l]


class Nonzeros(dict):
    """A sparse sample: {i: x_i} for its nonzero inputs, i = 1..d (the lecture's indices;
    x_0 = 1 is the bias), every other input being 0. ``d`` is the number of inputs."""

    def __init__(self, d, nonzeros=()):
        super().__init__(nonzeros)
        self.d = d

    def dense(self):
        """x_1 .. x_d as a list, zeros included."""
        return [self.get(i, 0.0) for i in range(1, self.d + 1)]


def first_layer_sums(W1, x0):
    """s_j^(1) = w_0j + sum_i w_ij x_i, the sum running over the sample's nonzero inputs only
    (a sparse sample x0 = Nonzeros): the other rows of W^(1) are not read."""
    return [W1[0][j] + sum(W1[i][j] * x_i for i, x_i in x0.items()) for j in range(len(W1[0]))]


def seen(x, r, l):
    """What layer l+1 sees of x^(l): r^(l) * x^(l) under dropout (factors r[l-1] for hidden
    layer l, see dropout_factors), else x^(l) itself."""
    if l == 0 or r is None or r[l - 1] is None:
        return x[l]
    return [r_j * x_j for r_j, x_j in zip(r[l - 1], x[l])]


def forward(W, thetas, x0, r=None, parts=None):
    """Forward propagation: s_j^(l) = sum_{i=0}^{d^(l-1)} w_ij^(l) x_i^(l-1), x^(l) = theta(s^(l)).

    Returns the lists s (L entries) and x (L+1 entries, x[0] = x0). With dropout factors r,
    layer l+1 takes its input from seen(x, r, l). A sparse sample x0 (Nonzeros) enters
    layer 1 through first_layer_sums. parts: for each hidden layer l its parts (see
    split_of); the sums s^(l+1) are then added part by part over layer l's units, as the
    threads that split the hidden layers add them."""
    L = len(W)
    s, x = [], [x0 if isinstance(x0, Nonzeros) else list(x0)]
    for l in range(1, L + 1):
        if isinstance(x[l - 1], Nonzeros):
            s.append(first_layer_sums(W[0], x[0]))
            x.append(theta_layer(thetas[0], s[0]))
            continue
        x_prev = [1.0] + seen(x, r, l - 1)  # x_0^(l-1) = 1 multiplies the bias row
        if l > 1 and parts is not None:
            s_l = [summed_in_parts(W[l - 1], x_prev, j, parts[l - 2]) for j in range(len(W[l - 1][0]))]
        else:
            s_l = [sum(W[l - 1][i][j] * x_prev[i] for i in range(len(x_prev))) for j in range(len(W[l - 1][0]))]
        s.append(s_l)
        x.append(theta_layer(thetas[l - 1], s_l))
    return s, x


def split_of(units, T, itemsize):
    """The boundaries b_0 = 0 <= b_1 <= ... <= b_T = units of T parts of a layer's units
    I_t = {b_t + 1, ..., b_{t+1}} (unit numbers from 1), as equal as whole 64-byte lines of
    ``itemsize``-byte numbers allow: thread t of the split per-sample kernels owns part t."""
    per_line = 64 // itemsize
    lines = -(-units // per_line)
    return [min(units, (t * lines // T) * per_line) for t in range(T + 1)]


def summed_in_parts(W_l, x_prev, j, parts):
    """s_j = P_0j + P_1j + ... + P_(T-1)j, added in this order, where
    P_tj = sum_{i in I_t} w_ij x_i (P_0j starting from the bias w_0j): the order in which T
    threads that each own the units I_t of the layer below (see split_of) add its sums."""
    P = [sum((W_l[i][j] * x_prev[i] for i in range(b + 1, e + 1)), W_l[0][j] if t == 0 else 0.0)
         for t, (b, e) in enumerate(zip(parts, parts[1:]))]
    total = P[0]
    for P_t in P[1:]:
        total += P_t
    return total


def loss_and_output_delta(loss, theta, s_L, x_L, y):
    """l(h(x), y) and delta^(L) = dl/ds^(L).

    l2: l = 1/2 sum_j (x_j - y_j)^2 and delta_j = (x_j - y_j) theta'(s_j);
    cross_entropy (softmax) and binary_cross_entropy (sigmoid): delta_j = x_j - y_j;
    poisson (x_j = e^{s_j}): l = sum_j y_j log(y_j / x_j) - y_j + x_j, the half Poisson
    deviance, written with s_j = log x_j; delta_j = x_j - y_j."""
    if loss.name == "cross_entropy":
        lse = log_sum_exp(s_L)
        ell = sum(y_j * (lse - s_j) for s_j, y_j in zip(s_L, y))
        return ell, [x_j - y_j for x_j, y_j in zip(x_L, y)]
    if loss.name == "poisson":
        ell = sum((y_j * math.log(y_j) if y_j > 0 else 0.0) - y_j * s_j - y_j + x_j for s_j, x_j, y_j in zip(s_L, x_L, y))
        return ell, [x_j - y_j for x_j, y_j in zip(x_L, y)]
    if loss.name == "binary_cross_entropy":
        ell = sum(max(s_j, 0.0) - y_j * s_j + math.log1p(math.exp(-abs(s_j))) for s_j, y_j in zip(s_L, y))
        return ell, [x_j - y_j for x_j, y_j in zip(x_L, y)]
    ell = sum(0.5 * (x_j - y_j) * (x_j - y_j) for x_j, y_j in zip(x_L, y))
    return ell, [(x_j - y_j) * theta.theta_prime(s_j, x_j) for s_j, x_j, y_j in zip(s_L, x_L, y)]


def backward(W, thetas, s, x, delta_L, r=None):
    """The delta recursion: delta_i^(l-1) = theta'(s_i^(l-1)) sum_j w_ij^(l) delta_j^(l),
    times the dropout factor r_i^(l-1) where layer l-1 has dropout."""
    L = len(W)
    delta = [None] * L
    delta[L - 1] = delta_L
    for l in range(L, 1, -1):
        d_prev = len(s[l - 2])
        delta[l - 2] = [
            thetas[l - 2].theta_prime(s[l - 2][i - 1], x[l - 1][i - 1])
            * sum(W[l - 1][i][j] * delta[l - 1][j] for j in range(len(delta[l - 1])))
            for i in range(1, d_prev + 1)
        ]
        if r is not None and r[l - 2] is not None:
            delta[l - 2] = [d_i * r_i for d_i, r_i in zip(delta[l - 2], r[l - 2])]
    return delta


def gradient(x, delta, r=None):
    """dl/dw_ij^(l) = x_i^(l-1) delta_j^(l), with x_0 = 1 (and x^(l-1) as layer l saw it);
    0 in the rows of a sparse sample's zero inputs."""
    return [
        [[x_i * delta_j for delta_j in delta[l - 1]] for x_i in [1.0] + _listed(seen(x, r, l - 1))]
        for l in range(1, len(delta) + 1)
    ]


def _listed(x_l):
    return x_l.dense() if isinstance(x_l, Nonzeros) else x_l


def soft_threshold(w, t):
    """``sign(w) max(|w| - t, 0)``: the L1 step, leaving at 0 a weight it would carry past 0."""
    return w - t if w > t else (w + t if w < -t else 0.0)


def update(W, grad, eta, l2=0.0, l1=0.0):
    """w_ij^(l) <- w_ij^(l) - eta * dl/dw_ij^(l), in place. For the weights (i >= 1, not the
    bias row) with penalties: the L2 term adds l2 * w_ij to the gradient (weight decay), and
    the L1 term then moves w_ij towards 0 by eta * l1, stopping at 0."""
    for W_l, g_l in zip(W, grad):
        for i, (w_i, g_i) in enumerate(zip(W_l, g_l)):
            for j in range(len(w_i)):
                if i == 0:
                    w_i[j] = w_i[j] - eta * g_i[j]
                else:
                    w_i[j] = soft_threshold(w_i[j] - eta * (g_i[j] + l2 * w_i[j]), eta * l1)


def backpropagation(W, thetas, loss, x0, y, weight=1.0, r=None, parts=None):
    """One sample: forward, output delta, backward, gradient. Returns (s, x, delta, grad, loss).

    A sample of weight c counts c times: c l in the loss, so c delta^(L). r: the sample's
    dropout factors (see dropout_factors), or None; parts: see forward."""
    s, x = forward(W, thetas, x0, r, parts)
    ell, delta_L = loss_and_output_delta(loss, thetas[-1], s[-1], x[-1], y)
    if weight != 1:
        ell, delta_L = weight * ell, [delta_j * weight for delta_j in delta_L]
    delta = backward(W, thetas, s, x, delta_L, r)
    return s, x, delta, gradient(x, delta, r), ell


# ---------------------------------------------------------------------------------------
# Dropout. Each random decision is a hash of the epoch's key, when (the sample's position
# in the epoch, or the step's) and which unit or weight, so that it does not depend on the
# order in which anything is computed; the compiled kernels (fastmlp._kernels) draw the same.

MASK32, MASK64 = (1 << 32) - 1, (1 << 64) - 1
UNITS, WEIGHTS = 0, 1


def mix64(z):
    """SplitMix64's output function on 64-bit words."""
    z = (z + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def mix32(h):
    """MurmurHash3's 32-bit finaliser."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK32
    return h ^ (h >> 16)


def draw_key(key, when, stream):
    return mix64(key ^ mix64(2 * when + stream)) & MASK32


def drawn_below(key, index, rate):
    """Whether the draw of unit or weight ``index`` falls below rate, with probability rate."""
    return mix32(key ^ (index & MASK32)) < int(rate * 4294967296.0)


def dropout_factors(sizes, rates, key, k):
    """Inverted dropout for the sample at position k of the epoch: for hidden layer l with
    rate p > 0, r_j^(l) = 0 where unit j is dropped and 1 / (1 - p) where it is kept (so
    the expected input of the next layer is unchanged); None for a layer without dropout.
    A unit's index runs over all units of layers 1..L."""
    r, first, unit_key = [], 0, draw_key(key, k, UNITS)
    for l in range(1, len(sizes) - 1):
        p = rates[l - 1]
        if p > 0:
            r.append([0.0 if drawn_below(unit_key, first + j, p) else 1.0 / (1.0 - p) for j in range(sizes[l])])
        else:
            r.append(None)
        first += sizes[l]
    return r


def keep_frozen(w, before, key, when, rate):
    """The lecture's dropout of updates, on the flat weights: each w_i whose draw for the
    step at position ``when`` falls below rate keeps its value from before the step."""
    weight_key = draw_key(key, when, WEIGHTS)
    for i in range(len(w)):
        if drawn_below(weight_key, i, rate):
            w[i] = before[i]


def mean(grads):
    """The mean of per-sample gradients, entry by entry."""
    n = len(grads)
    return [
        [[sum(g[l][i][j] for g in grads) / n for j in range(len(grads[0][l][i]))] for i in range(len(grads[0][l]))]
        for l in range(len(grads[0]))
    ]


def perceptron_update(w, x, y, eta):
    """Rosenblatt's rule for one sample: if y w^T [1; x] <= 0, w <- w + eta y [1; x], in place.
    Returns whether the sample was a mistake."""
    x = [1.0] + x
    if y * sum(w_i * x_i for w_i, x_i in zip(w, x)) > 0:
        return False
    for i in range(len(w)):
        w[i] = w[i] + eta * y * x[i]
    return True


def optimizer_update(w, g, m, v, t, is_weight, kind, eta, l2, l1, mu, beta1, beta2, epsilon):
    """One step of momentum, Nesterov momentum or Adam on flat lists, in place, from the
    gradient g (plus l2 w on the weights), then L1's soft threshold on the weights; t is
    the number of the step (from 1)."""
    step_size = eta * math.sqrt(1 - beta2**t) / (1 - beta1**t) if kind == "adam" else eta
    for i in range(len(w)):
        g_i = g[i] + l2 * w[i] if is_weight[i] else g[i]
        if kind == "adam":
            m[i] = beta1 * m[i] + (1 - beta1) * g_i
            v[i] = beta2 * v[i] + (1 - beta2) * g_i * g_i
            w[i] = w[i] - step_size * m[i] / (math.sqrt(v[i]) + epsilon)
        else:
            m[i] = mu * m[i] - eta * g_i
            w[i] = w[i] + (mu * m[i] - eta * g_i if kind == "nesterov" else m[i])
        if is_weight[i]:
            w[i] = soft_threshold(w[i], eta * l1)


# ---------------------------------------------------------------------------------------
# The kernels' calling convention: flat params in the layout of the compiled kernels.


class Architecture:
    """The network's shape: d^(0..L), theta per layer, and the loss."""

    def __init__(self, sizes, activations, loss):
        self.sizes = list(sizes)
        self.thetas = list(activations)
        self.loss = loss
        self.n_params = sum((a + 1) * b for a, b in zip(self.sizes, self.sizes[1:]))


def _unflatten(arch, params):
    W, start = [], 0
    for d_in, d_out in zip(arch.sizes, arch.sizes[1:]):
        flat = params[start : start + (d_in + 1) * d_out]
        W.append([flat[i * d_out : (i + 1) * d_out] for i in range(d_in + 1)])
        start += (d_in + 1) * d_out
    return W


def _flatten(W):
    return [w for W_l in W for row in W_l for w in row]


def _layers(lists):
    return np.array([v for layer in lists for v in layer])


def samples(X):
    """The rows of X as lists, or, for sparse rows (CSR arrays
    data, indices, indptr), as Nonzeros (repeated entries of a row add up)."""
    if isinstance(X, np.ndarray):
        return X.tolist()
    data, indices, indptr = X.data.tolist(), X.indices.tolist(), X.indptr.tolist()
    rows = []
    for k in range(len(indptr) - 1):
        x0 = Nonzeros(X.shape[1])
        for p in range(indptr[k], indptr[k + 1]):
            x0[indices[p] + 1] = x0.get(indices[p] + 1, 0.0) + data[p]
        rows.append(x0)
    return rows


def forward_rows(arch, params, X):
    """h(x) for every row of X (an array, or sparse rows), as a new array."""
    W = _unflatten(arch, params.tolist())
    return np.array([forward(W, arch.thetas, x0)[1][-1] for x0 in samples(X)], dtype=params.dtype).reshape(
        len(X), arch.sizes[-1]
    )


def backprop(arch, params, x0, y, s, x, delta, grad):
    """One sample: fills s, x (layers 1..L), delta and grad; returns the loss."""
    W = _unflatten(arch, params.tolist())
    s_, x_, delta_, grad_, ell = backpropagation(W, arch.thetas, arch.loss, x0.tolist(), y.tolist())
    s[:], x[:], delta[:] = _layers(s_), _layers(x_[1:]), _layers(delta_)
    grad[:] = _flatten(grad_)
    return ell


def mean_gradient(arch, params, X, Y, grad, weight=None):
    """grad = mean over rows of dl/dW (each times its sample weight, if given); returns the
    mean (weighted) loss."""
    W = _unflatten(arch, params.tolist())
    weights = [1.0] * len(X) if weight is None else weight.tolist()
    results = [
        backpropagation(W, arch.thetas, arch.loss, x0, y, c) for x0, y, c in zip(samples(X), Y.tolist(), weights)
    ]
    grad[:] = _flatten(mean([r[3] for r in results]))
    return sum(r[4] for r in results) / len(results)


def _batches(arch, W, X, Y, order, batch_size, weight, dropout, key, position, parts=None):
    """For each step of an epoch over X[order]: (position of its first sample, the
    backpropagation results of its samples, with their weights and dropout factors, and the
    sums added in ``parts``), from the weights in the list W when the step is reached."""
    rows, targets, order = samples(X), Y.tolist(), order.tolist()
    weights = None if weight is None else weight.tolist()
    for start in range(0, len(order), batch_size):
        results = []
        for k, row in enumerate(order[start : start + batch_size], start=position + start):
            c = 1.0 if weights is None else weights[row]
            r = None if dropout is None else dropout_factors(arch.sizes, dropout.tolist(), key, k)
            results.append(backpropagation(W, arch.thetas, arch.loss, rows[row], targets[row], c, r, parts))
        yield position + start, results


def minibatch_epoch(arch, params, X, Y, order, batch_size, eta, l2=0.0, l1=0.0, *, weight=None, dropout=None,
                    update_dropout=0.0, key=0, position=0, parts=None, norms=None):
    """SGD over X[order], batch_size samples per update with the mean gradient (batch_size 1:
    the lecture's per-sample algorithm), penalties l2 and l1 as in update. weight: sample
    weights by row; dropout: a rate per layer 1..L (see dropout_factors); update_dropout:
    see keep_frozen; key: the epoch's key for the draws; position: where order[0] stands
    in the epoch; parts: see forward; norms: see add_norms, before each step. Returns
    (summed loss, samples completed) and writes the new weights into params."""
    W = _unflatten(arch, params.tolist())
    total, done = 0.0, 0
    for when, results in _batches(arch, W, X, Y, order, batch_size, weight, dropout, key, position, parts):
        add_norms(W, norms)
        ell = sum(r[4] for r in results)
        if not math.isfinite(ell):
            break
        before = _flatten(W) if update_dropout > 0 else None
        update(W, mean([r[3] for r in results]), eta, l2, l1)
        if update_dropout > 0:
            w = _flatten(W)
            keep_frozen(w, before, key, when, update_dropout)
            W[:] = _unflatten(arch, w)
        total, done = total + ell, done + len(results)
    with np.errstate(over="ignore"):  # a float32 overflow is found and reported by the caller
        params[:] = _flatten(W)
    return total, done


def add_norms(W, norms):
    """norms[0] += sum w_ij^2 and norms[1] += sum |w_ij| over the weights of W (i >= 1, not
    the biases): what the penalties of these weights are made of. Nothing if norms is None."""
    if norms is not None:
        weights = [w for W_l in W for row in W_l[1:] for w in row]
        norms[0] += math.fsum(w * w for w in weights)
        norms[1] += math.fsum(abs(w) for w in weights)


def sgd_epoch(arch, params, X, Y, order, eta, l2=0.0, l1=0.0, **options):
    """Per-sample SGD over X[order]; see minibatch_epoch."""
    return minibatch_epoch(arch, params, X, Y, order, 1, eta, l2, l1, **options)


def perceptron_epoch(w, X, y, order, eta):
    """One pass of the perceptron algorithm over X[order], in place; returns the mistakes."""
    weights, rows, labels = w.tolist(), X.tolist(), y.tolist()
    mistakes = sum(perceptron_update(weights, rows[k], labels[k], eta) for k in order.tolist())
    w[:] = weights
    return mistakes


def optimizer_epoch(arch, params, X, Y, order, batch_size, kind, eta, l2, l1, mu, beta1, beta2, epsilon, m, v, t, *,
                    weight=None, dropout=None, update_dropout=0.0, key=0, position=0, parts=None, norms=None):
    """SGD over X[order] in batches of batch_size, each step by optimizer_update with the mean
    gradient; m, v (numpy) are updated in place; the keywords as in minibatch_epoch (update
    dropout keeps weights, not their moments, as they were). Returns (summed loss, samples
    completed, t)."""
    w, ms, vs = params.tolist(), m.tolist(), v.tolist()
    is_weight = _is_weight(arch)
    total, done, W = 0.0, 0, _unflatten(arch, w)
    for when, results in _batches(arch, W, X, Y, order, batch_size, weight, dropout, key, position, parts):
        add_norms(W, norms)
        ell = sum(r[4] for r in results)
        if not math.isfinite(ell):
            break
        t += 1
        before = list(w)
        optimizer_update(w, _flatten(mean([r[3] for r in results])), ms, vs, t, is_weight, kind, eta, l2, l1, mu, beta1,
                         beta2, epsilon)
        if update_dropout > 0:
            keep_frozen(w, before, key, when, update_dropout)
        W[:] = _unflatten(arch, w)
        total, done = total + ell, done + len(results)
    with np.errstate(over="ignore"):  # a float32 overflow is found and reported by the caller
        params[:], m[:], v[:] = w, ms, vs
    return total, done, t


class Team:
    """Stands in for the kernels' team of threads: the reference runs the split per-sample
    epochs on one thread, adding the sums of layers 2..L in the team's parts (see split_of)."""

    def __init__(self, n_threads):
        self.size = n_threads

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def split_supported(arch):
    """Why the split per-sample epochs cannot train this network, or None (as the kernels'):
    they take hidden layers unit by unit (not softmax)."""
    if len(arch.sizes) < 3:
        return "the network has no hidden layer"
    if any(theta.name == "softmax" for theta in arch.thetas[:-1]):
        return "a softmax hidden layer couples its units"
    return None


def _parts(team, arch, params):
    why = split_supported(arch)
    if why is not None:
        raise ValueError(f"the split per-sample kernel cannot train this network: {why}")
    return [split_of(units, team.size, params.dtype.itemsize) for units in arch.sizes[1:-1]]


def split_sgd_epoch(team, arch, params, X, Y, order, eta, l2=0.0, l1=0.0, **options):
    """sgd_epoch with the sums of layers 2..L added in the parts of team.size threads."""
    parts = _parts(team, arch, params)
    return sgd_epoch(arch, params, X, Y, order, eta, l2, l1, **options, parts=parts)


def split_optimizer_epoch(team, arch, params, X, Y, order, *args, **options):
    """optimizer_epoch with batch size 1 and the sums of layers 2..L added in the parts of
    team.size threads."""
    parts = _parts(team, arch, params)
    return optimizer_epoch(arch, params, X, Y, order, 1, *args, **options, parts=parts)


def _is_weight(arch):
    """For each entry of the flat params: True for a weight, False for a bias."""
    return [i > 0 for d_in, d_out in zip(arch.sizes, arch.sizes[1:]) for i in range(d_in + 1) for _ in range(d_out)]


def step_gradient(arch, params, X, Y, order, grad, *, weight=None, dropout=None, update_dropout=0.0, key=0,
                  position=0, room=None):
    """Adds to grad the summed gradient of the samples X[order] (each times its weight, with
    the dropout factors of positions position..), as minibatch_epoch's step takes it; returns
    (their summed loss, None: the kernels' room, which this needs not). With gradient_step:
    a step made from its gradient in parts."""
    W = _unflatten(arch, params.tolist())
    ((_, results),) = _batches(arch, W, X, Y, order, len(order), weight, dropout, key, position)
    grad += np.sum([_flatten(r[3]) for r in results], axis=0)
    return sum(r[4] for r in results), None


def gradient_step(arch, params, grad, rows, kind, eta, l2, l1, mu=0.0, beta1=0.0, beta2=0.0, epsilon=0.0, m=None,
                  v=None, t=0, *, weight=None, dropout=None, update_dropout=0.0, key=0, position=0):
    """The step of minibatch_epoch ("sgd") or optimizer_epoch (kind, with m, v, t) from grad,
    the summed gradient of ``rows`` samples, in place; update dropout for the step at
    ``position``. Returns t, counting this step."""
    w, g = params.tolist(), (grad / rows).tolist()
    before = list(w)
    if kind == "sgd":
        W = _unflatten(arch, w)
        update(W, _unflatten(arch, g), eta, l2, l1)
        w = _flatten(W)
    else:
        ms, vs, t = m.tolist(), v.tolist(), t + 1
        optimizer_update(w, g, ms, vs, t, _is_weight(arch), kind, eta, l2, l1, mu, beta1, beta2, epsilon)
        m[:], v[:] = ms, vs
    if update_dropout > 0:
        keep_frozen(w, before, key, position, update_dropout)
    with np.errstate(over="ignore"):  # a float32 overflow is found and reported by the caller
        params[:] = w
    return t
