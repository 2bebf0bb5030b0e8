"""Multilabel resampling: IRLbl/MeanIR, ML-ROS, ML-RUS, MLSMOTE and the per-epoch multilabel torch sampler.

imbalanced-learn has no multilabel sampler to compare against, so the references are the papers (Charte et al. 2015,
Neurocomputing 163 and Knowledge-Based Systems 89): hand-computed cases, and a sequential replay of the papers' loops
that every resample must satisfy (each clone or deletion comes from the bag whose turn it is, bags leave exactly
when their IRLbl crosses MeanIR, the loop stops exactly when the count is reached or no bag is left).
"""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.pipeline import Pipeline
from scipy import sparse
from sklearn.base import clone
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.utils._param_validation import InvalidParameterError

from imbalance_xfmr.sampling import (
    MLROS,
    MLRUS,
    MLSMOTE,
    imbalance_ratio_per_label,
    mean_imbalance_ratio,
)
from imbalance_xfmr.sampling._multilabel_random import ml_ros_clones, ml_rus_deletions, resampling_count
from imbalance_xfmr.sampling.torch_sampler import MultilabelResamplingSampler

SAMPLERS = [MLROS, MLRUS, MLSMOTE]


@st.composite
def indicators(draw, min_rows=4, max_rows=60, one_label_per_row=False):
    """A random 0/1 indicator (bool, int or float), labels of random rarity, at least one positive."""
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    n_rows, n_labels = draw(st.integers(min_rows, max_rows)), draw(st.integers(1, 5))
    if one_label_per_row:
        codes = rng.choice(n_labels + 1, size=n_rows, p=rng.dirichlet(np.ones(n_labels + 1)))
        Y = codes[:, None] == np.arange(1, n_labels + 1)
    else:
        Y = rng.rand(n_rows, n_labels) < rng.rand(n_labels) ** 2
    Y[rng.randint(n_rows), rng.randint(n_labels)] = True
    return Y.astype(draw(st.sampled_from([bool, np.int64, np.float32])))


def features(Y, seed=0, n_features=3):
    return np.random.RandomState(seed).randn(len(Y), n_features)


def paper_measures(indicator):
    """Label counts (int64), IRLbl and MeanIR (over the labels that occur) that the replays start from."""
    counts = np.count_nonzero(indicator, axis=0).astype(np.int64)
    with np.errstate(divide="ignore"):
        ratio = counts.max() / counts.astype(float)
    return counts, ratio, ratio[np.isfinite(ratio)].mean()


# --- IRLbl and MeanIR ------------------------------------------------------------------------------------------------


def test_measures_on_a_hand_computed_case():
    # Label counts 4, 1, 1: IRLbl = 4/4, 4/1, 4/1; MeanIR = 9/3.
    Y = [[1, 0, 1], [1, 0, 0], [1, 1, 0], [1, 0, 0]]
    np.testing.assert_array_equal(imbalance_ratio_per_label(Y), [1.0, 4.0, 4.0])
    assert mean_imbalance_ratio(Y) == 3.0
    frame = pd.DataFrame(Y, columns=["toxic", "threat", "insult"]).astype(bool)
    np.testing.assert_array_equal(imbalance_ratio_per_label(frame), [1.0, 4.0, 4.0])


