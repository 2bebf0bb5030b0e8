"""The cross-fitted TF-IDF baseline: shapes, determinism, and out-of-fold rows from the model that did not see them."""

import numpy as np
import pytest

from competition.baseline import cross_fit_baseline, make_baseline
from competition.config import BaselineConfig

WORDS = {"ham": ["see", "you", "later", "lunch", "home", "ok", "bus", "tonight", "call", "free"],
         "spam": ["win", "prize", "cash", "claim", "urgent", "call", "free", "now", "txt", "offer"]}


def corpus(n: int, spam_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(n) < spam_share, "spam", "ham").astype(object)
    labels[:2] = ["spam", "ham"]
    texts = np.array([" ".join(rng.choice(WORDS[label], size=rng.integers(3, 8))) for label in labels], dtype=object)
    return texts, labels


TEXTS, LABELS = corpus(90, 0.2, seed=0)
TEST_TEXTS, _ = corpus(25, 0.2, seed=1)
FOLD = np.arange(90) % 3
PARAMS = BaselineConfig(min_df=1)


def test_shapes_probabilities_and_class_order():
    result = cross_fit_baseline(TEXTS, LABELS, TEST_TEXTS, FOLD, PARAMS)
    assert result.classes.tolist() == ["ham", "spam"]
    assert result.oof.shape == (90, 2) and result.test_per_fold.shape == (3, 25, 2) and result.test.shape == (25, 2)
    assert result.oof.dtype == np.float64
    np.testing.assert_allclose(result.oof.sum(axis=1), 1.0)
    np.testing.assert_allclose(result.test.sum(axis=1), 1.0)
    np.testing.assert_array_equal(result.test, result.test_per_fold.mean(axis=0))
    # The words carry the signal, so out-of-fold predictions mostly agree with the labels.
    assert (result.classes[result.oof.argmax(axis=1)] == LABELS).mean() > 0.8


def test_deterministic():
    first = cross_fit_baseline(TEXTS, LABELS, TEST_TEXTS, FOLD, PARAMS)
    second = cross_fit_baseline(TEXTS.copy(), LABELS.copy(), TEST_TEXTS.copy(), FOLD.copy(), PARAMS)
    assert first.oof.tobytes() == second.oof.tobytes()
    assert first.test_per_fold.tobytes() == second.test_per_fold.tobytes()


def test_each_oof_row_comes_from_the_model_that_did_not_see_it():
    result = cross_fit_baseline(TEXTS, LABELS, TEST_TEXTS, FOLD, PARAMS)
    for k in range(3):
        valid = FOLD == k
        model = make_baseline(PARAMS).fit(TEXTS[~valid], LABELS[~valid])
        np.testing.assert_allclose(result.oof[valid], model.predict_proba(TEXTS[valid]), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(result.test_per_fold[k], model.predict_proba(TEST_TEXTS), rtol=1e-12, atol=1e-12)


def test_a_leaking_fit_would_be_detected():
    # The check above can fail: a model that trained on all rows predicts its own rows differently.
    result = cross_fit_baseline(TEXTS, LABELS, TEST_TEXTS, FOLD, PARAMS)
    leaky = make_baseline(PARAMS).fit(TEXTS, LABELS)
    assert not np.allclose(result.oof, leaky.predict_proba(TEXTS))


def test_defaults_are_the_reference_baseline():
    pipeline = make_baseline(BaselineConfig())
    word, char = (transformer for _, transformer in pipeline.named_steps["features"].transformer_list)
    assert (word.analyzer, word.ngram_range, word.min_df, word.sublinear_tf) == ("word", (1, 2), 2, True)
    assert (char.analyzer, char.ngram_range, char.min_df, char.sublinear_tf) == ("char_wb", (2, 5), 2, True)
    classifier = pipeline.named_steps["classifier"]
    assert (classifier.C, classifier.class_weight, classifier.max_iter) == (10.0, "balanced", 2000)


def test_config_values_as_yaml_gives_them():
    # jsonargparse may hand the n-gram ranges over as lists; scikit-learn wants tuples.
    params = BaselineConfig(word_ngram_range=[1, 3], char_ngram_range=[3, 4], min_df=1, sublinear_tf=False, C=0.5,
                            class_weight=None, max_iter=50)
    pipeline = make_baseline(params)
    word, char = (transformer for _, transformer in pipeline.named_steps["features"].transformer_list)
    assert (word.ngram_range, char.ngram_range, word.min_df, char.sublinear_tf) == ((1, 3), (3, 4), 1, False)
    classifier = pipeline.named_steps["classifier"]
    assert (classifier.C, classifier.class_weight, classifier.max_iter) == (0.5, None, 50)


def test_no_params_means_the_default_config():
    default = cross_fit_baseline(TEXTS, LABELS, TEST_TEXTS, FOLD)
    explicit = cross_fit_baseline(TEXTS, LABELS, TEST_TEXTS, FOLD, BaselineConfig())
    assert default.oof.tobytes() == explicit.oof.tobytes()


def test_class_missing_from_a_folds_training_rows_gets_probability_zero():
    texts = np.array(["aa bb", "aa cc", "bb cc", "aa aa", "bb bb", "cc cc", "rare xx"], dtype=object)
    labels = np.array(["p", "q", "p", "q", "p", "q", "r"], dtype=object)
    fold = np.array([0, 0, 0, 1, 1, 1, 1])  # "r" is only in fold 1, so fold 1's model never sees it
    result = cross_fit_baseline(texts, labels, texts[:2], fold, PARAMS)
    assert result.classes.tolist() == ["p", "q", "r"]
    np.testing.assert_array_equal(result.oof[fold == 1, 2], 0.0)
    np.testing.assert_allclose(result.oof.sum(axis=1), 1.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        cross_fit_baseline(TEXTS, LABELS[:-1], TEST_TEXTS, FOLD, PARAMS)
    with pytest.raises(ValueError, match="every integer 0..K-1"):
        cross_fit_baseline(TEXTS, LABELS, TEST_TEXTS, np.where(FOLD == 1, 2, FOLD), PARAMS)

