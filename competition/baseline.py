"""The ``baseline`` step: TF-IDF word and character n-grams with class-weighted logistic regression.

It is cross-fitted on the run's folds, like the Transformer, so the report can say whether the deep model earns
its keep and the blend can be tuned out of fold. Each fold's pipeline (vectorizers included) is fitted on the
other folds only, predicts its own fold (out-of-fold probabilities) and the test set; each fold model's test
probabilities are kept (decision rules are applied to them one by one) and averaged over folds. scikit-learn does
the work; fitting is deterministic (lbfgs), so reruns give equal arrays. The step is skipped when the run folder
already holds the baseline's probabilities.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_union

from competition.config import BaselineConfig
from competition.context import Context


def make_baseline(params: BaselineConfig) -> Pipeline:
    """An unfitted pipeline: word n-gram TF-IDF and ``char_wb`` n-gram TF-IDF side by side, then
    ``LogisticRegression(C, class_weight)``."""
    features = make_union(
        TfidfVectorizer(ngram_range=tuple(params.word_ngram_range), min_df=params.min_df,
                        sublinear_tf=params.sublinear_tf),
        TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(params.char_ngram_range), min_df=params.min_df,
                        sublinear_tf=params.sublinear_tf),
    )
    classifier = LogisticRegression(C=params.C, class_weight=params.class_weight, max_iter=params.max_iter)
    return Pipeline([("features", features), ("classifier", classifier)])


@dataclass(frozen=True)
class CrossFitResult:
    """Out-of-fold and test probabilities of a cross-fitted model; columns follow ``classes``."""

    classes: np.ndarray  # (C,), sorted
    oof: np.ndarray  # (n_train, C) float64: row i from the model that did not train on row i
    test_per_fold: np.ndarray  # (n_folds, n_test, C) float64: each fold model's test probabilities

    @property
    def test(self) -> np.ndarray:
        """(n_test, C) float64: the mean of the fold models' test probabilities."""
        return self.test_per_fold.mean(axis=0)


def _proba_in_class_order(model: Pipeline, texts: np.ndarray, classes: np.ndarray) -> np.ndarray:
    # A fold's training rows may lack a class (possible with group folds); that class then gets probability 0.
    proba = np.zeros((len(texts), len(classes)))
    proba[:, np.searchsorted(classes, model.classes_)] = model.predict_proba(texts)
    return proba


def cross_fit_baseline(texts: np.ndarray, labels: np.ndarray, test_texts: np.ndarray, fold: np.ndarray,
                       params: BaselineConfig | None = None,
                       progress: Callable[[str], None] | None = None) -> CrossFitResult:
    """Fit one baseline per fold and collect its out-of-fold and test probabilities.

    ``texts``, ``labels`` and ``fold`` have shape (n_train,) (``fold`` holds ints ``0 .. K-1``, as in
    ``folds.csv``); ``test_texts`` has shape (n_test,). ``progress`` receives one line per finished fold.
    """
    params = params or BaselineConfig()
    texts, labels, test_texts = (np.asarray(a, dtype=object) for a in (texts, labels, test_texts))
    fold = np.asarray(fold)
    if not (len(texts) == len(labels) == len(fold)):
        raise ValueError(f"texts, labels and fold must have the same length, got {len(texts)}, {len(labels)} "
                         f"and {len(fold)}")
    classes = np.unique(labels)
    n_folds = int(fold.max()) + 1
    if set(np.unique(fold)) != set(range(n_folds)):
        raise ValueError(f"fold must hold every integer 0..K-1, got {np.unique(fold).tolist()}")
    oof = np.zeros((len(texts), len(classes)))
    test_per_fold = np.zeros((n_folds, len(test_texts), len(classes)))
    for k in range(n_folds):
        start = time.perf_counter()
        valid = fold == k
        model = make_baseline(params).fit(texts[~valid], labels[~valid])
        oof[valid] = _proba_in_class_order(model, texts[valid], classes)
        test_per_fold[k] = _proba_in_class_order(model, test_texts, classes)
        if progress is not None:
            progress(f"baseline fold {k} of {n_folds}: fitted on {int((~valid).sum())} rows, "
                     f"{time.perf_counter() - start:.1f} s")
    return CrossFitResult(classes, oof, test_per_fold)


def step_baseline(ctx: Context) -> None:
    """Cross-fit the baseline on the run's folds and write its out-of-fold, per-fold test and fold-averaged test
    probabilities (skipped when they are there)."""
    if ctx.run.has_probabilities("baseline"):
        ctx.run.log("baseline: its probabilities are already in the run folder, skipped")
        return
    competition = ctx.competition
    fold = ctx.folds()
    result = cross_fit_baseline(competition.train_texts, competition.train_labels, competition.test_texts, fold,
                                ctx.config.baseline, progress=lambda line: ctx.run.log(line, detail=True))
    ctx.run.write_probabilities("baseline", competition, fold, result.oof, result.test_per_fold, result.test)
    ctx.run.log("baseline: wrote its out-of-fold and test probabilities")
