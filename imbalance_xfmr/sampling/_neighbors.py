"""Exact Euclidean k-nearest-neighbour search that returns what scikit-learn returns.

imbalanced-learn builds ``sklearn.neighbors.NearestNeighbors(n_neighbors=k)`` with ``algorithm='auto'``.
scikit-learn 1.9 then searches with a KD-tree when X is dense with at most 15 features and
``k < n_samples_fit // 2``, and by brute force otherwise (the ``ArgKmin`` pairwise-distances reduction for C-ordered
float32/float64 data, ``pairwise_distances_chunked`` otherwise). Without ties every exact search agrees on the
neighbours and their order; with ties (duplicate rows, or distances closer than scikit-learn's own rounding error)
the order is an artefact of each path's heap and introsort, and of its thread layout.

:class:`ExactNearestNeighbors` therefore works in two stages:

1. A fast blocked search for a few spare candidates per query: scores ``||f||^2 - 2 q.f`` from one float32 GEMM
   per cache-sized tile (on data centred on the fit set's mean and scaled), a partial sort of the first tile for a
   per-query threshold, then one comparison per score against the tightening threshold; query blocks run on
   parallel threads with a single-threaded BLAS each. When the queries are the fitted array itself (SMOTE, ADASYN)
   each tile of dot products serves both of its blocks, halving the GEMM work. The candidates' exact squared
   distances are then computed in float64 (difference, square and sum feature by feature, which is bit for bit
   what the KD-tree computes) and stably sorted.
2. Rows whose answer could depend on tie-breaking (two of the first ``k + 1`` exact distances closer than
   scikit-learn's worst-case rounding error) or whose candidate pool could miss a neighbour (float32 rounding) are
   re-queried with scikit-learn's own search, configured exactly as the full query would have been (same tree or
   same ``ArgKmin`` parallel strategy), so their arbitrary tie order is reproduced. On continuous data this is a
   handful of rows; on data full of duplicates it can be most of them, and then it costs what scikit-learn costs.

Sparse input goes straight to scikit-learn's brute search: its tie order (``argpartition`` + quicksort) is not
reproducible otherwise, and imbalanced-learn's sparse support is a convenience rather than a fast path.
"""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from numbers import Integral
from typing import Any

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.base import BaseEstimator, clone
from sklearn.metrics._pairwise_distances_reduction import ArgKmin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils._param_validation import HasMethods, Interval
from threadpoolctl import ThreadpoolController

# scikit-learn's NearestNeighbors(algorithm='auto') uses a KD-tree up to this many features.
_KD_TREE_MAX_FEATURES = 15
# Spare candidates kept per query beyond the k + 1 needed, so float32 rounding rarely forces a re-query.
_SPARE_CANDIDATES = 4
# A tile of scores is _QUERY_BLOCK queries x _FIT_TILE fit rows: 2 MiB of float32, written by the GEMM and read
# by the comparison while still in cache.
_QUERY_BLOCK = 512
_FIT_TILE = 1024
# Columns of the first tile whose partial sort seeds each query's threshold (a partial sort costs an order of
# magnitude more per score than the comparison the other columns get).
_SEED_COLUMNS = 256
# Rows per block of the symmetric self-search (tiles of _SELF_TILE^2 float32 = 4 MiB; measured best of 256-3072).
_SELF_TILE = 1024
# Below this many scores (queries x fit rows) a search runs on the calling thread.
_PARALLEL_MIN_SCORES = 1 << 22
# Past this many threshold survivors per wanted candidate, a block falls back to a plain top-k.
_MAX_SURVIVORS_PER_CANDIDATE = 16
# Safety factor on the textbook worst-case rounding bound of a length-d dot product, (d + 2) * eps.
_ROUNDING_SAFETY = 8.0


# ``_parameter_constraints`` entry of a neighbours parameter (imbalanced-learn's): a count or a kNN estimator.
NEIGHBORS_PARAMETER = [Interval(Integral, 1, None, closed="left"), HasMethods(["kneighbors", "kneighbors_graph"])]


