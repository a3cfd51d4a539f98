"""The multilayer perceptron in plain Python: the teaching version, and the kernels' check.

Everything here is lists, loops and ``math``, one lecture formula per line, in the
lecture's names. ``W[l-1][i][j]`` is w_ij^(l): layer l = 1..L, input i = 0..d^(l-1) (i = 0
is the bias, multiplying x_0 = 1), output j, stored at index j-1 of row i. ``x[l]`` is
x^(l) (x[0] is the input); ``s[l-1]`` and ``delta[l-1]`` are s^(l) and delta^(l).

The last section adapts these functions to the kernels' calling convention (flat numpy
buffers), so that ``MLP(..., backend="reference")`` runs the whole API on this file. Like
the kernels, the functions do not check their arguments: ``fastmlp.MLP`` checks them
before they reach these functions (the split kernels' refusal of a network they cannot
split is the one error raised here).
"""
from __future__ import annotations

import math

import numpy as np

# ---------------------------------------------------------------------------------------
# The lecture's formulas.


def softmax(s):
    """x_j = e^{s_j} / sum_k e^{s_k}: the softmax output layer's theta, shifted by max(s) so
    that no exponential overflows.

    Parameters
    ----------
    s : list of float
        The sums s^(L) of a layer (at least one).

    Returns
    -------
    list of float
        x^(L), positive and summing to 1.

    Examples
    --------
    >>> from fastmlp.reference import softmax
    >>> softmax([0.0, 0.0]), softmax([1000.0, 1000.0])
    ([0.5, 0.5], [0.5, 0.5])
    """
    m = max(s)
    e = [math.exp(s_j - m) for s_j in s]
    total = sum(e)
    return [e_j / total for e_j in e]


def log_sum_exp(s):
    """log sum_k e^{s_k}, without overflow: the cross-entropy loss is log_sum_exp(s) - s_y.

    Parameters
    ----------
    s : list of float
        The sums s^(L) (at least one).

    Returns
    -------
    float

    Examples
    --------
    >>> from fastmlp.reference import log_sum_exp
    >>> round(log_sum_exp([1000.0, 1000.0]), 6)  # 1000 + log 2
    1000.693147
    """
    m = max(s)
    return m + math.log(sum(math.exp(s_k - m) for s_k in s))


def theta_layer(theta, s_l):
    """x^(l) = theta(s^(l)): unit by unit, or softmax over the whole layer.

    Parameters
    ----------
    theta : fastmlp.Activation
        The layer's activation.
    s_l : list of float
        The layer's sums s^(l).

    Returns
    -------
    list of float
        The layer's outputs x^(l).

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp.reference import theta_layer
    >>> theta_layer(fm.activation("relu"), [-1.0, 3.0])
    [0.0, 3.0]
    """
    if theta.name == "softmax":
        return softmax(s_l)
    return [theta.theta(s_j) for s_j in s_l]


class Nonzeros(dict):
    """A sparse sample: {i: x_i} for its nonzero inputs, i = 1..d (the lecture's indices;
    x_0 = 1 is the bias), every other input being 0.

    Parameters
    ----------
    d : int
        The number of inputs, d^(0); kept as ``d``.
    nonzeros : dict or iterable of (int, float) pairs, optional
        The nonzero inputs {i: x_i}.

    Examples
    --------
    >>> from fastmlp.reference import Nonzeros
    >>> x0 = Nonzeros(3, {1: 4.0, 3: 4.0})
    >>> x0.d, x0[3], x0.get(2, 0.0)
    (3, 4.0, 0.0)
    """

    def __init__(self, d, nonzeros=()):
        super().__init__(nonzeros)
        self.d = d

    def dense(self):
        """x_1 .. x_d as a list, zeros included.

        Returns
        -------
        list of float
            d entries.

        Examples
        --------
        >>> from fastmlp.reference import Nonzeros
        >>> Nonzeros(3, {1: 4.0, 3: 4.0}).dense()
        [4.0, 0.0, 4.0]
        """
        return [self.get(i, 0.0) for i in range(1, self.d + 1)]


def first_layer_sums(W1, x0):
    """s_j^(1) = w_0j^(1) + sum_i w_ij^(1) x_i, the sum running over a sparse sample's
    nonzero inputs only: the other rows of W^(1) are not read.

    Parameters
    ----------
    W1 : list of lists
        W^(1): row i = 0..d^(0) (row 0 the bias), ``W1[i][j-1]`` = w_ij^(1).
    x0 : Nonzeros
        The sample.

    Returns
    -------
    list of float
        s^(1), d^(1) entries.

    Examples
    --------
    The worked example's first layer and sample x = (4, -8, 4):

    >>> from fastmlp.reference import Nonzeros, first_layer_sums
    >>> W1 = [[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]]
    >>> first_layer_sums(W1, Nonzeros(3, {1: 4.0, 2: -8.0, 3: 4.0}))
    [-1.0, 3.0]
    """
    return [W1[0][j] + sum(W1[i][j] * x_i for i, x_i in x0.items()) for j in range(len(W1[0]))]


