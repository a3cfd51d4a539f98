"""Sparse inputs: scipy.sparse matrices and arrays turned, once, into the compressed rows the
kernels read.

A sample of a bag-of-words set has a few hundred nonzero inputs among a hundred thousand.
The kernels then touch only the rows of W^(1) for those inputs (the first layer's sums
s_j^(1) = w_0j + sum over the nonzero x_i of w_ij x_i, and the same rows of its update), so
a step costs in proportion to the nonzeros. ``SparseRows`` holds the CSR arrays in the
types the kernels take: values in the network's dtype, column numbers as int32, row starts
as numpy.intp; ``sparse_samples`` validates and converts whatever scipy.sparse format the
user gives.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .. import _checks as checks
from .memory import require

# The kernels read column numbers as int32: at most this many inputs.
MAX_COLUMNS = np.iinfo(np.int32).max


def issparse(X) -> bool:
    """Whether X is a scipy.sparse matrix or array (scipy.sparse is never imported here:
    if nothing has imported it, X cannot be one)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


@dataclass(frozen=True, eq=False)
class SparseRows:
    """n samples of d inputs as compressed sparse rows: the nonzeros of row k are
    ``data[indptr[k]:indptr[k + 1]]``, in the columns ``indices[indptr[k]:indptr[k + 1]]``,
    each column at most once in a row (the kernels' lazy penalties count on it)."""

    data: np.ndarray  # (nnz,), the network's dtype
    indices: np.ndarray  # (nnz,), int32, each in 0..d-1
    indptr: np.ndarray  # (n + 1,), numpy.intp, from 0 up to nnz
    shape: tuple

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1] - self.indptr[0])

    @property
    def csr(self) -> tuple:
        """(data, indices, indptr), the arrays the kernels take."""
        return self.data, self.indices, self.indptr

    def __getitem__(self, rows) -> SparseRows:
        """The rows a slice, a boolean mask or an array of row numbers selects, as new
        SparseRows (a slice with step 1 shares data and indices)."""
        if isinstance(rows, slice) and rows.step in (None, 1):
            start, stop, _ = rows.indices(len(self))
            stop = max(start, stop)
            indptr = self.indptr[start : stop + 1]
            first, last = indptr[0], indptr[-1]
            return SparseRows(self.data[first:last], self.indices[first:last],
                              np.ascontiguousarray(indptr - first), (stop - start, self.shape[1]))
        picked = np.arange(len(self))[rows]
        counts = self.indptr[picked + 1] - self.indptr[picked]
        indptr = np.zeros(len(picked) + 1, dtype=np.intp)
        np.cumsum(counts, out=indptr[1:])
        # The positions of the picked rows' entries, row after row.
        where = np.repeat(self.indptr[picked] - indptr[:-1], counts) + np.arange(indptr[-1])
        return SparseRows(self.data[where], self.indices[where], indptr, (len(picked), self.shape[1]))

    def toarray(self) -> np.ndarray:
        """The dense (n, d) array."""
        X = np.zeros(self.shape, dtype=self.data.dtype)
        rows = np.repeat(np.arange(len(self)), np.diff(self.indptr))
        np.add.at(X, (rows, self.indices), self.data)
        return X


def sparse_samples(X, d0, dtype):
    """A scipy.sparse X (CSR, CSC, COO or any other format; matrix or array) as SparseRows of
    shape (n, d0) and ``dtype``, and whether it was one sample (a 1-D sparse array). Raises
    ValueError or TypeError, naming the problem, for a wrong shape, an empty X, values that
    are not real numbers or not finite, or broken CSR arrays (column numbers out of range,
    row starts out of order). Entries of one row in the same column are summed (in a copy)."""
    if X.dtype.kind == "c":
        raise TypeError(f"X must be real, got dtype {X.dtype}")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must be numeric, got dtype {X.dtype}")
    single = X.ndim == 1
    if single:
        X = X.reshape(1, -1)
    if X.ndim != 2 or X.shape[1] != d0:
        shape = X.shape[1:] if single else X.shape
        raise ValueError(f"X has shape {shape}; expected ({d0},) or (n, {d0}) for d^(0) = {d0} inputs")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError("X is empty: no samples")
    if d0 > MAX_COLUMNS:
        raise ValueError(f"sparse X takes at most {MAX_COLUMNS} inputs, the network has {d0}")
    if X.format != "csr":
        require(X.nnz * (np.dtype(dtype).itemsize + 8), "a CSR copy of the sparse X")
        X = X.tocsr()
    n, nnz = X.shape[0], X.indptr[-1]
    indptr = np.asarray(X.indptr, dtype=np.intp)
    if indptr.shape != (n + 1,) or indptr[0] != 0 or (np.diff(indptr) < 0).any() or nnz > len(X.indices) \
            or nnz > len(X.data):
        raise ValueError("sparse X has broken row starts (indptr): they must rise from 0 to the number of nonzeros")
    indices = np.asarray(X.indices[:nnz])
    if nnz and (indices.min() < 0 or indices.max() >= d0):
        raise ValueError(f"sparse X has column numbers outside 0..{d0 - 1}")
    if not X.has_canonical_format:  # a column repeated in a row, or unsorted: summed and sorted in a copy
        require(nnz * (X.data.itemsize + 8), "a copy of the sparse X with its repeated entries summed")
        X = X.copy()
        X.sum_duplicates()
        nnz, indptr, indices = X.nnz, np.asarray(X.indptr, dtype=np.intp), X.indices
    with np.errstate(over="ignore"):  # a value too large for float32 is refused just below
        data = np.ascontiguousarray(X.data[:nnz], dtype=dtype)
    if not checks.all_finite(data):
        raise ValueError(f"X contains NaN or infinity (or values that overflow {np.dtype(dtype).name})")
    rows = SparseRows(data, np.ascontiguousarray(indices, dtype=np.int32), indptr, (n, d0))
    return rows, single
