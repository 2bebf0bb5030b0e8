"""ExactNearestNeighbors against scikit-learn's NearestNeighbors (the search imbalanced-learn runs).

Same indices in the same order, and the same distances bit for bit, on random data of both search paths
(KD-tree: <= 15 features; brute force: more), float32 and float64, and with duplicate rows (ties) where
scikit-learn's own tie order is reproducible (the KD-tree path: its per-query search does not depend on
memory layout or BLAS rounding, which brute-force ties do, even between two scikit-learn runs).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.neighbors import NearestNeighbors

from imbalance_xfmr.sampling._neighbors import ExactNearestNeighbors, neighbors_estimator, sklearn_algorithm


@st.composite
def search_problems(draw, feature_choices=(2, 3, 8, 15, 16, 24, 40), duplicates=False):
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    n_fit = draw(st.integers(2, 400))
    n_features = draw(st.sampled_from(feature_choices))
    X = rng.standard_normal((n_fit, n_features)) * draw(st.sampled_from([1.0, 1e-3, 1e3]))
    X += draw(st.sampled_from([0.0, 50.0]))  # an offset stresses the ||q||^2 - 2 q.f + ||f||^2 rounding
    if duplicates:
        X = np.round(X, 0 if draw(st.booleans()) else 1)
        copies = rng.randint(0, n_fit, size=n_fit // 2)
        X[rng.randint(0, n_fit, size=copies.size)] = X[copies]
    X = X.astype(draw(st.sampled_from([np.float32, np.float64])))
    k = draw(st.integers(1, min(n_fit, 9)))
    external = draw(st.booleans())
    Q = X if not external else rng.standard_normal((draw(st.integers(1, 60)), n_features)).astype(X.dtype)
    return X, Q, k


def _reference(X, Q, k, return_distance=True):
    return NearestNeighbors(n_neighbors=k).fit(X).kneighbors(Q, return_distance=return_distance)


@given(search_problems())
def test_matches_sklearn_on_continuous_data(problem):
    X, Q, k = problem
    ours = ExactNearestNeighbors(n_neighbors=k).fit(X)
    np.testing.assert_array_equal(ours.kneighbors(Q, return_distance=False), _reference(X, Q, k, False))
    ref_dist, ref_ind = _reference(X, Q, k)
    dist, ind = ours.kneighbors(Q)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, ref_dist)


@given(search_problems(feature_choices=(1, 2, 3, 5, 15), duplicates=True))
def test_matches_sklearn_tie_order_on_kd_tree_path(problem):
    X, Q, k = problem
    ours = ExactNearestNeighbors(n_neighbors=k).fit(X)
    ref_dist, ref_ind = _reference(X, Q, k)
    dist, ind = ours.kneighbors(Q)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, ref_dist)


@settings(max_examples=30)
@given(search_problems(feature_choices=(16, 30), duplicates=True))
def test_brute_path_with_ties_returns_a_true_nearest_set(problem):
    # scikit-learn's own tie order is not reproducible here; what must hold is exactness.
    X, Q, k = problem
    ind = ExactNearestNeighbors(n_neighbors=k).fit(X).kneighbors(Q, return_distance=False)
    true_sq = ((Q[:, None, :].astype(np.float64) - X[None, :, :].astype(np.float64)) ** 2).sum(axis=2)
    kth_smallest = np.sort(true_sq, axis=1)[:, :k]
    got = np.take_along_axis(true_sq, ind, axis=1)
    np.testing.assert_allclose(got, kth_smallest, rtol=1e-9, atol=1e-9 * true_sq.max())
    assert all(len(set(row)) == k for row in ind.tolist())


@settings(max_examples=30)
@given(search_problems(duplicates=True), st.data())
def test_rows_subset_equals_full_query_rows(problem, data):
    X, _, k = problem
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, X.shape[0] - 1), min_size=1))))
    ours = ExactNearestNeighbors(n_neighbors=k).fit(X)
    full = ours.kneighbors(X, return_distance=False)
    np.testing.assert_array_equal(ours.kneighbors_rows(X, rows, return_distance=False), full[rows])


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_matches_sklearn(fmt):
    rng = np.random.RandomState(0)
    X = sparse.random(120, 30, density=0.2, format=fmt, random_state=rng)
    dist, ind = ExactNearestNeighbors(n_neighbors=4).fit(X).kneighbors(X)
    ref_dist, ref_ind = _reference(X, X, 4)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, ref_dist)


@pytest.mark.parametrize(("n_rows", "n_features", "k"), [(100, 15, 3), (100, 16, 3), (100, 3, 50), (100, 3, 49)])
def test_algorithm_choice_mirrors_sklearn(n_rows, n_features, k):
    X = np.random.RandomState(0).standard_normal((n_rows, n_features))
    assert sklearn_algorithm(X, k) == NearestNeighbors(n_neighbors=k).fit(X)._fit_method


@pytest.mark.parametrize("sorted_by_class", [False, True])
def test_tiled_search_over_many_tiles_is_exact(monkeypatch, sorted_by_class):
    # Small tiles: many query blocks and fit tiles, so thresholds, survivor merges and (with far-away first tiles,
    # when rows are grouped by cluster) the partial-sort fallback are all exercised.
    import imbalance_xfmr.sampling._neighbors as neighbors

    monkeypatch.setattr(neighbors, "_QUERY_BLOCK", 32)
    monkeypatch.setattr(neighbors, "_FIT_TILE", 64)
    monkeypatch.setattr(neighbors, "_PARALLEL_MIN_SCORES", 0)  # the threaded path, even at this size
    rng = np.random.RandomState(1)
    X = rng.standard_normal((3000, 20)).astype(np.float32)
    if sorted_by_class:
        X += 20.0 * (np.arange(3000) // 1000)[:, None]
    ind = ExactNearestNeighbors(n_neighbors=6).fit(X).kneighbors(X[::7], return_distance=False)
    np.testing.assert_array_equal(ind, _reference(X, X[::7], 6, False))


def test_too_many_neighbours_is_a_value_error():
    X = np.random.RandomState(0).standard_normal((4, 3))
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        ExactNearestNeighbors(n_neighbors=5).fit(X).kneighbors(X)
    with pytest.raises(ValueError):
        NearestNeighbors(n_neighbors=5).fit(X).kneighbors(X)


def test_neighbors_estimator_builds_or_clones():
    built = neighbors_estimator(3, additional_neighbor=1)
    assert isinstance(built, ExactNearestNeighbors) and built.n_neighbors == 4
    given_estimator = NearestNeighbors(n_neighbors=7)
    cloned = neighbors_estimator(given_estimator, additional_neighbor=1)
    assert cloned is not given_estimator and cloned.get_params() == given_estimator.get_params()


@pytest.mark.parametrize("n_rows", [1100, 2600])
def test_symmetric_self_search_is_exact(monkeypatch, n_rows):
    # Querying the fitted array itself takes the symmetric tiled path (odd and even block counts).
    import imbalance_xfmr.sampling._neighbors as neighbors

    monkeypatch.setattr(neighbors, "_SELF_TILE", 256)
    X = np.random.RandomState(2).standard_normal((n_rows, 24)).astype(np.float32)
    X[::50] = X[1::50]  # some duplicates: their rows go to scikit-learn
    ind = ExactNearestNeighbors(n_neighbors=5).fit(X).kneighbors(X, return_distance=False)
    ref = _reference(X, X, 5, False)
    clean = np.ones(n_rows, dtype=bool)
    clean[::50] = clean[1::50] = False
    np.testing.assert_array_equal(ind[clean], ref[clean])


def test_round_robin_covers_every_pair_once():
    from imbalance_xfmr.sampling._neighbors import _round_robin

    for n_blocks in range(1, 9):
        rounds = _round_robin(n_blocks)
        pairs = [p for r in rounds for p in r]
        assert sorted(pairs) == [(i, j) for i in range(n_blocks) for j in range(i + 1, n_blocks)]
        assert all(len({b for p in r for b in p}) == 2 * len(r) for r in rounds)


@pytest.mark.parametrize("as_sparse", [False, True])
def test_empty_row_selection(as_sparse):
    X = np.random.RandomState(0).standard_normal((20, 4))
    X = sparse.csr_matrix(X) if as_sparse else X
    search = ExactNearestNeighbors(n_neighbors=2).fit(X)
    dist, ind = search.kneighbors_rows(X, np.array([], dtype=np.intp))
    assert dist.shape == ind.shape == (0, 2)


@pytest.mark.parametrize("n_threads", [1, 2, 4])
def test_run_in_block_order_keeps_each_blocks_order_and_never_overlaps(n_threads):
    """Tasks sharing a block run one at a time and in list order, whatever the threads' timing."""
    import threading
    import time

    from imbalance_xfmr.sampling._neighbors import _round_robin, _run_in_block_order

    n_blocks = 7
    touched = [(i,) for i in range(n_blocks)] + [pair for r in _round_robin(n_blocks) for pair in r]
    rng = np.random.RandomState(n_threads)
    delays = rng.uniform(0, 0.002, len(touched))
    lock, active, seen = threading.Lock(), set(), {b: [] for b in range(n_blocks)}
    overlaps = []

    def task(t: int) -> None:
        with lock:
            if active & set(touched[t]):
                overlaps.append(t)
            active.update(touched[t])
            for b in touched[t]:
                seen[b].append(t)
        time.sleep(delays[t])
        with lock:
            active.difference_update(touched[t])

    _run_in_block_order([(blocks, lambda t=t: task(t)) for t, blocks in enumerate(touched)], n_blocks, n_threads)
    assert not overlaps
    for b in range(n_blocks):
        assert seen[b] == [t for t, blocks in enumerate(touched) if b in blocks]