def test_a_label_without_positives_is_infinite_and_left_out_of_the_mean():
    Y = np.array([[1, 0, 1], [1, 0, 0], [1, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(imbalance_ratio_per_label(Y), [1.0, np.inf, 1.5])
    assert mean_imbalance_ratio(Y) == 1.25


@given(Y=indicators())
def test_measures_follow_the_definitions(Y):
    counts = np.count_nonzero(Y, axis=0)
    ratio = imbalance_ratio_per_label(Y)
    assert ratio.dtype == np.float64 and ratio.shape == (Y.shape[1],)
    present = counts > 0
    np.testing.assert_allclose(ratio[present] * counts[present], counts.max())
    assert np.all(np.isinf(ratio[~present]))
    assert ratio.min() == 1.0
    assert mean_imbalance_ratio(Y) == pytest.approx(ratio[present].mean())


@pytest.mark.parametrize(
    "Y, message",
    [
        (np.array([0, 1, 1]), "2-D"),
        (sparse.csr_matrix(np.eye(3)), "sparse"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "NaN"),
        (np.array([[0, 2], [1, 0]]), "only 0 and 1"),
        (np.array([["a", "b"]]), "numbers 0 and 1"),
        (np.zeros((3, 2)), "no positive label"),
        (np.zeros((0, 2)), "at least one row"),
    ],
)
def test_bad_indicators_are_refused_with_a_clear_message(Y, message):
    with pytest.raises(ValueError, match=message):
        imbalance_ratio_per_label(Y)
    with pytest.raises(ValueError, match=message):
        MLROS().fit_resample(np.zeros((Y.shape[0], 1)), Y)


# --- ML-ROS ----------------------------------------------------------------------------------------------------------


def ros_case():
    """12 rows of A, 3 of B, 2 of C, 3 unlabelled: IRLbl 1, 4, 6; MeanIR 11/3; minority labels B and C."""
    Y = np.array([[1, 0, 0]] * 12 + [[0, 1, 0]] * 3 + [[0, 0, 1]] * 2 + [[0, 0, 0]] * 3)
    return np.arange(len(Y), dtype=float)[:, None], Y


def test_ml_ros_on_a_hand_computed_case():
    X, Y = ros_case()
    sampler = MLROS(percentage=0.5, random_state=0)
    X_res, Y_res = sampler.fit_resample(X, Y)
    # ceil(0.5 * 20) = 10 clones owed. Round 1 clones a B row (B: 4, IRLbl 12/4 = 3 <= MeanIR: B leaves) and a
    # C row (C: 3, IRLbl 4 > MeanIR); round 2 a C row (C: 4, IRLbl 3: C leaves). No bag left: 3 clones only.
    np.testing.assert_array_equal(sampler.minority_labels_, [1, 2])
    assert sampler.mean_imbalance_ratio_ == pytest.approx(11 / 3)
    np.testing.assert_array_equal(Y_res, np.vstack([Y, [[0, 1, 0], [0, 0, 1], [0, 0, 1]]]))
    clones = sampler.sample_indices_[len(Y) :]
    assert 12 <= clones[0] < 15 and 15 <= clones[1] < 17 and 15 <= clones[2] < 17
    np.testing.assert_array_equal(X_res[len(Y) :, 0], clones)
    np.testing.assert_array_equal(imbalance_ratio_per_label(Y_res), [1.0, 3.0, 3.0])


def test_ml_ros_finishes_the_round_it_started():
    # ceil(0.05 * 20) = 1 clone owed, but the paper only reads its counter between rounds: B and C each get one.
    X, Y = ros_case()
    _, Y_res = MLROS(percentage=0.05, random_state=0).fit_resample(X, Y)
    np.testing.assert_array_equal(Y_res[len(Y) :], [[0, 1, 0], [0, 0, 1]])


def replay_ml_ros(indicator, percentage, clones):
    """The paper's ML-ROS loop, one clone at a time, checked against ``clones``."""
    counts, ratio, mean = paper_measures(indicator)
    active = [label for label in range(indicator.shape[1]) if np.isfinite(ratio[label]) and ratio[label] > mean]
    owed, position = resampling_count(percentage, len(indicator)), 0
    while owed > 0 and active:
        for label in list(active):
            row = clones[position]
            position += 1
            assert indicator[row, label], f"clone {position} is not from the bag of label {label}"
            counts += indicator[row]
            owed -= 1
            if counts.max() / counts[label] <= mean:
                active.remove(label)
    assert position == len(clones), "ML-ROS cloned past the end of its loop"


@settings(max_examples=80)
@given(Y=indicators(max_rows=200), percentage=st.sampled_from([0.05, 0.1, 0.3, 1.0, 2.5]), seed=st.integers(0, 99))
def test_ml_ros_follows_the_papers_loop(Y, percentage, seed):
    indicator = Y.astype(bool)
    replay_ml_ros(indicator, percentage, ml_ros_clones(indicator, percentage, seed))


@given(Y=indicators(), percentage=st.sampled_from([0.1, 0.5]), seed=st.integers(0, 99))
def test_ml_ros_keeps_the_original_rows_and_clones_minority_rows(Y, percentage, seed):
    X = features(Y)
    sampler = MLROS(percentage=percentage, random_state=seed)
    X_res, Y_res = sampler.fit_resample(X, Y)
    n = len(Y)
    assert X_res.shape == (len(sampler.sample_indices_), X.shape[1]) and Y_res.shape == (len(X_res), Y.shape[1])
    assert Y_res.dtype == Y.dtype
    np.testing.assert_array_equal(X_res[:n], X)
    np.testing.assert_array_equal(Y_res[:n], Y)
    clones = sampler.sample_indices_[n:]
    np.testing.assert_array_equal(X_res[n:], X[clones])
    assert np.all(Y[clones][:, sampler.minority_labels_].any(axis=1))
    n_minority = len(sampler.minority_labels_)
    assert len(clones) <= resampling_count(percentage, n) + max(n_minority - 1, 0)


@given(Y=indicators(one_label_per_row=True), seed=st.integers(0, 99))
def test_ml_ros_lowers_the_imbalance_of_every_minority_label(Y, seed):
    # With one label per row a clone raises only its own label's count, never past the most frequent one, so each
    # cloned minority label's IRLbl falls. (With co-occurring labels a clone may also carry the most frequent label
    # and raise every IRLbl: test_ml_ros_follows_the_papers_loop covers that case.)
    sampler = MLROS(percentage=0.5, random_state=seed)
    _, Y_res = sampler.fit_resample(features(Y), Y)
    before, after = imbalance_ratio_per_label(Y), imbalance_ratio_per_label(Y_res)
    assert np.all(after[sampler.minority_labels_] < before[sampler.minority_labels_])
    assert mean_imbalance_ratio(Y_res) <= mean_imbalance_ratio(Y)


def test_ml_ros_draws_uniformly_within_a_bag():
    # The first clone comes from C's bag of four rows (the only minority label); over 2000 seeds each row is drawn
    # about 500 times (binomial sd 19).
    Y = np.array([[1, 0]] * 40 + [[0, 1]] * 4)
    first = [ml_ros_clones(Y.astype(bool), 0.01, seed)[0] for seed in range(2000)]
    frequency = Counter(first)
    assert sorted(frequency) == [40, 41, 42, 43]
    assert all(400 < count < 600 for count in frequency.values())


# --- ML-RUS ----------------------------------------------------------------------------------------------------------


def rus_case():
    """8 rows of A, 1 of A+C, 4 of B, 3 unlabelled: IRLbl 1, 2.25, 9; MeanIR 49/12; C minority, A and B majority."""
    Y = np.array([[1, 0, 0]] * 8 + [[1, 0, 1]] + [[0, 1, 0]] * 4 + [[0, 0, 0]] * 3)
    return np.arange(len(Y), dtype=float)[:, None], Y


def test_ml_rus_on_a_hand_computed_case():
    X, Y = rus_case()
    sampler = MLRUS(percentage=0.5, random_state=0)
    X_res, Y_res = sampler.fit_resample(X, Y)
    # ceil(0.5 * 16) = 8 deletions owed; the A+C row is protected. Rounds 1-3 delete an A row and a B row each;
    # after round 3, B's IRLbl is 6/1 >= MeanIR and B leaves. Rounds 4-5 delete A rows: 8 deletions.
    np.testing.assert_array_equal(sampler.majority_labels_, [0, 1])
    assert sampler.mean_imbalance_ratio_ == pytest.approx(49 / 12)
    np.testing.assert_array_equal(np.count_nonzero(Y_res, axis=0), [4, 1, 1])
    assert len(Y_res) == 8
    assert {8, 13, 14, 15} <= set(sampler.sample_indices_.tolist())
    np.testing.assert_array_equal(X_res[:, 0], sampler.sample_indices_)
    np.testing.assert_array_equal(Y_res, Y[sampler.sample_indices_])


def replay_ml_rus(indicator, percentage, deletions):
    """The ML-RUS loop (with our documented protection of minority rows), one deletion at a time."""
    counts, ratio, mean = paper_measures(indicator)
    finite = np.isfinite(ratio)
    protected = indicator[:, finite & (ratio > mean)].any(axis=1)
    active = [label for label in range(indicator.shape[1]) if ratio[label] < mean]
    bags = {label: set(np.flatnonzero(indicator[:, label] & ~protected).tolist()) for label in active}
    owed, position, deleted = resampling_count(percentage, len(indicator)), 0, set()
    while owed > 0 and active:
        for label in list(active):
            if not bags[label] - deleted:
                active.remove(label)
                continue
            row = int(deletions[position])
            position += 1
            assert row in bags[label] - deleted, f"deletion {position} is not a remaining row of label {label}'s bag"
            deleted.add(row)
            counts -= indicator[row]
            owed -= 1
            if counts[label] == 0 or counts.max() / counts[label] >= mean:
                active.remove(label)
    assert position == len(deletions), "ML-RUS deleted past the end of its loop"


@settings(max_examples=80)
@given(Y=indicators(max_rows=200), percentage=st.sampled_from([0.05, 0.1, 0.3, 0.6, 0.95]), seed=st.integers(0, 99))
def test_ml_rus_follows_the_papers_loop(Y, percentage, seed):
    indicator = Y.astype(bool)
    replay_ml_rus(indicator, percentage, ml_rus_deletions(indicator, percentage, seed))


def test_ml_rus_follows_the_papers_loop_on_large_overlapping_bags():
    # Thousands of rounds over bags sharing most rows: many vectorized blocks, cut where two bags drew the same row.
    rng = np.random.RandomState(0)
    toxic = rng.rand(6000) < 0.3
    indicator = np.column_stack(
        [toxic, toxic & (rng.rand(6000) < 0.8), toxic & (rng.rand(6000) < 0.7), rng.rand(6000) < 0.01]
    )
    replay_ml_rus(indicator, 0.4, ml_rus_deletions(indicator, 0.4, 0))
    replay_ml_ros(indicator, 0.4, ml_ros_clones(indicator, 0.4, 0))


@given(Y=indicators(), percentage=st.sampled_from([0.1, 0.5]), seed=st.integers(0, 99))
def test_ml_rus_keeps_minority_rows_and_its_rows_in_order(Y, percentage, seed):
    X = features(Y)
    sampler = MLRUS(percentage=percentage, random_state=seed)
    X_res, Y_res = sampler.fit_resample(X, Y)
    kept = sampler.sample_indices_
    assert np.all(np.diff(kept) > 0)
    np.testing.assert_array_equal(X_res, X[kept])
    np.testing.assert_array_equal(Y_res, Y[kept])
    minority = np.isfinite(sampler.imbalance_ratio_per_label_) & (
        sampler.imbalance_ratio_per_label_ > sampler.mean_imbalance_ratio_
    )
    carries_minority = Y[:, minority].any(axis=1) if minority.any() else np.zeros(len(Y), dtype=bool)
    unlabelled = ~Y.astype(bool).any(axis=1)
    assert set(np.flatnonzero(carries_minority | unlabelled)) <= set(kept.tolist())
    n_majority = len(sampler.majority_labels_)
    assert len(Y) - len(kept) <= resampling_count(percentage, len(Y)) + max(n_majority - 1, 0)


def test_ml_rus_draws_uniformly_within_a_bag():
    Y = np.array([[1, 0]] * 4 + [[0, 1]] * 1)
    first = [ml_rus_deletions(Y.astype(bool), 0.2, seed)[0] for seed in range(2000)]
    assert all(400 < count < 600 for count in Counter(first).values()) and len(set(first)) == 4


# --- MLSMOTE ---------------------------------------------------------------------------------------------------------


def smote_case():
    """C (minority, IRLbl 8) on 4 rows at (x, x/2), x = 0, 1, 3, 10; A on 32 rows, B on 9 (IRLbl 1 and 32/9)."""
    x = np.array([0, 1, 3, 10] + [100 + i for i in range(30)] + [300 + i for i in range(8)], dtype=float)
    Y = np.array([[0, 0, 1], [1, 0, 1], [1, 0, 1], [0, 1, 1]] + [[1, 0, 0]] * 30 + [[0, 1, 0]] * 8)
    return np.column_stack([x, x / 2]), Y


def test_mlsmote_on_a_hand_computed_case():
    X, Y = smote_case()
    sampler = MLSMOTE(k_neighbors=2, random_state=7)
    X_res, Y_res = sampler.fit_resample(X, Y)
    np.testing.assert_array_equal(sampler.minority_labels_, [2])
    # Nearest two other C rows: x=0 -> (1, 3); x=1 -> (0, 3); x=3 -> (1, 0); x=10 -> (3, 1).
    neighbours = np.array([[1, 2], [0, 2], [1, 0], [2, 1]])
    rng = np.random.RandomState(7)
    references = neighbours[np.arange(4), rng.randint(2, size=4)]
    steps = rng.random_sample((4, 2))  # one step per feature: the synthetic rows leave the line x2 = x1 / 2
    x = X[:4]
    np.testing.assert_allclose(X_res[len(X) :], x + steps * (x[references] - x))
    np.testing.assert_array_equal(sampler.synthetic_sources_, np.column_stack([np.arange(4), references]))
    # 'ranking': labels on at least 2 of the 3 rows (the row and its neighbours): {A, C} for all four.
    np.testing.assert_array_equal(Y_res[len(Y) :], [[1, 0, 1]] * 4)
    # C: 4 -> 8 rows, A: 32 -> 36: C's IRLbl falls from 8 to 4.5.
    np.testing.assert_array_equal(imbalance_ratio_per_label(Y_res)[[0, 2]], [1.0, 4.5])


@pytest.mark.parametrize(
    "labelset, expected",
    [
        ("union", [[1, 0, 1], [1, 0, 1], [1, 0, 1], [1, 1, 1]]),
        ("intersection", [[0, 0, 1]] * 4),
    ],
)
def test_mlsmote_union_and_intersection_labelsets(labelset, expected):
    X, Y = smote_case()
    _, Y_res = MLSMOTE(k_neighbors=2, labelset=labelset, random_state=0).fit_resample(X, Y)
    np.testing.assert_array_equal(Y_res[len(Y) :], expected)


def test_mlsmote_small_bags():
    # IRLbl 1, 10, 20, 1 (MeanIR 8): B has 2 rows (k shrinks to 1), C one row (no neighbour: no synthetic row).
    Y = np.array([[1, 0, 0, 1]] * 20 + [[0, 1, 0, 0]] * 2 + [[0, 0, 1, 0]])
    X = np.arange(len(Y), dtype=float)[:, None]
    sampler = MLSMOTE(k_neighbors=5, random_state=0)
    X_res, Y_res = sampler.fit_resample(X, Y)
    np.testing.assert_array_equal(sampler.minority_labels_, [1, 2])
    np.testing.assert_array_equal(sampler.synthetic_sources_, [[20, 21], [21, 20]])
    np.testing.assert_array_equal(Y_res[len(Y) :], [[0, 1, 0, 0], [0, 1, 0, 0]])
    assert np.all((X_res[len(Y) :, 0] >= 20) & (X_res[len(Y) :, 0] <= 21))


def test_mlsmote_never_picks_a_row_as_its_own_neighbour():
    # Duplicated rows tie at distance 0: the search may list a twin before the row itself.
    Y = np.array([[1, 0]] * 30 + [[0, 1]] * 6)
    X = np.vstack([np.random.RandomState(0).randn(30, 2), np.zeros((6, 2))])
    sampler = MLSMOTE(k_neighbors=5, random_state=0)
    sampler.fit_resample(X, Y)
    sources = sampler.synthetic_sources_
    assert len(sources) == 6 and np.all(sources[:, 0] != sources[:, 1])


@given(
    Y=indicators(min_rows=6),
    k=st.integers(1, 4),
    labelset=st.sampled_from(["ranking", "union", "intersection"]),
    seed=st.integers(0, 99),
)
def test_mlsmote_rows_and_labelsets_follow_the_paper(Y, k, labelset, seed):
    X = features(Y, seed)
    sampler = MLSMOTE(k_neighbors=k, labelset=labelset, random_state=seed)
    X_res, Y_res = sampler.fit_resample(X, Y)
    n = len(Y)
    np.testing.assert_array_equal(X_res[:n], X)
    np.testing.assert_array_equal(Y_res[:n], Y)
    assert Y_res.dtype == Y.dtype and X_res.dtype == X.dtype
    sources, synthetic_labels, position = sampler.synthetic_sources_, Y_res[n:].astype(bool), 0
    indicator = Y.astype(bool)
    for label in sampler.minority_labels_:
        bag = np.flatnonzero(indicator[:, label])
        if bag.size < 2:
            continue
        k_used = min(k, bag.size - 1)
        # scikit-learn's exact search, the row itself first (continuous random X: no ties).
        nearest = NearestNeighbors(n_neighbors=k_used + 1).fit(X[bag]).kneighbors(X[bag], return_distance=False)
        block = slice(position, position + bag.size)
        np.testing.assert_array_equal(sources[block, 0], bag)
        assert all(ref in bag[row_neighbours[1:]] for ref, row_neighbours in zip(sources[block, 1], nearest))
        votes = indicator[bag[nearest]].sum(axis=1)
        expected = {"ranking": 2 * votes > k_used + 1, "union": votes > 0, "intersection": votes == k_used + 1}
        np.testing.assert_array_equal(synthetic_labels[block], expected[labelset])
        assert synthetic_labels[block, label].all()
        position += bag.size
    assert position == len(sources) == len(X_res) - n
    low = np.minimum(X[sources[:, 0]], X[sources[:, 1]])
    high = np.maximum(X[sources[:, 0]], X[sources[:, 1]])
    assert np.all((X_res[n:] >= low - 1e-12) & (X_res[n:] <= high + 1e-12))


@given(Y=indicators(min_rows=6, one_label_per_row=True), seed=st.integers(0, 99))
def test_mlsmote_lowers_the_imbalance_of_every_minority_label(Y, seed):
    sampler = MLSMOTE(k_neighbors=3, random_state=seed)
    _, Y_res = sampler.fit_resample(features(Y, seed), Y)
    counts = np.count_nonzero(Y, axis=0)
    grown = [label for label in sampler.minority_labels_ if counts[label] >= 2]
    before, after = imbalance_ratio_per_label(Y), imbalance_ratio_per_label(Y_res)
    assert np.all(after[grown] < before[grown])


def test_mlsmote_on_sparse_features_matches_dense_labels_and_sources():
    rng = np.random.RandomState(0)
    Y = np.array([[1, 0]] * 40 + [[0, 1]] * 5)
    X = rng.randn(45, 6) * (rng.rand(45, 6) < 0.5)
    dense = MLSMOTE(random_state=3)
    X_dense, Y_dense = dense.fit_resample(X, Y)
    for fmt in ("csr", "csc"):
        sparse_sampler = MLSMOTE(random_state=3)
        X_sparse, Y_sparse = sparse_sampler.fit_resample(sparse.csr_matrix(X).asformat(fmt), Y)
        assert X_sparse.format == fmt and X_sparse.shape == X_dense.shape
        np.testing.assert_array_equal(Y_sparse, Y_dense)
        np.testing.assert_array_equal(sparse_sampler.synthetic_sources_, dense.synthetic_sources_)
        new, sources = X_sparse[45:].toarray(), sparse_sampler.synthetic_sources_
        low = np.minimum(X[sources[:, 0]], X[sources[:, 1]])
        high = np.maximum(X[sources[:, 0]], X[sources[:, 1]])
        assert np.all((new >= low) & (new <= high))


def test_mlsmote_takes_a_neighbours_estimator():
    X, Y = smote_case()
    ours = MLSMOTE(k_neighbors=NearestNeighbors(n_neighbors=3), random_state=7).fit_resample(X, Y)
    reference = MLSMOTE(k_neighbors=2, random_state=7).fit_resample(X, Y)
    np.testing.assert_array_equal(ours[0], reference[0])
    with pytest.raises(ValueError, match="n_neighbors >= 2"):
        MLSMOTE(k_neighbors=NearestNeighbors(n_neighbors=1)).fit_resample(X, Y)


# --- What every multilabel sampler shares ----------------------------------------------------------------------------


@pytest.mark.parametrize("sampler_class", SAMPLERS)
@given(Y=indicators(min_rows=6), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=20)
def test_same_random_state_same_resample(sampler_class, Y, seed):
    X = features(Y)
    first = sampler_class(random_state=seed).fit_resample(X, Y)
    second = sampler_class(random_state=np.random.RandomState(seed)).fit_resample(X, Y)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("sampler_class", SAMPLERS)
def test_other_seeds_give_other_resamples(sampler_class):
    X, Y = smote_case()
    outputs = {sampler_class(random_state=seed).fit_resample(X, Y)[0].tobytes() for seed in range(5)}
    assert len(outputs) > 1


@pytest.mark.parametrize(
    "sampler",
    [MLROS(percentage=0.3, random_state=1), MLRUS(percentage=0.2), MLSMOTE(k_neighbors=3, labelset="union")],
)
def test_clone_and_get_params(sampler):
    copy = clone(sampler)
    assert copy is not sampler and copy.get_params() == sampler.get_params()
    assert "percentage" in sampler.get_params() or "labelset" in sampler.get_params()
    X, Y = smote_case()
    copy.fit_resample(X, Y)
    assert not hasattr(sampler, "imbalance_ratio_per_label_") and hasattr(copy, "imbalance_ratio_per_label_")
    assert copy.n_features_in_ == 2


@pytest.mark.parametrize("sampler_class", SAMPLERS)
def test_dataframes_keep_their_columns_dtypes_and_aligned_index(sampler_class):
    X, Y = smote_case()
    X_frame = pd.DataFrame({"x": X[:, 0], "y": X[:, 1]}, index=np.arange(len(X)) * 10 + 5)
    Y_frame = pd.DataFrame(Y.astype(np.int8), columns=["toxic", "threat", "insult"], index=X_frame.index)
    sampler = sampler_class(random_state=0)
    X_res, Y_res = sampler.fit_resample(X_frame, Y_frame)
    assert isinstance(X_res, pd.DataFrame) and isinstance(Y_res, pd.DataFrame)
    assert list(Y_res.columns) == ["toxic", "threat", "insult"] and all(Y_res.dtypes == np.int8)
    assert list(X_res.columns) == ["x", "y"]
    assert list(sampler.feature_names_in_) == ["x", "y"]
    pd.testing.assert_index_equal(Y_res.index, X_res.index)
    if sampler_class is MLRUS:  # the kept rows keep their labels, as RandomUnderSampler's
        pd.testing.assert_index_equal(X_res.index, X_frame.index[sampler.sample_indices_])
    else:  # fresh row numbers, as RandomOverSampler's and SMOTE's
        pd.testing.assert_index_equal(X_res.index, pd.RangeIndex(len(X_res)))


@pytest.mark.parametrize("sampler_class", [MLROS, MLRUS])
def test_row_selecting_samplers_resample_raw_texts_and_lists(sampler_class):
    X, Y = smote_case()
    texts = np.array([f"comment {i}" for i in range(len(Y))], dtype=object)
    sampler = sampler_class(random_state=0)
    texts_res, Y_res = sampler.fit_resample(texts, Y.tolist())
    assert isinstance(Y_res, list) and len(Y_res) == len(texts_res)
    np.testing.assert_array_equal(texts_res, texts[sampler.sample_indices_])
    assert sampler.n_features_in_ == 1


@pytest.mark.parametrize("sampler", [MLROS(random_state=0), MLRUS(random_state=0), MLSMOTE(random_state=0)])
def test_works_as_an_imblearn_pipeline_step(sampler):
    X, Y = smote_case()
    pipeline = Pipeline([("resample", sampler), ("classify", KNeighborsClassifier(n_neighbors=3))]).fit(X, Y)
    assert pipeline.predict(X).shape == Y.shape
    assert pipeline.named_steps["resample"].__sklearn_tags__().sampler_tags is not None


@pytest.mark.parametrize(
    "sampler, message",
    [
        (MLROS(percentage=0), "percentage"),
        (MLROS(percentage="10%"), "percentage"),
        (MLRUS(percentage=1.0), "percentage"),
        (MLSMOTE(labelset="majority"), "labelset"),
        (MLSMOTE(k_neighbors=0), "k_neighbors"),
    ],
)
def test_bad_parameters_are_refused_when_fitting(sampler, message):
    X, Y = smote_case()
    with pytest.raises(InvalidParameterError, match=message):
        sampler.fit_resample(X, Y)


@pytest.mark.parametrize("sampler_class", SAMPLERS)
def test_input_errors_say_what_to_do(sampler_class):
    X, Y = smote_case()
    with pytest.raises(ValueError, match="same number of rows"):
        sampler_class().fit_resample(X[:-1], Y)
    with pytest.raises(ValueError, match="single-label samplers"):
        sampler_class().fit_resample(X, Y[:, 0])


def test_mlsmote_refuses_non_numeric_features():
    X, Y = smote_case()
    with pytest.raises(ValueError):
        MLSMOTE().fit_resample(np.array([["a", "b"]] * len(Y), dtype=object), Y)
    with pytest.raises(ValueError, match="NaN"):
        MLSMOTE().fit_resample(np.full_like(X, np.nan), Y)


# --- The per-epoch sampler -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, sampler_class", [("over", MLROS), ("under", MLRUS)])
def test_epoch_sampler_draws_what_the_sampler_keeps(kind, sampler_class):
    rng = np.random.RandomState(0)
    Y = (rng.rand(300, 4) < [0.4, 0.1, 0.03, 0.01]).astype(int)
    sampler = MultilabelResamplingSampler(Y, 0.2, kind=kind, seed=11)
    for epoch in (0, 3):
        sampler.set_epoch(epoch)
        drawn = list(sampler)
        reference = sampler_class(percentage=0.2, random_state=11 + epoch)
        reference.fit_resample(np.zeros((300, 1)), Y)
        assert sorted(drawn) == sorted(reference.sample_indices_.tolist())
        assert len(sampler) == len(drawn)
    sampler.set_epoch(0)
    epoch0 = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != epoch0


@pytest.mark.parametrize("drop_last", [False, True])
def test_epoch_sampler_shards_are_disjoint_parts_of_the_same_draw(drop_last):
    rng = np.random.RandomState(1)
    Y = rng.rand(101, 3) < [0.5, 0.05, 0.02]
    lengths = rng.randint(1, 200, size=101)
    shards = []
    for rank in range(3):
        sampler = MultilabelResamplingSampler(
            Y, 0.3, seed=4, num_replicas=3, rank=rank, drop_last=drop_last, lengths=lengths, batch_size=4
        )
        sampler.set_epoch(2)
        shards.append(list(sampler))
        assert len(shards[-1]) == len(sampler)
    assert len({len(shard) for shard in shards}) == 1
    whole = MultilabelResamplingSampler(Y, 0.3, seed=4, num_replicas=1, rank=0)
    whole.set_epoch(2)
    draw = sorted(whole)
    merged = sorted(sum(shards, []))
    if drop_last:
        assert Counter(merged) <= Counter(draw) and len(draw) - len(merged) < 3
    else:
        assert Counter(draw) <= Counter(merged) and len(merged) - len(draw) < 3


def test_epoch_sampler_refuses_bad_input():
    Y = np.array([[1, 0], [0, 1], [1, 0]])
    with pytest.raises(ValueError, match="ResamplingSampler"):
        MultilabelResamplingSampler(np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="kind"):
        MultilabelResamplingSampler(Y, kind="both")
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        MultilabelResamplingSampler(Y, 1.5, kind="under")
    with pytest.raises(ValueError, match="no positive label"):
        MultilabelResamplingSampler(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="lengths"):
        MultilabelResamplingSampler(Y, lengths=[1, 2], batch_size=2)
