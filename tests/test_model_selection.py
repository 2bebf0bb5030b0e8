"""MultilabelStratifiedKFold / iterative_stratification: identical to iterative-stratification (iterstrat), the
maintained implementation of Sechidis et al. (2011), and the paper's properties on hand-built cases.

The comparisons with iterstrat are skipped where the package (PyPI iterative-stratification) is not installed.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from imbalance_xfmr.model_selection import MultilabelStratifiedKFold, iterative_stratification

@st.composite
def indicators(draw, min_labels=2):
    """A random 0/1 indicator (2+ labels, as iterstrat requires), labels of random rarity, some empty rows."""
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    n_rows, n_labels = draw(st.integers(2, 80)), draw(st.integers(min_labels, 6))
    Y = (rng.rand(n_rows, n_labels) < rng.rand(n_labels) * draw(st.sampled_from([0.1, 0.5, 1.0]))).astype(int)
    return Y


def reference_folds(Y, n_splits, shuffle, seed):
    """iterstrat's test folds. Without shuffle it refuses an int random_state (scikit-learn's KFold rule) and
    breaks ties with the global RandomState: seed that one instead."""
    iterstrat = pytest.importorskip("iterstrat.ml_stratifiers")
    if shuffle:
        splitter = iterstrat.MultilabelStratifiedKFold(n_splits, shuffle=True, random_state=seed)
    else:
        np.random.seed(seed)
        splitter = iterstrat.MultilabelStratifiedKFold(n_splits)
    return [test for _, test in splitter.split(Y, Y)]


@settings(max_examples=150)
@given(Y=indicators(), n_splits=st.integers(2, 6), shuffle=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_same_folds_as_iterstrat(Y, n_splits, shuffle, seed):
    n_splits = min(n_splits, len(Y))
    ours = MultilabelStratifiedKFold(n_splits, shuffle=shuffle, random_state=np.random.RandomState(seed))
    splits = list(ours.split(Y, Y))
    reference = reference_folds(Y, n_splits, shuffle, seed)
    assert len(splits) == n_splits
    for (train, test), test_reference in zip(splits, reference):
        np.testing.assert_array_equal(test, test_reference)
        np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(Y)))


def test_same_folds_as_iterstrat_on_jigsaw_like_labels():
    # Jigsaw's label rates (toxic 9.6%, severe_toxic 1%, obscene 5.3%, threat 0.3%, insult 4.9%, identity_hate 0.9%),
    # correlated through a shared toxic flag: long runs of repeating levels, few ties left to the draw.
    rng = np.random.RandomState(0)
    toxic = rng.rand(20000) < 0.096
    rates = np.array([1.0, 0.1, 0.55, 0.03, 0.5, 0.09])
    Y = (toxic[:, None] & (rng.rand(20000, 6) < rates)).astype(np.int8)
    ours = [test for _, test in MultilabelStratifiedKFold(5, shuffle=True, random_state=3).split(None, Y)]
    for test, test_reference in zip(ours, reference_folds(Y, 5, True, 3)):
        np.testing.assert_array_equal(test, test_reference)


def label_distribution(Y, folds, n_splits):
    """The paper's LD measure: mean over labels of the mean absolute difference, fold vs whole data set, of the
    label's positive / negative odds (lower is better stratified)."""
    Y = np.asarray(Y, dtype=float)

    def odds(part):
        positives = part.sum(axis=0)
        return positives / np.maximum(len(part) - positives, 1)

    whole = odds(Y)
    return np.mean([np.abs(odds(Y[folds == fold]) - whole) for fold in range(n_splits)])


def test_stratifies_better_than_kfold():
    rng = np.random.RandomState(1)
    Y = (rng.rand(3000, 5) < [0.2, 0.05, 0.02, 0.01, 0.004]).astype(int)
    ours = iterative_stratification(Y, 5, shuffle=True, random_state=0)
    plain = np.empty(len(Y), dtype=int)
    for fold, (_, test) in enumerate(KFold(5, shuffle=True, random_state=0).split(Y)):
        plain[test] = fold
    assert label_distribution(Y, ours, 5) < 0.5 * label_distribution(Y, plain, 5)


@pytest.mark.parametrize("seed", range(10))
def test_two_labels_two_rows_each_split_evenly(seed):
    # Hand-computed: whichever label comes first, its two rows go to different folds (after the first row, the
    # other fold lacks more of the label); the other label's rows then tie on the label and on the fold sizes
    # (1 and 1) and go one to each fold. Every fold gets one row of each label, whatever the draws.
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    folds = iterative_stratification(Y, 2, random_state=seed)
    for fold in range(2):
        np.testing.assert_array_equal(Y[folds == fold].sum(axis=0), [1, 1])


