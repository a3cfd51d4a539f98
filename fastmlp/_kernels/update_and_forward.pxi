# The update of W^(1) fused with the next sample's forward sums (included by _core.pyx):
# per-sample SGD's pass over W^(1) for one sample also forms s^(1) of the next, with the
# plain step, momentum's column blocks or another optimizer's rows.

cdef inline void update_and_forward_columns(floating* W, const floating* x_in,
                                            const floating* x_next, Py_ssize_t d_in,
                                            Py_ssize_t d_out, Py_ssize_t jb, Py_ssize_t r,
                                            const floating* delta, floating scale,
                                            floating* s_next) noexcept nogil:
    # Columns jb .. jb+r-1 of layer_update_and_forward with the plain step (r one of the
    # block widths): each row block is updated and then, while it is in registers, added
    # into the next sample's sums.
    if floating is double:
        fastmlp_update_and_forward_columns_d(W + jb, x_in, x_next, d_in, d_out, r, delta + jb,
                                             scale, s_next + jb)
    else:
        fastmlp_update_and_forward_columns_f(W + jb, x_in, x_next, d_in, d_out, r, delta + jb,
                                             scale, s_next + jb)


cdef inline void optimizer_and_forward_columns(floating* W, floating* M, floating* V,
                                               const floating* x_in, const floating* x_next,
                                               Py_ssize_t d_in, Py_ssize_t d_out, Py_ssize_t jb,
                                               Py_ssize_t r, const floating* delta, floating c,
                                               const Optimizer* rule,
                                               floating* s_next) noexcept nogil:
    # The same with the optimizer's step (a function of its own, so that the plain step
    # keeps its registers).
    cdef Py_ssize_t i, j, k
    cdef floating xn
    cdef floating d[BLOCK]
    cdef floating acc[BLOCK]
    for j in range(r):
        d[j] = delta[jb + j]
        acc[j] = W[jb + j]
    for i in range(d_in):
        k = (i + 1) * d_out + jb
        rule_row(W + k, M + k, V + k, c * x_in[i], d, r, True, rule)
        xn = x_next[i]
        if xn != 0:
            for j in range(r):
                acc[j] += xn * W[k + j]
    for j in range(r):
        s_next[jb + j] = acc[j]


cdef inline bint momentum_in_blocks(const Optimizer* rule) noexcept nogil:
    """Whether the update of W^(1) takes momentum's (or Nesterov's) fused column blocks:
    without L1, whose soft threshold they leave out."""
    return rule != NULL and (rule.kind == MOMENTUM or rule.kind == NESTEROV) and rule.l1 == 0


cdef inline void momentum_and_forward_columns(floating* W, floating* M, const floating* x_in,
                                              const floating* x_next, Py_ssize_t d_in,
                                              Py_ssize_t d_out, Py_ssize_t jb, Py_ssize_t r,
                                              const floating* delta, floating scale,
                                              const Optimizer* rule, floating* s_next) noexcept nogil:
    # Columns jb .. jb+r-1 of layer_update_and_forward with momentum or Nesterov's step and
    # no L1 (r one of the block widths); the same arithmetic as rule_row.
    cdef floating l2 = <floating>rule.l2, mu = <floating>rule.mu, eta = <floating>rule.eta
    if floating is double:
        fastmlp_momentum_and_forward_columns_d(W + jb, M + jb, x_in, x_next, d_in, d_out, r,
                                               delta + jb, scale, l2, mu, eta,
                                               rule.kind == NESTEROV, s_next + jb)
    else:
        fastmlp_momentum_and_forward_columns_f(W + jb, M + jb, x_in, x_next, d_in, d_out, r,
                                               delta + jb, scale, l2, mu, eta,
                                               rule.kind == NESTEROV, s_next + jb)


cdef void layer_update_and_forward(floating* W, floating* M, floating* V, const floating* x_in,
                                   const floating* x_next, Py_ssize_t d_in, Py_ssize_t d_out,
                                   const floating* delta, floating scale, const Optimizer* rule,
                                   floating* s_next) noexcept nogil:
    """The update of W^(1) fused with the next sample's forward sums
    s_next = W^(1)^T [1; x_next] over the updated rows: one pass over W^(1) instead of
    two, with the same arithmetic in the same order as the two passes. The update is the
    plain step w_ij += scale x_i delta_j, or with ``rule`` the optimizer's step (moments
    M, V) from the gradient scale x_i delta_j."""
    cdef Py_ssize_t j, r, jb = 0
    if rule != NULL:
        rule_row(W, M, V, scale, delta, d_out, False, rule)
    else:
        for j in range(d_out):
            W[j] += scale * delta[j]
    if momentum_in_blocks(rule):
        # Momentum's step in column blocks that keep their deltas and sums in registers.
        while jb < d_out:
            r = block_width(d_out - jb, sizeof(floating))
            momentum_and_forward_columns(W, M, x_in, x_next, d_in, d_out, jb, r, delta, scale,
                                         rule, s_next)
            jb += r
        return
    if rule != NULL:
        # Whole blocks with a constant width, so that each row's step is unrolled.
        while jb + BLOCK <= d_out:
            optimizer_and_forward_columns(W, M, V, x_in, x_next, d_in, d_out, jb, BLOCK, delta,
                                          scale, rule, s_next)
            jb += BLOCK
        if jb < d_out:
            optimizer_and_forward_columns(W, M, V, x_in, x_next, d_in, d_out, jb, d_out - jb, delta,
                                          scale, rule, s_next)
        return
    while jb < d_out:
        r = block_width(d_out - jb, sizeof(floating))
        update_and_forward_columns(W, x_in, x_next, d_in, d_out, jb, r, delta, scale, s_next)
        jb += r
