"""The ``decide`` step: each model's decision rule, tuned on its out-of-fold probabilities, and the Transformer +
baseline blend.

The rules are :mod:`competition.rules`' (a threshold for binary tasks, class offsets for multiclass ones),
maximising ``threshold.metric``. The blend is ``w * transformer + (1 - w) * baseline`` with ``w`` on the grid
:data:`BLEND_WEIGHTS`, chosen (with its own tuned rule) to maximise the metric out of fold; its fold-k test
probabilities are ``w * T_k + (1 - w) * B_k`` (both models use folds.csv, so their fold k is the same). The run
folder receives ``decision.json`` (one rule per model), ``blend.json`` (the weight and the score at every grid
weight) and the blend's probabilities.

A rule or weight tuned on the OOF rows it is then scored on wins there what it may lose on test (a tuned rule cost
the Transformer test macro-F1, 0.861 against 0.866 at the argmax). With ``threshold.robust`` each is checked out
of sample before use (:func:`checked_rule`, :func:`checked_blend`): cross-fitted, it is re-tuned with each fold
held out and applied to that fold at every strength of :data:`STRENGTHS`, and the best strength is used unless
its gain over strength 0 (the argmax, equal weights) is within bootstrap noise. The check is saved with
the rule (``decision.json``) and the weight (``blend.json``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from competition.context import Context
from competition.run_folder import RunFolderError
from competition.rules import DecisionRule, StrengthCheck, metric_scores, share_of_tuning, tune_rule

BLEND_WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)  # weight of the Transformer, step 0.05
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)  # how much of a tuning to use: 0 none (argmax, equal weights), 1 all
N_BOOTSTRAP = 200  # row resamples measuring the noise of the cross-fitted scores
BOOTSTRAP_SEED = 0  # fixed, so that a rerun chooses the same strengths


def mix(weight: float, transformer: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """The blend ``weight * transformer + (1 - weight) * baseline`` of two models' probabilities (any one shape)."""
    return weight * transformer + (1 - weight) * baseline


def toward_equal(weight: float, strength: float) -> float:
    """The Transformer weight ``weight`` moved toward 1/2 (equal weights): ``1/2 + strength * (weight - 1/2)``,
    rounded to 4 decimals (grid weights shrunk by :data:`STRENGTHS` are exact there)."""
    return float(np.round(0.5 + strength * (weight - 0.5), 4))


def tune_blend(labels: np.ndarray, transformer: np.ndarray, baseline: np.ndarray, classes: np.ndarray, metric: str,
               positive: str | None = None) -> tuple[dict[str, Any], DecisionRule]:
    """The Transformer weight ``w`` of :data:`BLEND_WEIGHTS` whose blend, with its own tuned rule, scores best out
    of fold. Returns (``{"weight": w, "metric": m, "score": s, "weights": [...], "scores": [...], "rule": {...}}``,
    the blend's rule); on a tie the smaller weight wins (the simpler model's share grows)."""
    rules = [tune_rule(labels, mix(w, transformer, baseline), classes, metric, positive) for w in BLEND_WEIGHTS]
    scores = np.array([rule.score for rule in rules])
    best = int(np.argmax(scores))
    return ({"weight": float(BLEND_WEIGHTS[best]), "metric": metric, "score": float(scores[best]),
             "weights": BLEND_WEIGHTS.tolist(), "scores": scores.tolist(), "rule": rules[best].to_json()}, rules[best])


# ---------------------------------------------------------------------------------------- the out-of-sample check


def cross_fit(fold: np.ndarray, fit_and_predict: Callable[[np.ndarray, np.ndarray], Any]) -> np.ndarray:
    """Labels (S, n) object, S = len(:data:`STRENGTHS`): for each fold k, ``fit_and_predict(kept, held)`` (boolean
    masks (n,) of the other folds' rows and of fold k's) tunes on the kept rows and returns the held rows' labels
    at every strength, (S, n_k)."""
    predicted = np.empty((len(STRENGTHS), len(fold)), dtype=object)
    for k in np.unique(fold):
        held = fold == k
        predicted[:, held] = fit_and_predict(~held, held)
    return predicted