def neighbors_estimator(n_neighbors: Any, additional_neighbor: int = 0) -> Any:
    """The kNN estimator behind a neighbours parameter, like ``imblearn.utils.check_neighbors_object``.

    An int ``n`` gives ``ExactNearestNeighbors(n + additional_neighbor)`` (the sample itself usually comes back
    as its own first neighbour, hence the extra one); an estimator with ``kneighbors`` is cloned and used as is.
    """
    if isinstance(n_neighbors, Integral):
        return ExactNearestNeighbors(n_neighbors=n_neighbors + additional_neighbor)
    return clone(n_neighbors)


def sklearn_algorithm(X, n_neighbors: int) -> str:
    """The search ``NearestNeighbors(n_neighbors=n_neighbors, algorithm='auto').fit(X)`` uses: 'kd_tree' or 'brute'.

    Mirrors scikit-learn 1.9's rule for the Euclidean metric: sparse input, more than 15 features, or
    ``n_neighbors >= n_samples // 2`` means brute force; anything else a KD-tree.
    """
    n_samples, n_features = X.shape
    if sparse.issparse(X) or n_features > _KD_TREE_MAX_FEATURES or n_neighbors >= n_samples // 2:
        return "brute"
    return "kd_tree"


class ExactNearestNeighbors(BaseEstimator):
    """Drop-in for ``sklearn.neighbors.NearestNeighbors(n_neighbors)`` (Euclidean, ``algorithm='auto'``).

    ``kneighbors`` returns the same indices, in the same order, as scikit-learn 1.9, ties included, and the same
    distances bit for bit. On the brute-force path scikit-learn's distances carry the rounding of its
    ``||q||^2 - 2 q.f + ||f||^2`` GEMM expansion (a row's distance to itself is ~1e-8, not 0, and NearMiss sorts on
    such values), which only its own kernel reproduces: there, a query that asks for distances is answered by
    scikit-learn's ``ArgKmin`` directly. Index-only queries, what every sampler but NearMiss makes, take the fast path.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours returned by :meth:`kneighbors` (and the ``k`` scikit-learn's algorithm choice sees).
    n_jobs : int or None, default=None
        Accepted for API compatibility with ``NearestNeighbors``; the search uses as many threads as OpenMP would
        (``OMP_NUM_THREADS`` or the CPU count), like scikit-learn's.
    """

    def __init__(self, n_neighbors: int = 5, n_jobs: int | None = None):
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs

    def fit(self, X, y=None) -> "ExactNearestNeighbors":
        """Store X, an ndarray or CSR/CSC matrix of shape (n_samples, n_features), as the points to search."""
        if sparse.issparse(X):
            self._fit_X = X.tocsr()
        else:
            self._fit_X = np.ascontiguousarray(X)
            if self._fit_X.ndim != 2:
                raise ValueError(f"Expected a 2-D array of shape (n_samples, n_features), got shape {X.shape}.")
        self.n_samples_fit_ = self._fit_X.shape[0]
        self.n_features_in_ = self._fit_X.shape[1]
        if self.n_samples_fit_ == 0:
            raise ValueError("n_samples must be greater than 0: cannot search neighbours among zero points.")
        self.algorithm_ = sklearn_algorithm(self._fit_X, self.n_neighbors)
        self._reference = None
        return self

    def kneighbors(self, X, n_neighbors: int | None = None, return_distance: bool = True):
        """Neighbours of every row of X among the fitted points.

        Returns ``(distances, indices)``, both of shape (n_queries, n_neighbors) (float64 and intp), nearest first,
        or only ``indices`` when ``return_distance`` is False. A query row that is also a fitted row is its own
        neighbour, exactly as with ``NearestNeighbors.kneighbors(X)``.
        """
        return self.kneighbors_rows(X, None, n_neighbors=n_neighbors, return_distance=return_distance)

    def kneighbors_rows(self, X, rows, n_neighbors: int | None = None, return_distance: bool = True):
        """``kneighbors(X)`` restricted to ``X[rows]``, computed only for those rows.

        Equal to ``kneighbors(X, ...)[..., rows, :]``: ties among the selected rows are broken as scikit-learn breaks
        them when it is asked for all of X (its parallel strategy depends on the full number of queries).
        ``rows`` is an integer index array, or None for every row.
        """
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        n_fit = self.n_samples_fit_
        if k > n_fit:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, n_samples_fit = {n_fit}, "
                f"n_samples = {X.shape[0]}: ask for fewer neighbours or provide more samples."
            )
        n_queries_total = X.shape[0]
        if sparse.issparse(X):
            X = X.tocsr()
        else:
            X = np.ascontiguousarray(X)
        queries = X if rows is None else X[rows]
        if queries.shape[0] == 0:
            empty = np.empty((0, k), dtype=np.float64), np.empty((0, k), dtype=np.intp)
            return empty if return_distance else empty[1]
        exact_distances_needed = return_distance and self.algorithm_ == "brute"
        if exact_distances_needed or sparse.issparse(queries) or sparse.issparse(self._fit_X):
            dist, ind = self._reference_search(queries, k, n_queries_total)
        else:
            dist, ind = self._dense_search(queries, k, n_queries_total)
        return (dist, ind) if return_distance else ind

    def _dense_search(self, Q: np.ndarray, k: int, n_queries_total: int):
        F = self._fit_X
        n_q, n_features = Q.shape
        n_fit = F.shape[0]
        dist = np.empty((n_q, k), dtype=np.float64)
        ind = np.empty((n_q, k), dtype=np.intp)
        needs_reference = np.zeros(n_q, dtype=bool)

        # The candidate pass runs in float32 (twice float64's GEMM speed; the exact pass settles the order) on data
        # centred on the fit set's mean (so ||f||^2, which float32 rounding scales with, stays small) and scaled
        # to [-1, 1] (so float32 neither overflows nor underflows).
        center = F.mean(axis=0, dtype=np.float64)
        F_c = F - center
        scale = float(np.abs(F_c).max()) or 1.0
        F_c = (F_c / scale).astype(np.float32)
        F_c_sq = np.einsum("ij,ij->i", F_c, F_c, dtype=np.float64)
        # One GEMM gives the scores ||f||^2 - 2 q.f: [q, 1] . [-2 f, ||f||^2].
        F_aug = np.hstack([-2.0 * F_c, F_c_sq.astype(np.float32)[:, None]])
        approx_err = _ROUNDING_SAFETY * (n_features + 2) * float(np.finfo(np.float32).eps)
        max_F_c_sq = float(F_c_sq.max())
        # scikit-learn's brute search rounds ||q||^2 - 2 q.f + ||f||^2 on the raw data; its KD-tree only the sum.
        F_sq_max = float(np.einsum("ij,ij->i", F, F, dtype=np.float64).max())
        reference_err = _ROUNDING_SAFETY * (n_features + 2) * float(np.finfo(np.float64).eps)
        n_keep = min(n_fit, k + 1)
        n_cand = min(n_fit, k + 1 + _SPARE_CANDIDATES)
        n_threads = _openmp_effective_n_threads()
        # Querying the fitted points themselves (SMOTE, ADASYN): each distance serves both of its rows.
        symmetric = Q is F and n_fit >= 2 * _SELF_TILE and n_cand <= _SELF_TILE // 2
        if symmetric:
            with _single_threaded_blas():
                self_val, self_idx = _self_candidates(F_c, F_c_sq.astype(np.float32), n_cand, n_threads)

        def search_block(start: int) -> None:
            stop = min(n_q, start + _QUERY_BLOCK)
            Q_block = Q[start:stop]
            Q_c = ((Q_block - center) / scale).astype(np.float32)
            if symmetric:
                cand_val, cand_idx = self_val[start:stop], self_idx[start:stop]
            else:
                Q_aug = np.hstack([Q_c, np.ones((stop - start, 1), dtype=np.float32)])
                cand_val, cand_idx = _candidates(Q_aug, F_aug, n_cand)
            exact = _squared_distances(Q_block, F, cand_idx, sequential=self.algorithm_ == "kd_tree")
            order = np.argsort(exact, axis=1, kind="stable")
            exact = np.take_along_axis(exact, order, axis=1)
            cand_idx = np.take_along_axis(cand_idx, order, axis=1)

            # Anything outside the pool is at least pool_floor (squared) from its query.
            incomplete = np.zeros(stop - start, dtype=bool)
            if n_cand < n_fit:
                Q_c_sq = np.einsum("ij,ij->i", Q_c, Q_c, dtype=np.float64)
                # The symmetric search's values are squared distances already; _candidates' lack ||q||^2.
                pool_floor = cand_val.max(axis=1).astype(np.float64)
                if not symmetric:
                    pool_floor += Q_c_sq
                pool_floor -= approx_err * (Q_c_sq + max_F_c_sq) + np.finfo(np.float64).tiny
                incomplete = exact[:, n_keep - 1] >= pool_floor * scale**2
            if self.algorithm_ == "brute":
                Q_sq = np.einsum("ij,ij->i", Q_block, Q_block, dtype=np.float64)
                tie_tol = (reference_err * (Q_sq + F_sq_max))[:, None]
            else:
                tie_tol = reference_err * exact[:, 1:n_keep]
            ambiguous = (np.diff(exact[:, :n_keep], axis=1) <= tie_tol).any(axis=1)
            needs_reference[start:stop] = incomplete | ambiguous
            ind[start:stop] = cand_idx[:, :k]
            dist[start:stop] = np.sqrt(exact[:, :k])

        blocks = range(0, n_q, _QUERY_BLOCK)
        if n_q * n_fit < _PARALLEL_MIN_SCORES:
            for start in blocks:  # starting threads would cost more than the search
                search_block(start)
        else:
            # Query blocks run on parallel threads (numpy releases the GIL), each with a single-threaded BLAS on
            # tiles that stay in cache, the layout scikit-learn's own ArgKmin uses.
            with _single_threaded_blas(), ThreadPoolExecutor(n_threads) as pool:
                list(pool.map(search_block, blocks))

        redo = np.flatnonzero(needs_reference)
        if redo.size:
            dist[redo], ind[redo] = self._reference_search(Q[redo], k, n_queries_total)
        return dist, ind

    def _reference_search(self, Q, k: int, n_queries_total: int):
        """scikit-learn's own search for the rows Q, configured as for a query of ``n_queries_total`` rows."""
        F = self._fit_X
        if self.algorithm_ == "brute" and ArgKmin.is_usable_for(Q, F, "euclidean"):
            return ArgKmin.compute(
                X=Q,
                Y=F,
                k=k,
                metric="euclidean",
                strategy=_argkmin_strategy(n_queries_total, F.shape[0]),
                return_distance=True,
            )
        if self._reference is None:
            self._reference = NearestNeighbors(n_neighbors=self.n_neighbors, algorithm=self.algorithm_).fit(F)
        return self._reference.kneighbors(Q, n_neighbors=k, return_distance=True)


