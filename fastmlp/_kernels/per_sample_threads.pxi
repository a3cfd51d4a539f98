# ---------------------------------------------------------------------------------------
# Per-sample SGD on T threads, model-parallel: each hidden layer l's units are split into T
# contiguous parts I_0^(l) .. I_{T-1}^(l). Thread t owns the columns I_t^(1) of W^(1) and,
# for l = 2..L, the rows I_t^(l-1) of W^(l) (thread 0 also their bias rows), and for each
# sample:
#   forward   s^(1)_i, x^(1)_i for i in I_t^(1); then for l = 2..L its partial sums
#             P_t = sum_{i in I_t^(l-1)} w_ij^(l) x_i^(l-1) (P_0 starting from the bias
#             w_0j^(l)), one exchange: every thread adds s^(l) = P_0 + P_1 + ... + P_{T-1}
#             in this order, so the bits depend on T and never on timing, and forms
#             x^(l)_i for its own units i in I_t^(l) (at l = L all of h(x), the loss and
#             delta^(L));
#   backward  for l = L..2: delta^(l-1)_i for i in I_t^(l-1) from its own rows of W^(l)
#             and the whole delta^(l), updating those rows in the same pass; a hidden
#             delta^(l-1) with l - 1 >= 2 is then gathered whole (one exchange: each
#             thread writes its own entries) for W^(l-1)'s rows. Last its columns of
#             W^(1), fused with the next sample's s^(1) as the one-thread kernel does.
# That is 2L - 3 exchanges per sample (one for one hidden layer). Update dropout: each thread
# keeps its own weights from before the step and gives back the frozen ones after it.
# An exchange has no central counter: each thread writes its numbers into a slot of its own
# and announces the exchange's count in the slot's first word, in the same cache line, which
# is then all that passes from core to core; the others wait for that count (see meet). The
# slots alternate with the count's parity: a thread reads another's slot only before it
# reaches the next exchange, and the other writes that slot again only after passing it.
# fastmlp.reference.forward(..., parts=...) adds the sums s^(l), l >= 2, in the same order.
#
# Each thread steps its own weights in a block of its own (and its optimizer moments in two
# more), taken from the flat params at the start of a call and given back by the caller at
# its end. Its columns of W^(1) are the middle of every row of the flat layout, and two cores
# that step neighbouring parts of the same rows lose the rows' cache lines to each other
# through the hardware prefetchers: on a 2-core AMD EPYC, a C model of the two layouts took
# 55 against 6 us a sample, and 784-128-10 float32 ran 0.3x on two threads in the flat rows.
# The blocks, each thread's room and the exchanged rows lie on pages of their own.

cdef extern from "thread_team.h" nogil:
    ctypedef void (*fastmlp_job)(void* arg, int t) noexcept nogil
    enum: FASTMLP_MAX_THREADS
    ctypedef struct fastmlp_team:
        int n
    int fastmlp_have_threads()
    int fastmlp_team_open(fastmlp_team* team, int n)
    void fastmlp_team_run(fastmlp_team* team, fastmlp_job job, void* arg)
    void fastmlp_announce(long long* word, long long round)
    void fastmlp_await(const long long* word, long long round)
    void fastmlp_team_close(fastmlp_team* team)

# Entries per cache line of the widest dtype's vectors: the parts of a layer, and the rows
# of each thread's blocks, start on a 64-byte boundary. A thread's blocks start on a page of
# their own, where no prefetcher runs on from another thread's.
cdef enum:
    LINE_BYTES = 64
    PAGE_BYTES = 4096
    WORD_BYTES = 8      # an exchange slot's word (long long), before its numbers

# What own_pieces does with each piece of a thread's own weights.
cdef enum OwnAction:
    TAKE            # from the flat layout into the own block
    GIVE_BACK       # from the own block into the flat layout
    KEEP_FROZEN     # update dropout: the frozen weights back from the block before the step


def have_threads():
    """Whether this build starts threads (POSIX threads); elsewhere a Team has one thread."""
    return bool(fastmlp_have_threads())