def seen(x, r, l):
    """What layer l+1 sees of x^(l): r^(l) * x^(l) under dropout, else x^(l) itself.

    Parameters
    ----------
    x : list of lists
        x^(0), ..., x^(L) as ``forward`` returns them.
    r : list or None
        The dropout factors of hidden layers 1..L-1 (see ``dropout_factors``), None for a
        layer without dropout; None for no dropout at all.
    l : int
        The layer, 0..L-1; the input (l = 0) has no dropout.

    Returns
    -------
    list of float

    Examples
    --------
    >>> from fastmlp.reference import seen
    >>> x = [[4.0, -8.0, 4.0], [0.0, 3.0], [0.875]]
    >>> seen(x, None, 1), seen(x, [[0.0, 2.0]], 1)
    ([0.0, 3.0], [0.0, 6.0])
    """
    if l == 0 or r is None or r[l - 1] is None:
        return x[l]
    return [r_j * x_j for r_j, x_j in zip(r[l - 1], x[l])]


def forward(W, thetas, x0, r=None, parts=None):
    """Forward propagation: s_j^(l) = sum_{i=0}^{d^(l-1)} w_ij^(l) x_i^(l-1) with x_0 = 1,
    and x^(l) = theta(s^(l)).

    With dropout factors r, layer l+1 takes its input from ``seen(x, r, l)``. A sparse
    sample x0 (Nonzeros) enters layer 1 through ``first_layer_sums``.

    Parameters
    ----------
    W : list
        W^(1) .. W^(L); ``W[l-1][i][j-1]`` is w_ij^(l), row i = 0 the bias.
    thetas : list of fastmlp.Activation
        theta of layers 1..L.
    x0 : list of float or Nonzeros
        The sample x^(0), d^(0) inputs.
    r : list, optional
        Dropout factors (see ``dropout_factors``); None: no dropout.
    parts : list, optional
        For each hidden layer its parts (see ``split_of``): the sums s^(l+1) are then added
        part by part over layer l's units, in the order of the threads that split the hidden
        layers (see ``summed_in_parts``).

    Returns
    -------
    s : list of lists
        s^(1) .. s^(L) (L entries).
    x : list of lists
        x^(0) .. x^(L) (L + 1 entries, x[0] = x0).

    Examples
    --------
    The worked example: a 3-2-1 ReLU network and x = (4, -8, 4):

    >>> import fastmlp as fm
    >>> from fastmlp.reference import forward
    >>> W = [[[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]], [[0.5], [0.5], [0.125]]]
    >>> relu = fm.activation("relu")
    >>> s, x = forward(W, [relu, relu], [4.0, -8.0, 4.0])
    >>> s, x[1:]
    ([[-1.0, 3.0], [0.875]], [[0.0, 3.0], [0.875]])
    """
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
    """The boundaries b_0 = 0 <= b_1 <= ... <= b_T = units of T parts of a layer's units,
    I_t = {b_t + 1, ..., b_{t+1}} (units numbered from 1), as equal as whole 64-byte lines of
    ``itemsize``-byte numbers allow: thread t of the split per-sample kernels owns part t.

    Parameters
    ----------
    units : int
        d^(l), the layer's units.
    T : int
        The number of parts (threads).
    itemsize : int
        Bytes per number: 8 for float64, 4 for float32.

    Returns
    -------
    list of int
        T + 1 boundaries.

    Examples
    --------
    100 float64 units (13 lines of 8) in two parts, and 20 float32 units (2 lines of 16)
    in three, one of them empty:

    >>> from fastmlp.reference import split_of
    >>> split_of(100, 2, 8), split_of(20, 3, 4)
    ([0, 48, 100], [0, 0, 16, 20])
    """
    per_line = 64 // itemsize
    lines = -(-units // per_line)
    return [min(units, (t * lines // T) * per_line) for t in range(T + 1)]


def summed_in_parts(W_l, x_prev, j, parts):
    """s_j = P_0j + P_1j + ... + P_(T-1)j, added in this order, where
    P_tj = sum_{i in I_t} w_ij x_i (P_0j starting from the bias w_0j): the order in which T
    threads that each own the units I_t of the layer below (see ``split_of``) add the sum.

    Parameters
    ----------
    W_l : list of lists
        W^(l), row 0 the bias.
    x_prev : list of float
        [1] + x^(l-1): x_0 = 1 first.
    j : int
        The output unit, 0-based (the lecture's j - 1).
    parts : list of int
        The boundaries of the parts of layer l-1's units.

    Returns
    -------
    float
        s_j^(l).

    Examples
    --------
    The worked example's output unit, its two inputs in two parts:

    >>> from fastmlp.reference import summed_in_parts
    >>> summed_in_parts([[0.5], [0.5], [0.125]], [1.0, 0.0, 3.0], 0, [0, 1, 2])
    0.875
    """
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
    deviance, written with s_j = log x_j; delta_j = x_j - y_j.

    Parameters
    ----------
    loss : fastmlp.losses.Loss
        The loss, by its ``name``.
    theta : fastmlp.Activation
        The output layer's theta (l2 uses theta').
    s_L, x_L : list of float
        s^(L) and x^(L) = h(x).
    y : list of float of length d^(L)
        The target row.

    Returns
    -------
    loss : float
    delta_L : list of float

    Examples
    --------
    The worked example's output: h = 0.875 against y = 2, a ReLU unit:

    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import loss_and_output_delta
    >>> loss_and_output_delta(losses.get("l2"), fm.activation("relu"), [0.875], [0.875], [2.0])
    (0.6328125, [-1.125])
    """
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
    times the dropout factor r_i^(l-1) where layer l-1 has dropout.

    Parameters
    ----------
    W, thetas : list
        As for ``forward``.
    s, x : list of lists
        What ``forward`` returned.
    delta_L : list of float
        delta^(L), from ``loss_and_output_delta``.
    r : list, optional
        The dropout factors ``forward`` used.

    Returns
    -------
    list of lists
        delta^(1) .. delta^(L).

    Examples
    --------
    The worked example: unit b passes delta_c = -1.125 back through w_bc = 0.125:

    >>> import fastmlp as fm
    >>> from fastmlp.reference import backward
    >>> W = [[[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]], [[0.5], [0.5], [0.125]]]
    >>> relu = fm.activation("relu")
    >>> s, x = [[-1.0, 3.0], [0.875]], [[4.0, -8.0, 4.0], [0.0, 3.0], [0.875]]
    >>> delta = backward(W, [relu, relu], s, x, [-1.125])
    >>> delta[0][1], delta[1]
    (-0.140625, [-1.125])
    """
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
    """dl/dw_ij^(l) = x_i^(l-1) delta_j^(l), with x_0 = 1 (and x^(l-1) as layer l saw it
    under dropout); 0 in the rows of a sparse sample's zero inputs.

    Parameters
    ----------
    x : list of lists
        x^(0) .. x^(L), from ``forward``.
    delta : list of lists
        delta^(1) .. delta^(L), from ``backward``.
    r : list, optional
        The dropout factors ``forward`` used.

    Returns
    -------
    list
        One list of rows per layer, shaped as W.

    Examples
    --------
    The worked example's gradient of W^(2): x^(1) = (0, 3) and delta^(2) = -1.125:

    >>> from fastmlp.reference import gradient
    >>> x = [[4.0, -8.0, 4.0], [0.0, 3.0], [0.875]]
    >>> gradient(x, [[0.0, -0.140625], [-1.125]])[1]
    [[-1.125], [-0.0], [-3.375]]
    """
    return [
        [[x_i * delta_j for delta_j in delta[l - 1]] for x_i in [1.0] + _listed(seen(x, r, l - 1))]
        for l in range(1, len(delta) + 1)
    ]


def _listed(x_l):
    return x_l.dense() if isinstance(x_l, Nonzeros) else x_l


def soft_threshold(w, t):
    """``sign(w) max(|w| - t, 0)``: the L1 step, leaving at 0 a weight it would carry past 0.

    Parameters
    ----------
    w : float
    t : float
        The step, eta * l1 >= 0.

    Returns
    -------
    float

    Examples
    --------
    >>> from fastmlp.reference import soft_threshold
    >>> soft_threshold(0.75, 0.25), soft_threshold(-0.75, 0.25), soft_threshold(0.125, 0.25)
    (0.5, -0.5, 0.0)
    """
    return w - t if w > t else (w + t if w < -t else 0.0)


def update(W, grad, eta, l2=0.0, l1=0.0):
    """w_ij^(l) <- w_ij^(l) - eta dl/dw_ij^(l), in place.

    For the weights (i >= 1, not the bias row) with penalties: the L2 term adds l2 w_ij to
    the gradient (weight decay), and the L1 term then moves w_ij towards 0 by eta l1,
    stopping at 0.

    Parameters
    ----------
    W : list
        W^(1) .. W^(L), changed in place.
    grad : list
        dl/dW, shaped as W.
    eta : float
        The learning rate.
    l2, l1 : float, default 0.0
        The penalties' strengths.

    Returns
    -------
    None

    Examples
    --------
    The worked example's step: w_3b moves by -eta x_3 delta_b = 0.1 * 4 * 0.140625:

    >>> from fastmlp.reference import update
    >>> W = [[[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]]]
    >>> grad = [[[0.0, -0.140625], [0.0, -0.5625], [0.0, 1.125], [0.0, -0.5625]]]
    >>> update(W, grad, eta=0.1)
    >>> W[0][3][1]
    0.30625
    """
    for W_l, g_l in zip(W, grad):
        for i, (w_i, g_i) in enumerate(zip(W_l, g_l)):
            for j in range(len(w_i)):
                if i == 0:
                    w_i[j] = w_i[j] - eta * g_i[j]
                else:
                    w_i[j] = soft_threshold(w_i[j] - eta * (g_i[j] + l2 * w_i[j]), eta * l1)


def backpropagation(W, thetas, loss, x0, y, weight=1.0, r=None, parts=None):
    """One sample: forward, output delta, backward, gradient.

    A sample of weight c counts c times: c l in the loss, so c delta^(L).

    Parameters
    ----------
    W, thetas : list
        As for ``forward``.
    loss : fastmlp.losses.Loss
    x0 : list of float or Nonzeros
        The sample.
    y : list of float of length d^(L)
        Its target row.
    weight : float, default 1.0
        The sample's weight c.
    r : list, optional
        The sample's dropout factors (see ``dropout_factors``); None: no dropout.
    parts : list, optional
        See ``forward``.

    Returns
    -------
    tuple
        (s, x, delta, grad, loss), as ``forward``, ``backward`` and ``gradient`` give them.

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import backpropagation
    >>> W = [[[1.0, 1.0], [0.25, 0.5], [0.75, 0.125], [0.75, 0.25]], [[0.5], [0.5], [0.125]]]
    >>> relu = fm.activation("relu")
    >>> s, x, delta, grad, loss = backpropagation(W, [relu, relu], losses.get("l2"), [4.0, -8.0, 4.0], [2.0])
    >>> loss, grad[0][3][1]
    (0.6328125, -0.5625)
    """
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
    """SplitMix64's output function on 64-bit words: the first hash of a dropout draw.

    Parameters
    ----------
    z : int
        A word, 0 <= z < 2^64.

    Returns
    -------
    int
        0 <= result < 2^64.

    Examples
    --------
    >>> from fastmlp.reference import mix64
    >>> hex(mix64(0))  # SplitMix64's first output from the seed 0
    '0xe220a8397b1dcdaf'
    """
    z = (z + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def mix32(h):
    """MurmurHash3's 32-bit finaliser: the hash of a unit's or a weight's index under a key.

    Parameters
    ----------
    h : int
        A word, 0 <= h < 2^32.

    Returns
    -------
    int
        0 <= result < 2^32.

    Examples
    --------
    >>> from fastmlp.reference import mix32
    >>> mix32(0), mix32(1)
    (0, 1364076727)
    """
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK32
    return h ^ (h >> 16)


def draw_key(key, when, stream):
    """The 32-bit key of the draws at position ``when`` of the epoch: for the units of a
    sample (``stream`` UNITS) or the weights of a step (``stream`` WEIGHTS).

    Parameters
    ----------
    key : int
        The epoch's key.
    when : int
        The sample's position in the epoch, or the step's.
    stream : int
        UNITS (0) or WEIGHTS (1).

    Returns
    -------
    int
        0 <= result < 2^32.

    Examples
    --------
    >>> from fastmlp.reference import UNITS, WEIGHTS, draw_key
    >>> draw_key(7, 0, UNITS) != draw_key(7, 0, WEIGHTS) != draw_key(7, 1, WEIGHTS)
    True
    """
    return mix64(key ^ mix64(2 * when + stream)) & MASK32


def drawn_below(key, index, rate):
    """Whether the draw of unit or weight ``index`` under ``key`` falls below ``rate``,
    which it does with probability rate.

    Parameters
    ----------
    key : int
        From ``draw_key``.
    index : int
        The unit's or the weight's index.
    rate : float
        In [0, 1].

    Returns
    -------
    bool

    Examples
    --------
    >>> from fastmlp.reference import drawn_below
    >>> drawn_below(5, 3, 0.0), drawn_below(5, 3, 1.0)
    (False, True)
    >>> sum(drawn_below(5, i, 0.25) for i in range(10000)) / 10000
    0.2465
    """
    return mix32(key ^ (index & MASK32)) < int(rate * 4294967296.0)


def dropout_factors(sizes, rates, key, k):
    """Inverted dropout for the sample at position k of the epoch: for hidden layer l with
    rate p > 0, r_j^(l) = 0 where unit j is dropped and 1 / (1 - p) where it is kept, so the
    expected input of the next layer is unchanged. A unit's index runs over all units of
    layers 1..L.

    Parameters
    ----------
    sizes : list of int
        d^(0), ..., d^(L).
    rates : list of float
        p for each hidden layer 1..L-1, in [0, 1).
    key : int
        The epoch's key.
    k : int
        The sample's position in the epoch.

    Returns
    -------
    list
        r^(1) .. r^(L-1): a list of d^(l) factors, or None for a layer without dropout.

    Examples
    --------
    >>> from fastmlp.reference import dropout_factors
    >>> dropout_factors([2, 4, 3, 1], [0.5, 0.0], key=7, k=0)
    [[0.0, 0.0, 2.0, 0.0], None]
    """
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
    step at position ``when`` falls below rate keeps its value from before the step.

    Parameters
    ----------
    w : list of float
        The flat weights after the step, changed in place.
    before : list of float
        The flat weights before the step.
    key : int
        The epoch's key.
    when : int
        The step's position in the epoch.
    rate : float
        The share of the weights left unchanged, in [0, 1).

    Returns
    -------
    None

    Examples
    --------
    >>> from fastmlp.reference import keep_frozen
    >>> w, before = [1.0] * 8, [0.0] * 8
    >>> keep_frozen(w, before, key=7, when=0, rate=0.5)
    >>> w
    [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    """
    weight_key = draw_key(key, when, WEIGHTS)
    for i in range(len(w)):
        if drawn_below(weight_key, i, rate):
            w[i] = before[i]


def mean(grads):
    """The mean of per-sample gradients, entry by entry: a minibatch's gradient.

    Parameters
    ----------
    grads : list
        At least one gradient, each as ``gradient`` returns it.

    Returns
    -------
    list
        Shaped as each gradient.

    Examples
    --------
    >>> from fastmlp.reference import mean
    >>> mean([[[[1.0, 0.0]]], [[[3.0, 1.0]]]])
    [[[2.0, 0.5]]]
    """
    n = len(grads)
    return [
        [[sum(g[l][i][j] for g in grads) / n for j in range(len(grads[0][l][i]))] for i in range(len(grads[0][l]))]
        for l in range(len(grads[0]))
    ]


def perceptron_update(w, x, y, eta):
    """Rosenblatt's rule for one sample: if y w^T [1; x] <= 0, w <- w + eta y [1; x], in
    place.

    Parameters
    ----------
    w : list of float
        w_0 (the bias, for x_0 = 1), w_1, ..., w_d; changed in place.
    x : list of float
        x_1 .. x_d.
    y : float
        The label, +1 or -1.
    eta : float
        The learning rate.

    Returns
    -------
    bool
        Whether the sample was a mistake (and w changed).

    Examples
    --------
    >>> from fastmlp.reference import perceptron_update
    >>> w = [0.0, 0.0, 0.0]
    >>> perceptron_update(w, [1.0, 2.0], 1.0, eta=0.5), w
    (True, [0.5, 0.5, 1.0])
    >>> perceptron_update(w, [1.0, 2.0], 1.0, eta=0.5)
    False
    """
    x = [1.0] + x
    if y * sum(w_i * x_i for w_i, x_i in zip(w, x)) > 0:
        return False
    for i in range(len(w)):
        w[i] = w[i] + eta * y * x[i]
    return True


def optimizer_update(w, g, m, v, t, is_weight, kind, eta, l2, l1, mu, beta1, beta2, epsilon):
    """One step of momentum, Nesterov momentum or Adam on flat lists, in place.

    The gradient g_i (plus l2 w_i on the weights) drives: momentum m <- mu m - eta g,
    w <- w + m; Nesterov w <- w + mu m - eta g with the new m; Adam m <- beta1 m + (1 - beta1) g,
    v <- beta2 v + (1 - beta2) g^2, w <- w - eta sqrt(1 - beta2^t) / (1 - beta1^t) m /
    (sqrt(v) + epsilon). L1's soft threshold (eta l1) follows on the weights.

    Parameters
    ----------
    w, g, m, v : list of float
        Weights, gradient, first and second moments (v: Adam only); w, m, v change in place.
    t : int
        The number of this step, from 1 (Adam's bias correction).
    is_weight : list of bool
        True for a weight, False for a bias (no penalty).
    kind : {"momentum", "nesterov", "adam"}
    eta, l2, l1 : float
        Learning rate and penalties.
    mu, beta1, beta2, epsilon : float
        The optimizers' settings (mu: momentum and Nesterov; the others: Adam).

    Returns
    -------
    None

    Examples
    --------
    >>> from fastmlp.reference import optimizer_update
    >>> w, m = [1.0, 1.0], [0.0, 0.0]
    >>> optimizer_update(w, [0.5, 0.5], m, None, 1, [False, True], "momentum", 0.1, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0)
    >>> w, m
    ([0.95, 0.95], [-0.05, -0.05])
    """
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
    """The network's shape as the kernels take it: d^(0..L), theta per layer and the loss.

    Parameters
    ----------
    sizes : sequence of int
        d^(0), ..., d^(L); kept as the list ``sizes``.
    activations : sequence of fastmlp.Activation
        theta of layers 1..L; kept as the list ``thetas``.
    loss : fastmlp.losses.Loss

    Attributes
    ----------
    n_params : int
        The number of weights, sum over l of (d^(l-1) + 1) d^(l).

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture
    >>> Architecture([3, 2, 1], [fm.activation("relu")] * 2, losses.get("l2")).n_params
    11
    """

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
    """The rows of X as lists, or, for sparse rows (CSR arrays data, indices, indptr), as
    Nonzeros (repeated entries of a row add up).

    Parameters
    ----------
    X : ndarray of shape (n, d) or a CSR matrix

    Returns
    -------
    list
        n lists of floats, or n Nonzeros.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse import csr_matrix
    >>> from fastmlp.reference import samples
    >>> X = np.array([[1.0, 2.0], [3.0, 0.0]])
    >>> samples(X), samples(csr_matrix(X))
    ([[1.0, 2.0], [3.0, 0.0]], [{1: 1.0, 2: 2.0}, {1: 3.0}])
    """
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
    """h(x) for every row of X, as a new array (the kernels' ``forward``).

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    params : ndarray
        W^(1) .. W^(L), flat, bias rows first (as ``fastmlp.MLP.params``).
    X : ndarray of shape (n, d^(0)), or a CSR matrix

    Returns
    -------
    ndarray of shape (n, d^(L)), in params' dtype

    Examples
    --------
    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, forward_rows
    >>> arch = Architecture([2, 1], [fm.activation("identity")], losses.get("l2"))
    >>> params = np.array([0.5, 1.0, -1.0])  # w_01, w_11, w_21: h(x) = 0.5 + x_1 - x_2
    >>> forward_rows(arch, params, np.array([[1.0, 2.0], [3.0, 0.0]]))
    array([[-0.5],
           [ 3.5]])
    """
    W = _unflatten(arch, params.tolist())
    return np.array([forward(W, arch.thetas, x0)[1][-1] for x0 in samples(X)], dtype=params.dtype).reshape(
        len(X), arch.sizes[-1]
    )


def backprop(arch, params, x0, y, s, x, delta, grad):
    """One sample's backpropagation into the kernels' buffers (``fastmlp.MLP.trace``).

    Parameters
    ----------
    arch, params
        As for ``forward_rows``.
    x0, y : ndarray of shape (d^(0),) and (d^(L),)
        The sample and its target row, in params' dtype.
    s, x, delta : ndarray
        Filled with s^(l), x^(l) and delta^(l) of layers 1..L, one after the other.
    grad : ndarray
        Filled with dl/dW, flat as params.

    Returns
    -------
    float
        The sample's loss.

    Examples
    --------
    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, backprop
    >>> arch = Architecture([2, 1], [fm.activation("identity")], losses.get("l2"))
    >>> params = np.array([0.5, 1.0, -1.0])  # w_01, w_11, w_21: h(x) = 0.5 + x_1 - x_2
    >>> s, x, delta, grad = np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(3)
    >>> backprop(arch, params, np.array([1.0, 2.0]), np.array([0.0]), s, x, delta, grad)
    0.125
    >>> delta, grad
    (array([-0.5]), array([-0.5, -0.5, -1. ]))
    """
    W = _unflatten(arch, params.tolist())
    s_, x_, delta_, grad_, ell = backpropagation(W, arch.thetas, arch.loss, x0.tolist(), y.tolist())
    s[:], x[:], delta[:] = _layers(s_), _layers(x_[1:]), _layers(delta_)
    grad[:] = _flatten(grad_)
    return ell


def mean_gradient(arch, params, X, Y, grad, weight=None):
    """grad = the mean over the rows of dl/dW, each times its sample weight if given (the
    kernels' full-batch gradient).

    Parameters
    ----------
    arch, params
        As for ``forward_rows``.
    X : ndarray of shape (n, d^(0)), or a CSR matrix
    Y : ndarray of shape (n, d^(L))
    grad : ndarray
        Filled with the mean gradient, flat as params.
    weight : ndarray of shape (n,), optional
        Sample weights; None: all 1.

    Returns
    -------
    float
        The mean (weighted) loss.

    Examples
    --------
    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, mean_gradient
    >>> arch = Architecture([2, 1], [fm.activation("identity")], losses.get("l2"))
    >>> params = np.array([0.5, 1.0, -1.0])  # w_01, w_11, w_21: h(x) = 0.5 + x_1 - x_2
    >>> X, Y = np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([[0.0], [3.5]])
    >>> grad = np.zeros(3)
    >>> mean_gradient(arch, params, X, Y, grad), grad
    (0.0625, array([-0.25, -0.25, -0.5 ]))
    """
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
    """SGD over X[order], batch_size samples per step with their mean gradient; batch_size 1
    is the lecture's per-sample algorithm. The penalties are those of ``update``.

    A step whose loss is not finite is not taken, and the epoch ends there.

    Parameters
    ----------
    arch, params
        As for ``forward_rows``; params takes the new weights.
    X : ndarray of shape (n, d^(0)), or a CSR matrix
        The samples, one per row.
    Y : ndarray of shape (n, d^(L))
        Their target rows.
    order : ndarray of int
        The rows to visit, in this order.
    batch_size : int
        Samples per step.
    eta : float
        The learning rate.
    l2, l1 : float, default 0.0
        The penalties' strengths.
    weight : ndarray of shape (n,), optional
        Sample weights by row; None: all 1.
    dropout : ndarray, optional
        A rate per layer 1..L (see ``dropout_factors``); None: no dropout.
    update_dropout : float, default 0.0
        See ``keep_frozen``.
    key : int, default 0
        The epoch's key for the draws.
    position : int, default 0
        Where order[0] stands in the epoch.
    parts : list, optional
        See ``forward``.
    norms : ndarray of 2 float64, optional
        Before each step, ``add_norms`` of the weights it starts from.

    Returns
    -------
    tuple
        (the summed loss, the samples completed).

    Examples
    --------
    One step on the full batch of two samples:

    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, minibatch_epoch
    >>> arch = Architecture([2, 1], [fm.activation("identity")], losses.get("l2"))
    >>> params = np.array([0.5, 1.0, -1.0])  # w_01, w_11, w_21: h(x) = 0.5 + x_1 - x_2
    >>> X, Y = np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([[0.0], [3.5]])
    >>> minibatch_epoch(arch, params, X, Y, np.array([0, 1]), 2, eta=0.1), params
    ((0.125, 2), array([ 0.525,  1.025, -0.95 ]))
    """
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
    """``norms[0] += sum w_ij^2`` and ``norms[1] += sum |w_ij|`` over the weights of W (i >= 1, not
    the biases): what the penalties of these weights are made of.

    Parameters
    ----------
    W : list
        The layers' weights, ``W[l-1][i][j]`` = w_ij^(l).
    norms : ndarray of 2 float64, or None
        The sums to add to; None: nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.reference import add_norms
    >>> norms = np.zeros(2)
    >>> add_norms([[[5.0, 5.0], [1.0, -2.0]]], norms)  # the bias row [5, 5] does not count
    >>> norms
    array([5., 3.])
    """
    if norms is not None:
        weights = [w for W_l in W for row in W_l[1:] for w in row]
        norms[0] += math.fsum(w * w for w in weights)
        norms[1] += math.fsum(abs(w) for w in weights)


def sgd_epoch(arch, params, X, Y, order, eta, l2=0.0, l1=0.0, **options):
    """Per-sample SGD over X[order]: ``minibatch_epoch`` with batch_size 1.

    Parameters
    ----------
    arch, params, X, Y, order, eta, l2, l1
        As for ``minibatch_epoch``.
    **options
        ``minibatch_epoch``'s keywords.

    Returns
    -------
    tuple
        (the summed loss, the samples completed).

    Examples
    --------
    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, sgd_epoch
    >>> arch = Architecture([2, 1], [fm.activation("identity")], losses.get("l2"))
    >>> params = np.array([0.5, 1.0, -1.0])  # w_01, w_11, w_21: h(x) = 0.5 + x_1 - x_2
    >>> X, Y = np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([[0.0], [3.5]])
    >>> loss, done = sgd_epoch(arch, params, X, Y, np.array([0, 1]), eta=0.1)
    >>> done, params
    (2, array([ 0.53,  0.99, -0.9 ]))
    """
    return minibatch_epoch(arch, params, X, Y, order, 1, eta, l2, l1, **options)


def perceptron_epoch(w, X, y, order, eta):
    """One pass of the perceptron algorithm (``perceptron_update``) over X[order], in place.

    Parameters
    ----------
    w : ndarray of shape (d + 1,)
        w_0 (the bias), w_1 .. w_d; changed in place.
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
        Labels +1 or -1.
    order : ndarray of int
        The rows to visit, in this order.
    eta : float
        The learning rate.

    Returns
    -------
    int
        The mistakes of the pass.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.reference import perceptron_epoch
    >>> w = np.zeros(3)
    >>> X, y = np.array([[1.0, 1.0], [-1.0, -1.0]]), np.array([1.0, -1.0])
    >>> perceptron_epoch(w, X, y, np.array([0, 1]), 1.0), w
    (1, array([1., 1., 1.]))
    """
    weights, rows, labels = w.tolist(), X.tolist(), y.tolist()
    mistakes = sum(perceptron_update(weights, rows[k], labels[k], eta) for k in order.tolist())
    w[:] = weights
    return mistakes


def optimizer_epoch(arch, params, X, Y, order, batch_size, kind, eta, l2, l1, mu, beta1, beta2, epsilon, m, v, t, *,
                    weight=None, dropout=None, update_dropout=0.0, key=0, position=0, parts=None, norms=None):
    """SGD over X[order] in batches of batch_size, each step by ``optimizer_update`` with the
    batch's mean gradient. Update dropout keeps weights, not their moments, as they were.

    Parameters
    ----------
    arch, params, X, Y, order, batch_size
        As for ``minibatch_epoch``.
    kind : {"momentum", "nesterov", "adam"}
    eta, l2, l1, mu, beta1, beta2, epsilon : float
        As for ``optimizer_update``.
    m, v : ndarray
        The moments, flat as params; updated in place.
    t : int
        The steps taken before this epoch.
    weight, dropout, update_dropout, key, position, parts, norms
        As for ``minibatch_epoch``.

    Returns
    -------
    tuple
        (the summed loss, the samples completed, t after the epoch's steps).

    Examples
    --------
    Adam, one step per sample:

    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, optimizer_epoch
    >>> arch = Architecture([2, 1], [fm.activation("identity")], losses.get("l2"))
    >>> params = np.array([0.5, 1.0, -1.0])  # w_01, w_11, w_21: h(x) = 0.5 + x_1 - x_2
    >>> X, Y = np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([[0.0], [3.5]])
    >>> m, v = np.zeros(3), np.zeros(3)
    >>> optimizer_epoch(arch, params, X, Y, np.array([0, 1]), 1, "adam", 0.1, 0.0, 0.0, 0.0, 0.9, 0.999, 1e-8,
    ...                 m, v, 0)[1:]
    (2, 2)
    """
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
    epochs on one thread, adding the sums of layers 2..L in the team's parts (see ``split_of``).

    Parameters
    ----------
    n_threads : int
        The threads whose parts the sums follow; kept as ``size``.

    Examples
    --------
    >>> from fastmlp.reference import Team
    >>> with Team(2) as team:
    ...     team.size
    2
    """

    def __init__(self, n_threads):
        self.size = n_threads

    def close(self):
        """Nothing to stop: the kernels' team stops its threads here.

        Returns
        -------
        None

        Examples
        --------
        >>> from fastmlp.reference import Team
        >>> Team(2).close()
        """
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def split_supported(arch):
    """Why the split per-sample epochs cannot train this network, or None (as the kernels
    say): they take hidden layers unit by unit, so a network needs a hidden layer and no
    softmax among them.

    Parameters
    ----------
    arch : Architecture

    Returns
    -------
    str or None

    Examples
    --------
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, split_supported
    >>> relu, identity = fm.activation("relu"), fm.activation("identity")
    >>> split_supported(Architecture([2, 1], [identity], losses.get("l2")))
    'the network has no hidden layer'
    >>> split_supported(Architecture([2, 3, 1], [relu, identity], losses.get("l2"))) is None
    True
    """
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
    """``sgd_epoch`` with the sums of layers 2..L added in the parts of ``team.size`` threads.

    Parameters
    ----------
    team : Team
        Its ``size`` sets the parts.
    arch, params, X, Y, order, eta, l2, l1, **options
        As for ``sgd_epoch``.

    Returns
    -------
    tuple
        (the summed loss, the samples completed).

    Raises
    ------
    ValueError
        The network cannot be split (see ``split_supported``).

    Examples
    --------
    The same weights as ``sgd_epoch`` to within the rounding of the sums' order:

    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, Team, sgd_epoch, split_sgd_epoch
    >>> arch = Architecture([2, 20, 1], [fm.activation("relu"), fm.activation("identity")], losses.get("l2"))
    >>> params = fm.MLP(arch.sizes, activation="relu", seed=0).params.copy()
    >>> X, Y, order = np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([[0.0], [3.5]]), np.array([0, 1])
    >>> split, whole = params.copy(), params.copy()
    >>> _ = split_sgd_epoch(Team(2), arch, split, X, Y, order, 0.1), sgd_epoch(arch, whole, X, Y, order, 0.1)
    >>> bool(np.allclose(split, whole, rtol=1e-14, atol=1e-15))
    True
    """
    parts = _parts(team, arch, params)
    return sgd_epoch(arch, params, X, Y, order, eta, l2, l1, **options, parts=parts)


def split_optimizer_epoch(team, arch, params, X, Y, order, *args, **options):
    """``optimizer_epoch`` with batch size 1 and the sums of layers 2..L added in the parts
    of ``team.size`` threads.

    Parameters
    ----------
    team : Team
        Its ``size`` sets the parts.
    arch, params, X, Y, order
        As for ``minibatch_epoch``.
    *args
        ``optimizer_epoch``'s arguments after batch_size: kind, eta, l2, l1, mu, beta1,
        beta2, epsilon, m, v, t.
    **options
        ``optimizer_epoch``'s keywords.

    Returns
    -------
    tuple
        (the summed loss, the samples completed, t after the epoch's steps).

    Raises
    ------
    ValueError
        The network cannot be split (see ``split_supported``).

    Examples
    --------
    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, Team, split_optimizer_epoch
    >>> arch = Architecture([2, 20, 1], [fm.activation("relu"), fm.activation("identity")], losses.get("l2"))
    >>> params = fm.MLP(arch.sizes, activation="relu", seed=0).params.copy()
    >>> X, Y, order = np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([[0.0], [3.5]]), np.array([0, 1])
    >>> m, v = np.zeros_like(params), np.zeros_like(params)
    >>> split_optimizer_epoch(Team(2), arch, params, X, Y, order, "momentum", 0.1, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0,
    ...                       m, v, 0)[1:]
    (2, 2)
    """
    parts = _parts(team, arch, params)
    return optimizer_epoch(arch, params, X, Y, order, 1, *args, **options, parts=parts)


def _is_weight(arch):
    """For each entry of the flat params: True for a weight, False for a bias."""
    return [i > 0 for d_in, d_out in zip(arch.sizes, arch.sizes[1:]) for i in range(d_in + 1) for _ in range(d_out)]


def step_gradient(arch, params, X, Y, order, grad, *, weight=None, dropout=None, update_dropout=0.0, key=0,
                  position=0, room=None):
    """Adds to grad the summed gradient of the samples X[order] (each times its weight, with
    the dropout factors of positions position, position + 1, ...), as ``minibatch_epoch``'s
    step takes it: the first half of a step made in parts, ``gradient_step`` the second.

    Parameters
    ----------
    arch, params, X, Y, order
        As for ``minibatch_epoch``.
    grad : ndarray
        Flat as params; the gradient is added to it.
    weight, dropout, update_dropout, key, position
        As for ``minibatch_epoch``.
    room : object, optional
        The kernels' working memory, which the reference needs not.

    Returns
    -------
    tuple
        (the samples' summed loss, None: the kernels' room).

    Examples
    --------
    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, step_gradient
    >>> arch = Architecture([2, 1], [fm.activation("identity")], losses.get("l2"))
    >>> params = np.array([0.5, 1.0, -1.0])  # w_01, w_11, w_21: h(x) = 0.5 + x_1 - x_2
    >>> X, Y = np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([[0.0], [3.5]])
    >>> grad = np.zeros(3)
    >>> step_gradient(arch, params, X, Y, np.array([0, 1]), grad), grad
    ((0.125, None), array([-0.5, -0.5, -1. ]))
    """
    W = _unflatten(arch, params.tolist())
    ((_, results),) = _batches(arch, W, X, Y, order, len(order), weight, dropout, key, position)
    grad += np.sum([_flatten(r[3]) for r in results], axis=0)
    return sum(r[4] for r in results), None


def gradient_step(arch, params, grad, rows, kind, eta, l2, l1, mu=0.0, beta1=0.0, beta2=0.0, epsilon=0.0, m=None,
                  v=None, t=0, *, weight=None, dropout=None, update_dropout=0.0, key=0, position=0):
    """The step of ``minibatch_epoch`` ("sgd") or ``optimizer_epoch`` (the other kinds, with
    m, v, t) from grad, the summed gradient of ``rows`` samples, in place; update dropout as
    for the step at ``position``.

    Parameters
    ----------
    arch, params
        As for ``forward_rows``; params takes the new weights.
    grad : ndarray
        The summed gradient, from ``step_gradient``.
    rows : int
        The samples it sums over: the step takes grad / rows.
    kind : {"sgd", "momentum", "nesterov", "adam"}
    eta, l2, l1, mu, beta1, beta2, epsilon : float
        As for ``optimizer_update``.
    m, v : ndarray, optional
        The moments, updated in place (not for "sgd").
    t : int, default 0
        The steps taken before this one.
    weight, dropout : optional
        Not used: the step's gradient is already weighted (the kernels take the same
        keywords).
    update_dropout : float, default 0.0
        See ``keep_frozen``.
    key : int, default 0
        The epoch's key for the draws of update dropout.
    position : int, default 0
        The step's position in the epoch.

    Returns
    -------
    int
        t, counting this step ("sgd" leaves it as it was).

    Examples
    --------
    The step of ``minibatch_epoch``'s example, from its summed gradient:

    >>> import numpy as np
    >>> import fastmlp as fm
    >>> from fastmlp import losses
    >>> from fastmlp.reference import Architecture, gradient_step
    >>> arch = Architecture([2, 1], [fm.activation("identity")], losses.get("l2"))
    >>> params = np.array([0.5, 1.0, -1.0])  # w_01, w_11, w_21: h(x) = 0.5 + x_1 - x_2
    >>> grad = np.array([-0.5, -0.5, -1.0])
    >>> gradient_step(arch, params, grad, 2, "sgd", 0.1, 0.0, 0.0), params
    (0, array([ 0.525,  1.025, -0.95 ]))
    """
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