def choose_strength(labels: np.ndarray, predicted: np.ndarray, classes: np.ndarray, metric: str,
                    positive: str | None, in_sample: float) -> StrengthCheck:
    """The check of cross-fitted labels ``predicted`` (S, n) (see :func:`cross_fit`) against ``labels`` (n,): the
    metric at each strength, the noise of each one's gain over strength 0 (its standard deviation over
    :data:`N_BOOTSTRAP` resamples of the rows, the same resamples for every strength), and the chosen strength:
    the best one (the smallest on a tie), unless its gain over strength 0 is within its noise, then 0.
    ``in_sample``: the full tuning's score on the rows it was tuned on, recorded.

    On synthetic tasks (2,000 OOF rows, 40 seeds each, scored on 50,000 fresh rows) the argmax stayed where tuning
    only fits noise (macro-F1 -0.0003 binary, -0.0004 with 5 classes against the argmax, where the full-strength
    rule lost 0.0014 and 0.0040) and a real gain stayed too (a model biased against the minority: +0.1779 of the
    full rule's +0.1783). Small real gains are partly given up (+0.0154 of +0.0179; with 500 rows +0.0097 of
    +0.0145). The plain best strength kept more of those but lost 0.0008 and 0.0011 to noise; the smallest
    strength within noise of the best gave up to 0.006 of the large gains away."""
    n = len(labels)
    draws = np.random.default_rng(BOOTSTRAP_SEED).multinomial(n, np.full(n, 1 / n), size=N_BOOTSTRAP)  # (B, n)
    scores = metric_scores(labels, predicted, classes, metric, positive, np.vstack([np.ones(n), draws]))
    observed, resampled = scores[0], scores[1:]  # (S,), (B, S)
    noise = (resampled - resampled[:, :1]).std(axis=0)
    best = int(np.argmax(observed))  # the first maximum: the smallest strength on a tie
    chosen = best if observed[best] - observed[0] > noise[best] else 0
    return StrengthCheck(STRENGTHS, tuple(observed.tolist()), tuple(noise.tolist()), STRENGTHS[chosen],
                         float(in_sample))


def checked_rule(labels: np.ndarray, proba: np.ndarray, fold: np.ndarray, classes: np.ndarray, metric: str,
                 positive: str | None = None) -> DecisionRule:
    """The rule tuned on all OOF rows (``labels`` (n,), ``proba`` (n, C), ``fold`` (n,) each row's fold), shrunk
    (:meth:`DecisionRule.shrunk`) to the strength that its cross-fitted check (:func:`choose_strength`) chose; its
    score is the shrunk rule's on all rows, its check the check."""
    tuned = tune_rule(labels, proba, classes, metric, positive)

    def fit_and_predict(kept: np.ndarray, held: np.ndarray) -> list[np.ndarray]:
        rule = tune_rule(labels[kept], proba[kept], classes, metric, positive)
        return [rule.shrunk(strength).predict(proba[held], classes) for strength in STRENGTHS]

    check = choose_strength(labels, cross_fit(fold, fit_and_predict), classes, metric, positive, tuned.score)
    rule = tuned.shrunk(check.strength)
    score = metric_scores(labels, rule.predict(proba, classes)[None], classes, metric, positive)[0, 0]
    return replace(rule, score=float(score), check=check)


def checked_blend(labels: np.ndarray, transformer: np.ndarray, baseline: np.ndarray, fold: np.ndarray,
                  classes: np.ndarray, metric: str, positive: str | None = None) -> tuple[dict[str, Any], DecisionRule]:
    """:func:`tune_blend` checked out of sample: for each fold k the weight is tuned on the other folds, moved
    toward 1/2 by every strength (:func:`toward_equal`; strength 0 is equal weights), and the blend at that weight,
    under a rule tuned on the other folds, predicts fold k. The tuned weight is moved by the strength that check
    chose, and the blend's rule gets its own check (:func:`checked_rule`).

    Returns (:func:`tune_blend`'s record with ``weight`` the weight in use, ``tuned_weight`` the weight tuned on
    all rows, ``fold_weights`` the weight tuned without each fold, ``check`` the weight's check, ``score`` the
    in-sample score at ``weight`` under its full-strength rule and ``rule`` the blend's rule; that rule)."""
    tuned, _ = tune_blend(labels, transformer, baseline, classes, metric, positive)
    fold_weights: list[float] = []

    def fit_and_predict(kept: np.ndarray, held: np.ndarray) -> list[np.ndarray]:
        fold_weights.append(tune_blend(labels[kept], transformer[kept], baseline[kept], classes, metric,
                                       positive)[0]["weight"])
        weights = [toward_equal(fold_weights[-1], strength) for strength in STRENGTHS]
        rules = [tune_rule(labels[kept], mix(w, transformer[kept], baseline[kept]), classes, metric, positive)
                 for w in weights]
        return [rule.predict(mix(w, transformer[held], baseline[held]), classes) for w, rule in zip(weights, rules)]

    check = choose_strength(labels, cross_fit(fold, fit_and_predict), classes, metric, positive, tuned["score"])
    weight = toward_equal(tuned["weight"], check.strength)
    rule = checked_rule(labels, mix(weight, transformer, baseline), fold, classes, metric, positive)
    return ({**tuned, "weight": weight, "tuned_weight": tuned["weight"], "fold_weights": fold_weights,
             "check": check.to_json(), "score": rule.check.in_sample, "rule": rule.to_json()}, rule)