cdef class Team:
    """Threads for the split per-sample kernels, started once (for a fit) and joined by
    close() or when the Team goes. ``size``: the threads it has, the caller's included (1
    if the platform has no threads or none could be started). One caller at a time."""
    cdef fastmlp_team team
    cdef readonly int size
    cdef object scratch     # the calls' blocks and rooms, kept for the next call

    cdef void* pages(self, Py_ssize_t nbytes):
        """nbytes of memory starting on a page, the same for calls of the same size or less
        (its pages are not faulted in again every call)."""
        if self.scratch is None or self.scratch.nbytes < nbytes + PAGE_BYTES:
            self.scratch = np.empty(nbytes + PAGE_BYTES, dtype=np.uint8)
        cdef unsigned char[::1] raw = self.scratch
        cdef size_t address = <size_t>&raw[0]
        return &raw[(PAGE_BYTES - address % PAGE_BYTES) % PAGE_BYTES]

    def __cinit__(self, int n_threads):
        if n_threads < 1:
            raise ValueError(f"a team needs at least one thread, not {n_threads}")
        with nogil:
            self.size = fastmlp_team_open(&self.team, n_threads)

    def close(self):
        """Lets the threads return and joins them; the Team then has one thread."""
        with nogil:
            fastmlp_team_close(&self.team)
        self.size = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __dealloc__(self):
        fastmlp_team_close(&self.team)