_blas_controller: ThreadpoolController | None = None


def _single_threaded_blas() -> Any:
    """``threadpool_limits(limits=1, user_api='blas')`` with the loaded libraries looked up once per process (a
    fresh ``threadpool_limits`` scans the process's libraries again, about 2 ms a search)."""
    global _blas_controller
    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


def _argkmin_strategy(n_queries: int, n_fit: int) -> str:
    """The parallel strategy ``ArgKmin(strategy='auto')`` picks for n_queries x n_fit (scikit-learn 1.9's rule)."""
    chunk_size = max(20, get_config().get("pairwise_dist_chunk_size", 256))
    if n_fit < n_queries or 4 * chunk_size * _openmp_effective_n_threads() < n_queries:
        return "parallel_on_X"
    return "parallel_on_Y"


def _candidates(Q_aug: np.ndarray, F_aug: np.ndarray, n_cand: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_cand`` fitted rows with the smallest approximate ``||f||^2 - 2 q.f`` for each query (unordered).

    Returns ``(scores, indices)``, both (n_queries, n_cand). A partial sort of the first tile of fit rows gives each
    query a threshold (its ``n_cand``-th smallest score so far); later tiles only keep the scores at or under it,
    found with one comparison, which is several times cheaper per score than a partial sort, and the threshold
    tightens tile after tile.
    """
    n_fit = F_aug.shape[0]
    first_stop = min(n_fit, max(n_cand, _SEED_COLUMNS))
    scores = Q_aug @ F_aug[:first_stop].T
    best_idx = _smallest_positions(scores, n_cand)[1].reshape(-1, n_cand)
    best_val = np.take_along_axis(scores, best_idx, axis=1)
    threshold = best_val.max(axis=1)
    for f_start in range(first_stop, n_fit, _FIT_TILE):
        f_stop = min(n_fit, f_start + _FIT_TILE)
        scores = Q_aug @ F_aug[f_start:f_stop].T
        # flatnonzero on the flat mask: a 2-D np.nonzero costs an order of magnitude more per entry.
        rows, cols = np.divmod(np.flatnonzero(scores <= threshold[:, None]), f_stop - f_start)
        if rows.size > _MAX_SURVIVORS_PER_CANDIDATE * n_cand * scores.shape[0]:
            # A loose threshold (a first tile far from the queries): a partial sort is cheaper than the merge.
            rows, cols = _smallest_positions(scores, n_cand)
        _merge_candidates(best_val, best_idx, rows, scores[rows, cols], cols + f_start, threshold)
    return best_val, best_idx


def _self_candidates(X: np.ndarray, sq: np.ndarray, n_cand: int, n_threads: int) -> tuple[np.ndarray, np.ndarray]:
    """``_candidates`` of every row of X among the rows of X, computing each tile of distances once.

    X (n, d) float32 and its squared row norms ``sq`` (n,); returns ``(values, indices)``, both (n, n_cand), where a
    value is the approximate squared distance ``sq_a + sq_b - 2 x_a.x_b`` (not the score ``_candidates`` returns:
    here ``||q||^2`` is included, so one tile serves both directions as it is). Rows are cut into blocks; diagonal
    tiles seed every row's candidates, then each off-diagonal tile ``D = [X_i, 1, sq_i] [-2 X_j, sq_j, 1]^T`` gives
    block i's rows against block j (compared with block i's thresholds, one per row of D) and block j's rows against
    block i (block j's thresholds, one per column of D). Every block's updates run in the order of
    :func:`_round_robin`'s rounds, so the result does not depend on the thread timing; a tile starts as soon as the
    previous tiles of both its blocks are done (no barrier between rounds, so a thread slowed by another process
    only holds up the tiles that wait for its own). Each thread writes its tiles and masks into buffers of its own,
    reused from tile to tile.
    """
    n = X.shape[0]
    bounds = np.linspace(0, n, max(1, n // _SELF_TILE) + 1).astype(np.intp)
    blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    ones = np.ones((n, 1), dtype=X.dtype)
    left = np.hstack([X, ones, sq[:, None]])
    right = np.hstack([-2.0 * X, sq[:, None], ones])
    best_val = np.empty((n, n_cand), dtype=np.float32)
    best_idx = np.empty((n, n_cand), dtype=np.intp)
    threshold = np.empty(n, dtype=np.float32)  # best_val.max(axis=1), kept up to date by every merge
    largest = int(np.diff(bounds).max())
    scratch = threading.local()

    def tile(rows_i: slice, rows_j: slice) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(scratch, "dist"):
            scratch.dist = np.empty(largest * largest, dtype=np.float32)
            scratch.mask = np.zeros(largest * largest + 8, dtype=bool)
        shape = (rows_i.stop - rows_i.start, rows_j.stop - rows_j.start)
        dist = scratch.dist[: shape[0] * shape[1]].reshape(shape)
        np.matmul(left[rows_i], right[rows_j].T, out=dist)
        return dist, scratch.mask

    def seed(i: int) -> None:
        rows = blocks[i]
        dist, mask = tile(rows, rows)
        n_seed = max(n_cand, _SEED_COLUMNS)
        cols = _smallest_positions(dist[:, :n_seed], n_cand)[1].reshape(-1, n_cand)
        best_val[rows] = np.take_along_axis(dist, cols, axis=1)
        best_idx[rows] = cols + rows.start
        threshold[rows] = best_val[rows].max(axis=1)
        hits, fit_pos = np.divmod(_hit_positions(dist, threshold[rows, None], mask), dist.shape[1])
        beyond = fit_pos >= n_seed  # the seed columns are in already
        hits, fit_pos = hits[beyond], fit_pos[beyond]
        _merge_candidates(
            best_val[rows], best_idx[rows], hits, dist[hits, fit_pos], fit_pos + rows.start, threshold[rows]
        )

    def pair(i: int, j: int) -> None:
        rows_i, rows_j = blocks[i], blocks[j]
        dist, mask = tile(rows_i, rows_j)
        budget = _MAX_SURVIVORS_PER_CANDIDATE * n_cand * dist.shape[0]

        # Block i's queries against block j: a threshold per row of the tile.
        hits, fit_pos = np.divmod(_hit_positions(dist, threshold[rows_i, None], mask), dist.shape[1])
        if hits.size > budget:
            hits, fit_pos = _smallest_positions(dist, n_cand)
        _merge_candidates(
            best_val[rows_i], best_idx[rows_i], hits, dist[hits, fit_pos], fit_pos + rows_j.start, threshold[rows_i]
        )

        # Block j's queries against block i: a threshold per column of the same tile.
        fit_pos, hits = np.divmod(_hit_positions(dist, threshold[None, rows_j], mask), dist.shape[1])
        if hits.size > budget:
            hits, fit_pos = _smallest_positions(np.ascontiguousarray(dist.T), n_cand)
        else:
            order = np.argsort(hits, kind="stable")  # survivors come fit-row-major
            hits, fit_pos = hits[order], fit_pos[order]
        _merge_candidates(
            best_val[rows_j], best_idx[rows_j], hits, dist[fit_pos, hits], fit_pos + rows_i.start, threshold[rows_j]
        )

    tasks: list[tuple[tuple[int, ...], Callable[[], None]]] = [((i,), partial(seed, i)) for i in range(len(blocks))]
    tasks += [((i, j), partial(pair, i, j)) for round_pairs in _round_robin(len(blocks)) for i, j in round_pairs]
    _run_in_block_order(tasks, len(blocks), n_threads)
    return best_val, best_idx


def _hit_positions(dist: np.ndarray, threshold: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sorted flat positions where ``dist <= threshold`` (broadcast), through ``mask``, a bool buffer of at least
    ``dist.size + 8`` entries.

    The hits are a few per thousand: the mask is searched eight bytes at a time (one uint64 word), and only the
    words that hold a hit are looked at byte by byte, several times cheaper than ``np.flatnonzero`` on the mask.
    """
    size = dist.size
    words = -(-size // 8)
    mask[size : 8 * words] = False  # the bytes past the tile in its last word (left over from a larger tile)
    np.less_equal(dist, threshold, out=mask[:size].reshape(dist.shape))
    hit_words = np.flatnonzero(mask[: 8 * words].view(np.uint64) != 0)  # (nonzero itself is slow on uint64)
    word_rows, bytes_in_word = np.nonzero(mask[: 8 * words].reshape(words, 8)[hit_words])
    return hit_words[word_rows] * 8 + bytes_in_word


def _run_in_block_order(
    tasks: list[tuple[tuple[int, ...], Callable[[], None]]], n_blocks: int, n_threads: int
) -> None:
    """Run ``tasks`` (``(blocks it updates, function)``, in a valid sequential order) on ``n_threads`` threads.

    Two tasks that share a block never run at the same time and run in list order; a task starts as soon as every
    earlier task of each of its blocks is done (the earliest such task first), so no thread waits at a barrier for
    work it does not depend on. The first exception raised by a task stops the others from starting and is
    re-raised here.
    """
    if n_threads <= 1 or len(tasks) <= 1:
        for _, function in tasks:
            function()
        return
    pending: list[deque[int]] = [deque() for _ in range(n_blocks)]
    for t, (touched, _) in enumerate(tasks):
        for b in touched:
            pending[b].append(t)

    def is_ready(t: int) -> bool:
        return all(pending[b][0] == t for b in tasks[t][0])

    ready = [t for t in range(len(tasks)) if is_ready(t)]
    heapq.heapify(ready)
    condition = threading.Condition()
    state: dict[str, Any] = {"left": len(tasks), "error": None}

    def worker() -> None:
        while True:
            with condition:
                while not ready and state["left"] and state["error"] is None:
                    condition.wait()
                if state["error"] is not None or not state["left"]:
                    return
                t = heapq.heappop(ready)
            try:
                tasks[t][1]()
            except BaseException as error:
                with condition:
                    state["error"] = error
                    condition.notify_all()
                return
            with condition:
                state["left"] -= 1
                for b in tasks[t][0]:
                    pending[b].popleft()
                for nxt in {pending[b][0] for b in tasks[t][0] if pending[b]}:
                    if is_ready(nxt):
                        heapq.heappush(ready, nxt)
                condition.notify_all()

    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(lambda _: worker(), range(n_threads)))
    if state["error"] is not None:
        raise state["error"]


def _round_robin(n_blocks: int) -> list[list[tuple[int, int]]]:
    """All pairs i < j of ``range(n_blocks)`` in rounds where each block appears at most once (circle method)."""
    players = list(range(n_blocks)) + ([-1] if n_blocks % 2 else [])
    rounds = []
    for _ in range(len(players) - 1):
        half = len(players) // 2
        rounds.append(
            [tuple(sorted((a, b))) for a, b in zip(players[:half], players[::-1][:half]) if a >= 0 and b >= 0]
        )
        players = [players[0], players[-1], *players[1:-1]]
    return rounds


def _smallest_positions(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) positions of the k smallest entries of each row of ``scores`` (k <= n_columns), row-major."""
    cols = np.argpartition(scores, k - 1, axis=1)[:, :k]
    return np.repeat(np.arange(scores.shape[0]), k), cols.reshape(-1)


def _merge_candidates(best_val, best_idx, rows, values, indices, threshold=None) -> None:
    """Keep, per query, the ``n_cand`` smallest of its current candidates and the new (row, value, index) triples.

    ``best_val``/``best_idx`` (n_queries, n_cand) are updated in place (they may be views of larger arrays), for the
    rows that have new triples only, and so is ``threshold`` (n_queries,), each row's largest kept value, when given;
    ``rows`` is sorted (row-major order).
    """
    if rows.size == 0:
        return
    n_cand = best_val.shape[1]
    counts = np.bincount(rows, minlength=best_val.shape[0])
    hit = np.flatnonzero(counts)
    counts = counts[hit]
    slot = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    local = np.repeat(np.arange(hit.size), counts)
    pool_val = np.full((hit.size, n_cand + int(counts.max())), np.inf, dtype=best_val.dtype)
    pool_idx = np.zeros(pool_val.shape, dtype=best_idx.dtype)
    pool_val[:, :n_cand], pool_idx[:, :n_cand] = best_val[hit], best_idx[hit]
    pool_val[local, n_cand + slot] = values
    pool_idx[local, n_cand + slot] = indices
    keep = np.argpartition(pool_val, n_cand - 1, axis=1)
    kept_val = np.take_along_axis(pool_val, keep[:, :n_cand], axis=1)
    best_val[hit] = kept_val
    best_idx[hit] = np.take_along_axis(pool_idx, keep[:, :n_cand], axis=1)
    if threshold is not None:
        # argpartition puts the n_cand-th smallest at position n_cand - 1: the largest kept value.
        threshold[hit] = kept_val[:, n_cand - 1]


def _squared_distances(Q: np.ndarray, F: np.ndarray, idx: np.ndarray, *, sequential: bool) -> np.ndarray:
    """Exact float64 squared distances between ``Q[i]`` and ``F[idx[i, j]]``, shape of ``idx``.

    ``sequential`` accumulates feature by feature, the order scikit-learn's KD-tree uses, so the sums are bitwise
    equal to its; otherwise one ``einsum`` (the brute path only needs them accurate, for ordering).
    """
    diff = F[idx].astype(np.float64) - Q[:, None, :].astype(np.float64)
    if not sequential:
        return np.einsum("ijk,ijk->ij", diff, diff)
    acc = np.zeros(idx.shape, dtype=np.float64)
    for j in range(Q.shape[1]):
        acc += diff[:, :, j] * diff[:, :, j]
    return acc