def test_a_hand_computed_case_with_its_draws():
    # Label 1 (2 rows) is the rarest. Row 2 goes to the fold the first draw picks (both folds tie on label 1 and on
    # size), row 3 to the other (it lacks one more label-1 row). Label 0 has rows 0 and 1 left (row 2 carried it):
    # row 0 to the fold without row 2 (it lacks one more label-0 row); row 1 ties on label 0 and goes to the
    # smaller fold, row 2's (1 row against 2): no draw. The empty row 4 ties on size (2 and 2): the second draw.
    Y = np.array([[1, 0], [1, 0], [1, 1], [0, 1], [0, 0]])
    draws = np.random.RandomState(5)
    first, second = draws.randint(2), draws.randint(2)
    expected = [1 - first, first, first, 1 - first, second]
    np.testing.assert_array_equal(iterative_stratification(Y, 2, random_state=5), expected)


@settings(max_examples=40)
@given(
    positives=st.integers(0, 40), negatives=st.integers(0, 40), n_splits=st.integers(2, 5), seed=st.integers(0, 99)
)
def test_one_label_is_split_as_evenly_as_possible(positives, negatives, n_splits, seed):
    # With one label (and a second that never occurs, which is ignored) the paper's greedy is exact: every fold's
    # positives and every fold's size are within one of the desired n / n_splits.
    n = positives + negatives
    if n < n_splits:
        return
    Y = np.zeros((n, 2), dtype=int)
    Y[np.random.RandomState(seed).permutation(n)[:positives], 0] = 1
    folds = iterative_stratification(Y, n_splits, random_state=seed)
    sizes = np.bincount(folds, minlength=n_splits)
    label_counts = np.bincount(folds, weights=Y[:, 0], minlength=n_splits)
    assert np.all(np.abs(sizes - n / n_splits) < 1)
    assert np.all(np.abs(label_counts - positives / n_splits) < 1)


@given(Y=indicators(), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=30)
def test_every_row_is_tested_once_and_folds_repeat_with_the_seed(Y, seed):
    n_splits = min(3, len(Y))
    splitter = MultilabelStratifiedKFold(n_splits, random_state=seed)
    first, second = list(splitter.split(Y, Y)), list(splitter.split(Y, Y))
    tests = np.concatenate([test for _, test in first])
    np.testing.assert_array_equal(np.sort(tests), np.arange(len(Y)))
    for (train_a, test_a), (train_b, test_b) in zip(first, second):
        np.testing.assert_array_equal(test_a, test_b)
        np.testing.assert_array_equal(train_a, train_b)
        assert np.intersect1d(train_a, test_a).size == 0


def test_works_with_scikit_learn_and_dataframes():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    Y = pd.DataFrame((rng.rand(60, 3) < [0.5, 0.2, 0.1]).astype(int), columns=["a", "b", "c"])
    splitter = MultilabelStratifiedKFold(3, shuffle=True, random_state=0)
    assert splitter.get_n_splits() == 3
    assert repr(splitter) == "MultilabelStratifiedKFold(n_splits=3, random_state=0, shuffle=True)"
    scores = cross_val_score(KNeighborsClassifier(), X, Y, cv=splitter)
    assert scores.shape == (3,)
    np.testing.assert_array_equal(
        iterative_stratification(Y, 3, shuffle=True, random_state=0),
        iterative_stratification(Y.to_numpy().astype(bool), 3, shuffle=True, random_state=0),
    )


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"n_splits": 1}, ValueError, "at least 2"),
        ({"n_splits": 2.5}, ValueError, "int >= 2"),
        ({"n_splits": True}, ValueError, "int >= 2"),
        ({"shuffle": "yes"}, TypeError, "shuffle"),
    ],
)
def test_bad_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        MultilabelStratifiedKFold(**kwargs)


def test_bad_targets_say_what_to_use():
    Y = np.array([[1, 0], [0, 1], [1, 1]])
    with pytest.raises(ValueError, match="greater than the number of samples"):
        list(MultilabelStratifiedKFold(4).split(Y, Y))
    with pytest.raises(ValueError, match="StratifiedKFold"):
        list(MultilabelStratifiedKFold(2).split(Y, Y[:, 0]))
    with pytest.raises(ValueError, match="same number of rows"):
        list(MultilabelStratifiedKFold(2).split(Y[:2], Y))
    with pytest.raises(ValueError, match="only 0 and 1"):
        list(MultilabelStratifiedKFold(2).split(Y, Y * 3))