def split_of(Py_ssize_t units, int parts, Py_ssize_t itemsize):
    """The boundaries 0 = b_0 <= b_1 <= ... <= b_parts = units of the hidden units' parts
    I_t = b_t .. b_{t+1} - 1: as equal as whole cache lines of ``itemsize``-byte numbers
    allow. A function of its arguments only, so that the summation order is too."""
    cdef Py_ssize_t per_line = LINE_BYTES // itemsize
    cdef Py_ssize_t lines = (units + per_line - 1) // per_line
    return [min(units, (t * lines // parts) * per_line) for t in range(parts + 1)]


cdef struct SplitEpoch:
    # One call's work and what thread 0 reports back.
    const Net* net
    fastmlp_team* team
    void* params
    const void* X
    const void* Y
    const Py_ssize_t* order
    Py_ssize_t n
    const Step* step
    const Options* opt
    const Optimizer* rule       # the optimizer, or NULL; each thread steps a copy
    void* part                  # 2 x T slots of the exchanges, slot_bytes apart: a word, then
    Py_ssize_t slot_bytes       # the thread's partial sums or deltas (see meet)
    void* room                  # T rooms of room_pitch entries: s, x, delta, r, xd, then the
    Py_ssize_t room_pitch       # blocks (own_pitch apart) of the weights, m, v and before
    Py_ssize_t own_pitch
    const Py_ssize_t* split     # the parts' boundaries, T + 1 per hidden layer
    int T
    Py_ssize_t done             # samples completed
    double loss_sum
    long long t                 # the optimizer's update count after the call
    double own_norms[2 * FASTMLP_MAX_THREADS]   # opt.norms: each thread's sums, added in order


cdef void partial_sums(const floating* W, const floating* x_in, Py_ssize_t rows, Py_ssize_t d,
                       floating* P) noexcept nogil:
    """P_j = w_0j + sum_{0 <= i < rows} x_i w_{i+1,j} over a thread's own rows of a layer (its
    bias row w_0j: thread 0's biases, zeros on the others), i in increasing order, skipping
    x_i = 0 as the one-thread forward pass does, a column block at a time."""
    cdef Py_ssize_t r, jb = 0
    while jb < d:
        r = block_width(d - jb, sizeof(floating))
        forward_columns(W, x_in, rows, d, jb, r, P)
        jb += r


cdef void split_forward_first(const floating* W, const floating* x0, Py_ssize_t d0,
                              Py_ssize_t d1, Py_ssize_t i0, Py_ssize_t i1,
                              floating* s) noexcept nogil:
    """s^(1)_j for the columns i0 <= j < i1 of W^(1), a column block at a time."""
    cdef Py_ssize_t r, jb = i0
    while jb < i1:
        r = block_width(i1 - jb, sizeof(floating))
        forward_columns(W, x0, d0, d1, jb, r, s)
        jb += r


cdef void split_output_rows(floating* W2, floating* M2, floating* V2, const floating* x_in,
                            Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t d2, const floating* delta2,
                            floating* back, bint bias, const Step* step,
                            const Optimizer* rule) noexcept nogil:
    """Rows i0 + 1 .. i1 of W^(2) (and its bias row if ``bias``), as layer_backward or
    layer_optimizer make them: back_i = sum_j w_ij delta_j read before row i changes, then
    the row's step."""
    cdef Py_ssize_t i, k, r, jb = 0, n_t = i1 - i0
    cdef floating c = <floating>step.scale
    cdef floating* rows = W2 + i0 * d2
    if rule != NULL:
        if bias:
            rule_row(W2, M2, V2, c, delta2, d2, False, rule)
        for i in range(i0, i1):
            k = (i + 1) * d2
            back[i] = dot(W2 + k, delta2, d2)
            rule_row(W2 + k, M2 + k, V2 + k, c * x_in[i], delta2, d2, True, rule)
        return
    if bias:
        for k in range(d2):
            W2[k] += <floating>step.scale * delta2[k]
    memset(back + i0, 0, n_t * sizeof(floating))
    if step.decay != 1 or step.shrink != 0:
        penalised_columns(rows, rows, x_in + i0, n_t, d2, 0, d2, delta2, back + i0, step)
        return
    while jb < d2:
        r = block_width(d2 - jb, sizeof(floating))
        backward_columns(rows, rows, x_in + i0, n_t, d2, jb, r, delta2, back + i0, c)
        jb += r


cdef void split_input_columns(floating* W1, floating* M1, floating* V1, const floating* x0,
                              const floating* x_next, Py_ssize_t d0, Py_ssize_t d1,
                              Py_ssize_t i0, Py_ssize_t i1, const floating* delta,
                              const Step* step, const Optimizer* rule,
                              floating* s) noexcept nogil:
    """Columns i0 .. i1 - 1 of W^(1) (bias row included), as backprop_sample makes W^(1):
    fused with the next sample's sums s^(1) over those columns (x_next, or momentum's
    pass, whose sums are then unused), else the separate step."""
    cdef Py_ssize_t i, j, r, jb = i0, n_t = i1 - i0
    cdef floating c = <floating>step.scale
    if x_next != NULL or momentum_in_blocks(rule):
        if x_next == NULL:
            x_next = x0
        if rule != NULL:
            rule_row(W1 + i0, M1 + i0, V1 + i0, c, delta + i0, n_t, False, rule)
        else:
            for j in range(i0, i1):
                W1[j] += c * delta[j]
        if momentum_in_blocks(rule):
            while jb < i1:
                r = block_width(i1 - jb, sizeof(floating))
                momentum_and_forward_columns(W1, M1, x0, x_next, d0, d1, jb, r, delta, c, rule, s)
                jb += r
        elif rule != NULL:
            while jb + BLOCK <= i1:
                optimizer_and_forward_columns(W1, M1, V1, x0, x_next, d0, d1, jb, BLOCK, delta, c,
                                              rule, s)
                jb += BLOCK
            if jb < i1:
                optimizer_and_forward_columns(W1, M1, V1, x0, x_next, d0, d1, jb, i1 - jb, delta, c,
                                              rule, s)
        else:
            while jb < i1:
                r = block_width(i1 - jb, sizeof(floating))
                update_and_forward_columns(W1, x0, x_next, d0, d1, jb, r, delta, c, s)
                jb += r
        return
    if rule != NULL:
        rule_row(W1 + i0, M1 + i0, V1 + i0, c, delta + i0, n_t, False, rule)
        for i in range(d0):
            j = (i + 1) * d1 + i0
            rule_row(W1 + j, M1 + j, V1 + j, c * x0[i], delta + i0, n_t, True, rule)
        return
    for j in range(i0, i1):
        W1[j] += <floating>step.scale * delta[j]
    if step.decay != 1 or step.shrink != 0:
        penalised_columns(W1, W1, x0, d0, d1, i0, n_t, delta, <floating*>NULL, step)
        return
    while jb < i1:
        r = block_width(i1 - jb, sizeof(floating))
        backward_columns(W1, W1, x0, d0, d1, jb, r, delta, <floating*>NULL, c)
        jb += r


cdef inline Py_ssize_t round_up(Py_ssize_t n, Py_ssize_t multiple) noexcept nogil:
    return (n + multiple - 1) // multiple * multiple


cdef inline Py_ssize_t own_pitch(const Py_ssize_t* split, int t, Py_ssize_t per_line) noexcept nogil:
    """The row pitch of thread t's columns of W^(1) in its own block."""
    return round_up(split[t + 1] - split[t], per_line)


cdef Py_ssize_t own_at(const Net* net, const Py_ssize_t* split, int T, int t, int l,
                       Py_ssize_t per_line) noexcept nogil:
    """Where thread t's own rows of W^(l+1) start in its own block, 1 <= l < L: a bias row
    (thread 0's biases, zeros on the others), then the rows I_t^(l) of W^(l+1), after its columns of W^(1),
    d^(0) + 1 rows of own_pitch entries; l = L gives the block's size."""
    cdef Py_ssize_t at = (net.d[0] + 1) * own_pitch(split, t, per_line)
    cdef int k
    for k in range(1, l):
        at = round_up(at, per_line) + (1 + split[(k - 1) * (T + 1) + t + 1] - split[(k - 1) * (T + 1) + t]) * net.d[k + 1]
    return round_up(at, per_line)


cdef void own_piece(floating* own, floating* flat, const floating* before, Py_ssize_t index,
                    Py_ssize_t n, OwnAction action, const Options* opt, Py_ssize_t when) noexcept nogil:
    """One piece of n own weights own[0 .. n-1], which are flat[index .. index + n - 1]."""
    if action == TAKE:
        memcpy(own, flat + index, n * sizeof(floating))
    elif action == GIVE_BACK:
        memcpy(flat + index, own, n * sizeof(floating))
    else:
        keep_frozen_from(opt, when, own, before, index, n)


cdef void add_own_norms(const Net* net, const Py_ssize_t* split, int T, int t, Py_ssize_t per_line,
                        const floating* own, double* norms) noexcept nogil:
    """add_norms over thread t's own weights, not the biases: its columns of W^(1) (rows
    1 .. d^(0) of its block, whose padding is zero) and its rows of W^(2..L)."""
    cdef int l
    cdef Py_ssize_t pitch = own_pitch(split, t, per_line), d, i0, i1
    add_norms(own + pitch, net.d[0] * pitch, norms)
    for l in range(1, net.L):
        d = net.d[l + 1]
        i0, i1 = split[(l - 1) * (T + 1) + t], split[(l - 1) * (T + 1) + t + 1]
        add_norms(own + own_at(net, split, T, t, l, per_line) + d, (i1 - i0) * d, norms)


cdef void own_pieces(const Net* net, const Py_ssize_t* split, int T, int t, Py_ssize_t per_line,
                     floating* own, floating* flat, const floating* before, OwnAction action,
                     const Options* opt, Py_ssize_t when) noexcept nogil:
    """``action`` on each piece of thread t's own weights (see OwnAction): its columns of
    W^(1), bias row included, and its rows of W^(2..L) (thread 0 also their bias rows).
    ``before`` (KEEP_FROZEN) is laid out as the own block."""
    cdef int l
    cdef Py_ssize_t i, d, o, at, i0, i1
    cdef Py_ssize_t a0 = split[t], n1 = split[t + 1] - split[t], pitch = own_pitch(split, t, per_line)
    for i in range(net.d[0] + 1):
        own_piece(own + i * pitch, flat, before + i * pitch if before != NULL else before, i * net.d[1] + a0,
                  n1, action, opt, when)
        if action == TAKE:
            memset(own + i * pitch + n1, 0, (pitch - n1) * sizeof(floating))
    for l in range(1, net.L):
        d, o, at = net.d[l + 1], net.offset[l], own_at(net, split, T, t, l, per_line)
        i0, i1 = split[(l - 1) * (T + 1) + t], split[(l - 1) * (T + 1) + t + 1]
        if t == 0:
            own_piece(own + at, flat, before + at if before != NULL else before, o, d, action, opt, when)
        elif action == TAKE:
            memset(own + at, 0, d * sizeof(floating))
        own_piece(own + at + d, flat, before + at + d if before != NULL else before, o + (i0 + 1) * d,
                  (i1 - i0) * d, action, opt, when)


cdef inline long long* word_of(const SplitEpoch* job, Py_ssize_t round, int u) noexcept nogil:
    """Thread u's word in its slot for exchange ``round``: the slots alternate with the
    rounds' parity, so that a thread writes a slot again only after every thread has
    passed the round that read it."""
    return <long long*>(<char*>job.part + ((round & 1) * job.T + u) * job.slot_bytes)


cdef inline floating* slot_of(const SplitEpoch* job, Py_ssize_t round, int u,
                              const floating* kind) noexcept nogil:
    """Thread u's numbers for exchange ``round``, after its word (in the same cache line
    while they fit)."""
    return <floating*>(<char*>word_of(job, round, u) + WORD_BYTES)


cdef void meet(const SplitEpoch* job, int t, Py_ssize_t round) noexcept nogil:
    """Exchange ``round``: thread t, its slot written, announces it and waits until every
    other thread has announced its own."""
    cdef int u
    fastmlp_announce(word_of(job, round, t), round)
    for u in range(job.T):
        if u != t:
            fastmlp_await(word_of(job, round, u), round)


cdef void clear_words(SplitEpoch* job) noexcept nogil:
    """Every slot's word to -1, before the threads start: no round has been announced."""
    cdef int u
    for u in range(2 * job.T):
        word_of(job, u // job.T, u % job.T)[0] = -1


cdef void split_epoch(SplitEpoch* job, int t, const floating* kind) noexcept nogil:
    """Thread t's share of sgd_epoch_nogil over the samples job.order (see the top of this
    file); ``kind`` only selects the dtype. Every thread forms the same s^(L), loss and
    delta^(L), so all stop at the same first non-finite loss, after its update."""
    cdef const Net* net = job.net
    cdef const Options* opt = job.opt
    cdef int L = net.L, T = job.T, l
    cdef Py_ssize_t d0 = net.d[0], dL = net.d[L], units = 0, top
    cdef Py_ssize_t per_line = LINE_BYTES // sizeof(floating)
    cdef Py_ssize_t i0, i1, a0 = job.split[t], a1 = job.split[t + 1], pitch = own_pitch(job.split, t, per_line)
    cdef Py_ssize_t k, j, u, row, ahead, n = job.n, meetings = 0, p0 = 0, p1 = 0, b0, b1, at
    cdef floating* params = <floating*>job.params
    cdef const floating* X = <const floating*>job.X
    cdef const floating* Y = <const floating*>job.Y
    cdef floating* room = <floating*>job.room + t * job.room_pitch
    cdef floating* W = room + job.room_pitch - 4 * job.own_pitch
    cdef floating* before = W + 3 * job.own_pitch
    cdef floating* s
    cdef floating* x
    cdef floating* delta
    cdef floating* r
    cdef floating* xd
    cdef floating* P
    cdef floating* out
    cdef floating* x_in
    cdef const floating* x0
    cdef const floating* x_next
    cdef Optimizer own
    cdef Optimizer* rule = NULL
    cdef floating* M = NULL
    cdef floating* V = NULL
    cdef Step weighted = job.step[0]
    cdef bint frozen = opt.update_threshold != 0
    cdef bint plain = weighted.decay == 1 and weighted.shrink == 0 and not frozen
    cdef bint first_ready = False
    cdef double loss, total = 0.0
    cdef double norms[2]
    norms[0] = norms[1] = 0.0
    for l in range(L):
        units += net.d[l + 1]
    s, x, delta, r, xd = room, room + units, room + 2 * units, room + 3 * units, room + 4 * units
    own_pieces(net, job.split, T, t, per_line, W, params, NULL, TAKE, opt, 0)
    if job.rule != NULL:
        own = job.rule[0]
        rule = &own
        M, V = W + job.own_pitch, W + 2 * job.own_pitch
        own_pieces(net, job.split, T, t, per_line, M, <floating*>own.m, NULL, TAKE, opt, 0)
        own_pieces(net, job.split, T, t, per_line, V, <floating*>own.v, NULL, TAKE, opt, 0)
    k = 0
    while k < n:
        row = job.order[k]
        x0 = X + row * d0
        if k + PREFETCH_AHEAD < n:
            ahead = job.order[k + PREFETCH_AHEAD]
            fastmlp_prefetch(X + ahead * d0, d0 * sizeof(floating))
            fastmlp_prefetch(Y + ahead * dL, dL * sizeof(floating))
        x_next = X + job.order[k + 1] * d0 if plain and k + 1 < n else NULL
        if opt.weight != NULL:
            weighted.scale = job.step.scale * opt.weight[row]
        if opt.norms != NULL:
            add_own_norms(net, job.split, T, t, per_line, W, norms)
        if rule != NULL:
            next_update(rule)
        if frozen:
            memcpy(before, W, job.own_pitch * sizeof(floating))
        # Forward: the own units of layer 1, then for each layer l >= 2 the own part of its
        # sums, exchanged and added in the parts' order; each thread keeps theta(s) of its
        # own hidden units only (the output layer whole).
        if not first_ready:
            split_forward_first(W, x0, d0, pitch, 0, a1 - a0, s + a0)
        top = 0
        for l in range(L):
            if l > 0:
                out = s + top
                partial_sums(W + own_at(net, job.split, T, t, l, per_line), x_in + p0, p1 - p0,
                             net.d[l + 1], slot_of(job, meetings, t, kind))
                meet(job, t, meetings)
                P = slot_of(job, meetings, 0, kind)
                for j in range(net.d[l + 1]):
                    out[j] = P[j]
                for u in range(1, T):
                    P = slot_of(job, meetings, u, kind)
                    for j in range(net.d[l + 1]):
                        out[j] += P[j]
                meetings += 1
            if l == L - 1:
                activate(net.act[l], net.act_param + 4 * l, s + top, x + top, dL)
                break
            i0, i1 = job.split[l * (T + 1) + t], job.split[l * (T + 1) + t + 1]
            activate(net.act[l], net.act_param + 4 * l, s + top + i0, x + top + i0, i1 - i0)
            x_in = x + top
            if drops(net, opt, l):
                drop_units(opt, l, top + i0, opt.position + k, x + top + i0, r + top + i0, xd + top + i0,
                           i1 - i0)
                x_in = xd + top
            p0, p1 = i0, i1
            top += net.d[l + 1]
        loss = output_delta(net, s + top, x + top, Y + row * dL, delta + top)
        # Backward: for l = L..2, the own rows of W^(l) from the whole delta^(l), forming
        # delta^(l-1) of the own units in the same pass; a hidden delta^(l-1) is then
        # gathered whole (one exchange) for W^(l-1)'s rows, except delta^(1), whose
        # columns of W^(1) are the thread's own.
        out = delta + top
        for l in range(L - 1, 0, -1):
            i0, i1 = job.split[(l - 1) * (T + 1) + t], job.split[(l - 1) * (T + 1) + t + 1]
            top -= net.d[l]
            at = own_at(net, job.split, T, t, l, per_line)
            x_in = (xd if drops(net, opt, l - 1) else x) + top
            split_output_rows(W + at, M + at if rule != NULL else M, V + at if rule != NULL else V, x_in + i0, 0,
                              i1 - i0, net.d[l + 1], out, delta + top + i0, t == 0, &weighted, rule)
            times_theta_prime(net.act[l - 1], net.act_param + 4 * (l - 1), s + top + i0, x + top + i0,
                              delta + top + i0, i1 - i0)
            if drops(net, opt, l - 1):
                scale_by(delta + top + i0, r + top + i0, i1 - i0)
            if l > 1:
                memcpy(slot_of(job, meetings, t, kind), delta + top + i0, (i1 - i0) * sizeof(floating))
                meet(job, t, meetings)
                for u in range(T):
                    b0, b1 = job.split[(l - 1) * (T + 1) + u], job.split[(l - 1) * (T + 1) + u + 1]
                    if u != t:
                        memcpy(delta + top + b0, slot_of(job, meetings, u, kind), (b1 - b0) * sizeof(floating))
                meetings += 1
                out = delta + top
        split_input_columns(W, M, V, x0, x_next, d0, pitch, 0, a1 - a0, delta + a0, &weighted, rule, s + a0)
        if opt.weight != NULL:
            loss *= opt.weight[row]
        if not isfinite(loss):
            break
        if frozen:
            own_pieces(net, job.split, T, t, per_line, W, params, before, KEEP_FROZEN, opt, opt.position + k)
        first_ready = x_next != NULL
        total += loss
        k += 1
    job.own_norms[2 * t], job.own_norms[2 * t + 1] = norms[0], norms[1]
    if t == 0:
        job.done = k
        job.loss_sum = total
        if rule != NULL:
            job.t = rule.t


cdef void give_back(SplitEpoch* job, const floating* kind) noexcept nogil:
    """Every thread's own weights and moments back into the flat params, m and v, on the
    caller after the threads have finished (two threads writing the neighbouring parts of
    the same rows would lose the lines to each other, as in the steps), and the threads'
    norms into opt.norms, in the threads' order."""
    cdef int t
    cdef Py_ssize_t per_line = LINE_BYTES // sizeof(floating)
    cdef floating* W
    for t in range(job.T):
        if job.opt.norms != NULL:
            job.opt.norms[0] += job.own_norms[2 * t]
            job.opt.norms[1] += job.own_norms[2 * t + 1]
        W = <floating*>job.room + t * job.room_pitch + job.room_pitch - 4 * job.own_pitch
        own_pieces(job.net, job.split, job.T, t, per_line, W, <floating*>job.params, NULL, GIVE_BACK,
                   job.opt, 0)
        if job.rule != NULL:
            own_pieces(job.net, job.split, job.T, t, per_line, W + job.own_pitch, <floating*>job.rule.m,
                       NULL, GIVE_BACK, job.opt, 0)
            own_pieces(job.net, job.split, job.T, t, per_line, W + 2 * job.own_pitch, <floating*>job.rule.v,
                       NULL, GIVE_BACK, job.opt, 0)


cdef void split_epoch_d(void* job, int t) noexcept nogil:
    split_epoch(<SplitEpoch*>job, t, <const double*>NULL)


cdef void split_epoch_f(void* job, int t) noexcept nogil:
    split_epoch(<SplitEpoch*>job, t, <const float*>NULL)


def split_supported(Architecture arch):
    """Why the split per-sample kernels cannot train this network (a sentence), or None if
    they can: hidden layers whose activation is unit by unit (not softmax)."""
    cdef int l
    if arch.net.L < 2:
        return "the network has no hidden layer"
    for l in range(arch.net.L - 1):
        if arch.net.act[l] == SOFTMAX:
            return "a softmax hidden layer couples its units"
    return None


def split_boundaries(sizes, int T, Py_ssize_t itemsize):
    """split_of for each hidden layer of a network of ``sizes`` = d^(0..L), back to back:
    (L - 1) x (T + 1) boundaries."""
    hidden = list(sizes)[1:len(sizes) - 1]
    return [b for units in hidden for b in split_of(units, T, itemsize)]


cdef tuple run_split(Team team, Architecture arch, floating[::1] params, const floating[:, ::1] X,
                     const floating[:, ::1] Y, const Py_ssize_t[::1] order, Step* step,
                     Options* opt, Optimizer* rule):
    """One call of the split kernel on ``team``'s threads; returns (summed loss, samples
    completed, the optimizer's update count)."""
    why = split_supported(arch)
    if why is not None:
        raise ValueError(f"the split per-sample kernel cannot train this network: {why}")
    cdef int L = arch.net.L
    if X.shape[1] != arch.d[0] or Y.shape[1] != arch.d[L] or params.shape[0] != arch.n_params:
        raise ValueError("params, X and Y do not fit the architecture")
    cdef int T = team.size
    cdef Py_ssize_t size = sizeof(floating), per_line = LINE_BYTES // sizeof(floating)
    cdef Py_ssize_t units = arch.units - arch.d[0]
    cdef Py_ssize_t widest = max([arch.d[l] for l in range(2, L + 1)])
    split = np.array(split_boundaries(np.asarray(arch.d), T, size), dtype=np.intp)
    cdef const Py_ssize_t[::1] bounds = split
    cdef SplitEpoch job
    job.net = &arch.net
    job.team = &team.team
    job.params = &params[0]
    job.X = &X[0, 0]
    job.Y = &Y[0, 0]
    job.order = &order[0]
    job.n = order.shape[0]
    job.step = step
    job.opt = opt
    job.rule = rule
    job.slot_bytes = round_up(WORD_BYTES + widest * size, LINE_BYTES)
    job.own_pitch = round_up(max([own_at(&arch.net, &bounds[0], T, t, L, per_line) for t in range(T)]),
                             PAGE_BYTES // size)
    # Each thread's room: s, x, delta, r and xd, then its blocks of the weights, m, v and
    # the weights before the step (update dropout), each starting on a page.
    job.room_pitch = round_up(5 * units, PAGE_BYTES // size) + 4 * job.own_pitch
    job.part = team.pages(round_up(2 * T * job.slot_bytes, PAGE_BYTES) + T * job.room_pitch * size)
    job.room = <char*>job.part + round_up(2 * T * job.slot_bytes, PAGE_BYTES)
    job.split = &bounds[0]
    job.T = T
    job.done = 0
    job.loss_sum = 0.0
    job.t = rule.t if rule != NULL else 0
    if job.n == 0:
        return 0.0, 0, job.t
    clear_words(&job)
    with nogil:
        if floating is double:
            fastmlp_team_run(&team.team, split_epoch_d, &job)
        else:
            fastmlp_team_run(&team.team, split_epoch_f, &job)
        give_back(&job, <const floating*>NULL)
    return job.loss_sum, job.done, job.t


def split_sgd_epoch(Team team, Architecture arch, floating[::1] params, const floating[:, ::1] X,
                    const floating[:, ::1] Y, const Py_ssize_t[::1] order, double eta,
                    double l2=0.0, double l1=0.0, *, const double[::1] weight=None,
                    const double[::1] dropout=None, double update_dropout=0.0, uint64_t key=0,
                    Py_ssize_t position=0, double[::1] norms=None):
    """sgd_epoch on ``team``'s threads, the hidden units split between them (see
    split_supported). Returns (summed loss, samples completed)."""
    cdef Options opt = options_of(arch, X.shape[0], weight, dropout, update_dropout, key, position, norms)
    cdef Step step = sgd_step_of(eta, l2, l1)
    loss, done, _ = run_split(team, arch, params, X, Y, order, &step, &opt, <Optimizer*>NULL)
    return loss, done


def split_optimizer_epoch(Team team, Architecture arch, floating[::1] params,
                          const floating[:, ::1] X, const floating[:, ::1] Y,
                          const Py_ssize_t[::1] order, str kind, double eta, double l2, double l1,
                          double mu, double beta1, double beta2, double epsilon, floating[::1] m,
                          floating[::1] v, long long t, *, const double[::1] weight=None,
                          const double[::1] dropout=None, double update_dropout=0.0,
                          uint64_t key=0, Py_ssize_t position=0, double[::1] norms=None):
    """optimizer_epoch with batch size 1 on ``team``'s threads (moments m and v split like
    the weights). Returns (summed loss, samples completed, t)."""
    if m.shape[0] != params.shape[0] or v.shape[0] != params.shape[0]:
        raise ValueError("the moments m and v must have one entry per weight")
    cdef Options opt = options_of(arch, X.shape[0], weight, dropout, update_dropout, key, position, norms)
    cdef Optimizer rule = Optimizer(OPTIMIZER_CODES[kind], eta, l2, l1, mu, beta1, beta2, epsilon, t,
                                    eta, &m[0], &v[0])
    return run_split(team, arch, params, X, Y, order, &GRADIENT, &opt, &rule)


cdef void meet_only(void* job, int t) noexcept nogil:
    cdef SplitEpoch* exchanges = <SplitEpoch*>job
    cdef Py_ssize_t k
    for k in range(exchanges.n):
        meet(exchanges, t, k)


def exchange_seconds(Team team, Py_ssize_t rounds):
    """Wall seconds of ``rounds`` meetings of the team's threads with no work between them:
    what one exchange of the split kernels costs (bench/README.md models the speedup with it)."""
    from time import perf_counter
    cdef SplitEpoch job
    job.T, job.n, job.slot_bytes = team.size, rounds, LINE_BYTES
    job.part = team.pages(2 * job.T * job.slot_bytes)
    clear_words(&job)
    start = perf_counter()
    with nogil:
        fastmlp_team_run(&team.team, meet_only, &job)
    return perf_counter() - start