# ------------------------------------------------------------------------------------------------------ the step


def _checked(check: StrengthCheck | None, metric: str) -> str:
    """The log's account of an out-of-sample check."""
    if check is None:
        return ""
    return (f"; on folds it was not tuned on {metric} {check.score:.4f} with {share_of_tuning(check.strength)} "
            f"(untuned {check.untuned:.4f}, with all of it {check.cross_fitted[-1]:.4f}; on the rows it was tuned on "
            f"{check.in_sample:.4f})")


def step_decide(ctx: Context) -> dict[str, DecisionRule]:
    """Tune every model's rule and the blend on the out-of-fold probabilities in the run folder (checked out of
    sample under ``threshold.robust``); write them and return ``{model: rule}``."""
    run, competition = ctx.run, ctx.competition
    try:
        stale = run.has_decisions() and not rules_are_current(ctx)
    except RunFolderError:  # a malformed rule file: this step writes it anew
        stale = True
    if stale:
        run.log("decide: the saved rules were tuned for another metric, positive class, threshold.robust or set of "
                "models, or do not read; tuning again")
    classes, labels = competition.classes, competition.train_labels
    metric, positive, robust = ctx.config.threshold.metric, ctx.plan.positive_class, ctx.config.threshold.robust
    models = [name for name in ctx.plan.models if name != "blend"]
    oof = {model: run.read_oof(model, competition) for model in models}
    rules = {model: checked_rule(labels, proba, fold, classes, metric, positive) if robust
             else tune_rule(labels, proba, classes, metric, positive) for model, (proba, fold) in oof.items()}
    if len(models) == 2:
        (transformer, fold), (baseline, _) = oof["transformer"], oof["baseline"]
        blend, rules["blend"] = (checked_blend(labels, transformer, baseline, fold, classes, metric, positive)
                                 if robust else tune_blend(labels, transformer, baseline, classes, metric, positive))
        w = blend["weight"]
        per_fold = {model: run.read_test_per_fold(model, competition) for model in models}
        test = {model: run.read_test(model, competition) for model in models}
        run.write_probabilities("blend", competition, fold, mix(w, transformer, baseline),
                                mix(w, per_fold["transformer"], per_fold["baseline"]),
                                mix(w, test["transformer"], test["baseline"]))
        run.write_blend(blend)
        check = StrengthCheck.from_json(blend["check"]) if robust else None
        run.log(f"blend: the Transformer's weight {w:g}, the baseline's {1 - w:g}; OOF {metric} {blend['score']:.4f}"
                + _checked(check, metric))
    run.write_decisions(rules)
    for model, rule in rules.items():
        run.log(f"decision: {model}: {rule.describe()}: OOF {metric} {rule.score:.4f}" + _checked(rule.check, metric))
    return rules


def rules_are_current(ctx: Context) -> bool:
    """Whether the run folder's rules were tuned for the configured metric, positive class and ``threshold.robust``,
    for every model the config makes (else the decide step tunes them again). A malformed rule file is an error
    naming the step to re-run, not something to overwrite."""
    if not ctx.run.has_decisions():
        return False
    rules = ctx.run.read_decisions(ctx.competition)
    threshold, positive = ctx.config.threshold, ctx.plan.positive_class
    return set(rules) == set(ctx.plan.models) and all(
        rule.metric == threshold.metric and getattr(rule, "positive_class", positive) == positive
        and (rule.check is not None) == threshold.robust for rule in rules.values())