def test_run_in_block_order_reraises_a_task_error():
    from imbalance_xfmr.sampling._neighbors import _run_in_block_order

    ran = []

    def fail() -> None:
        raise RuntimeError("tile failed")

    tasks = [
        ((0,), lambda: ran.append(0)),
        ((0, 1), fail),
        ((1,), lambda: ran.append(2)),
        ((0,), lambda: ran.append(3)),
    ]
    with pytest.raises(RuntimeError, match="tile failed"):
        _run_in_block_order(tasks, 2, 2)
    assert 2 not in ran and 3 not in ran  # both wait for the failed task


def test_self_candidates_do_not_depend_on_the_thread_count(monkeypatch):
    import imbalance_xfmr.sampling._neighbors as neighbors

    monkeypatch.setattr(neighbors, "_SELF_TILE", 64)
    X = np.random.RandomState(4).standard_normal((700, 12)).astype(np.float32)
    sq = np.einsum("ij,ij->i", X, X).astype(np.float32)
    one = neighbors._self_candidates(X, sq, 9, 1)
    for n_threads in (2, 3):
        many = neighbors._self_candidates(X, sq, 9, n_threads)
        np.testing.assert_array_equal(one[0], many[0])
        np.testing.assert_array_equal(one[1], many[1])


@pytest.mark.parametrize("fallback", [False, True])
def test_symmetric_search_on_clustered_rows(monkeypatch, fallback):
    # Rows grouped by far-apart clusters: the first tiles give loose thresholds; with fallback every tile takes the
    # partial-sort path in both directions (the transposed one included).
    import imbalance_xfmr.sampling._neighbors as neighbors

    monkeypatch.setattr(neighbors, "_SELF_TILE", 128)
    if fallback:
        monkeypatch.setattr(neighbors, "_MAX_SURVIVORS_PER_CANDIDATE", 0)
    rng = np.random.RandomState(5)
    X = rng.standard_normal((1300, 20)).astype(np.float32) + 30.0 * (np.arange(1300) // 400)[:, None]
    ind = ExactNearestNeighbors(n_neighbors=6).fit(X).kneighbors(X, return_distance=False)
    np.testing.assert_array_equal(ind, _reference(X, X, 6, False))


class _SymmetricPath:
    """Small self-search tiles (so small inputs take the symmetric path) and a count of the searches that took it."""

    def __init__(self, tile: int):
        import imbalance_xfmr.sampling._neighbors as neighbors

        self.neighbors, self.tile, self.calls = neighbors, tile, 0

    def __enter__(self) -> "_SymmetricPath":
        self.saved = self.neighbors._SELF_TILE, self.neighbors._self_candidates
        inner = self.saved[1]

        def counted(*args, **kwargs):
            self.calls += 1
            return inner(*args, **kwargs)

        self.neighbors._SELF_TILE, self.neighbors._self_candidates = self.tile, counted
        return self

    def __exit__(self, *exc) -> None:
        self.neighbors._SELF_TILE, self.neighbors._self_candidates = self.saved


def _grown(X: np.ndarray, n_rows: int) -> np.ndarray:
    """X stacked to at least n_rows rows, the copies jittered (so that they are not duplicates)."""
    if X.shape[0] >= n_rows:
        return X
    stacked = np.vstack([X] * (n_rows // X.shape[0] + 1))[:n_rows]
    jitter = np.random.RandomState(0).standard_normal(stacked.shape) * (float(X.std()) or 1.0)
    return np.ascontiguousarray((stacked + jitter).astype(X.dtype))


@given(search_problems(), st.data())
@settings(max_examples=40)
def test_symmetric_path_matches_sklearn(problem, data):
    """The symmetric self-search (forced onto small inputs with small tiles) on every scale, offset and dtype."""
    X, _, k = problem
    k = min(k, 3)
    tile = data.draw(st.sampled_from([16, 24]))
    X = _grown(X, 2 * tile + data.draw(st.integers(0, 40)))
    with _SymmetricPath(tile) as path:
        search = ExactNearestNeighbors(n_neighbors=k).fit(X)
        ind = search.kneighbors(X, return_distance=False)
        dist, ind_with_dist = search.kneighbors(X)  # the brute path's distances are scikit-learn's own search
    assert path.calls >= 1
    ref_dist, ref_ind = _reference(X, X, k)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(ind_with_dist, ref_ind)
    np.testing.assert_array_equal(dist, ref_dist)


@given(search_problems(feature_choices=(1, 2, 3, 5, 15), duplicates=True))
@settings(max_examples=30)
def test_symmetric_path_reproduces_kd_tree_tie_order(problem):
    X, _, k = problem
    k = min(k, 3)
    if X.shape[0] < 32:
        X = np.ascontiguousarray(np.vstack([X] * (32 // X.shape[0] + 1)))  # exact copies: ties everywhere
    with _SymmetricPath(16) as path:
        dist, ind = ExactNearestNeighbors(n_neighbors=k).fit(X).kneighbors(X)
    assert path.calls == 1
    ref_dist, ref_ind = _reference(X, X, k)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, ref_dist)


@pytest.mark.parametrize("offset", [0.0, 0.9])
def test_self_candidate_values_are_squared_distances_within_the_rounding_bound(monkeypatch, offset):
    """The symmetric search keeps approximate squared distances (||q||^2 included): the pool-completeness check
    subtracts ``approx_err * (||q||^2 + max ||f||^2)`` from them, so each must be that close to the exact one."""
    import imbalance_xfmr.sampling._neighbors as neighbors

    monkeypatch.setattr(neighbors, "_SELF_TILE", 64)
    rng = np.random.RandomState(6)
    n_features = 32
    X = (rng.uniform(-1, 1, (600, n_features)) * 0.1 + offset).clip(-1, 1).astype(np.float32)
    sq = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    values, indices = neighbors._self_candidates(X, sq.astype(np.float32), 9, 2)
    X64 = X.astype(np.float64)
    exact = ((X64[:, None, :] - X64[indices]) ** 2).sum(axis=2)
    approx_err = neighbors._ROUNDING_SAFETY * (n_features + 2) * float(np.finfo(np.float32).eps)
    bound = approx_err * (sq + sq.max())[:, None]
    assert (np.abs(values - exact) <= bound).all()
    # And they are the 9 nearest (up to that rounding): nothing outside is closer than the largest kept value.
    full = ((X64[:, None, :] - X64[None, :, :]) ** 2).sum(axis=2)
    outside = full.copy()
    np.put_along_axis(outside, indices, np.inf, axis=1)
    assert (outside.min(axis=1) >= exact.max(axis=1) - 2 * bound[:, 0]).all()
