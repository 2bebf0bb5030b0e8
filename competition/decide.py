"""The ``decide`` step: each model's decision rule, tuned on its out-of-fold probabilities, and the Transformer +
baseline blend.

The rules are :mod:`competition.rules`' (a threshold for binary tasks, class offsets for multiclass ones),
maximising ``threshold.metric``. The blend is ``w * transformer + (1 - w) * baseline`` with ``w`` on the grid
:data:`BLEND_WEIGHTS`, chosen (with its own tuned rule) to maximise the metric out of fold; its fold-k test
probabilities are ``w * T_k + (1 - w) * B_k`` (both models use folds.csv, so their fold k is the same). The run
folder receives ``decision.json`` (one rule per model), ``blend.json`` (the weight and the score at every grid
weight) and the blend's probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from competition.context import Context
from competition.rules import DecisionRule, tune_rule

BLEND_WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)  # weight of the Transformer, step 0.05


def tune_blend(labels: np.ndarray, transformer: np.ndarray, baseline: np.ndarray, classes: np.ndarray, metric: str,
               positive: str | None = None) -> tuple[dict[str, Any], DecisionRule]:
    """The Transformer weight ``w`` of :data:`BLEND_WEIGHTS` whose blend, with its own tuned rule, scores best out
    of fold. Returns (``{"weight": w, "metric": m, "score": s, "weights": [...], "scores": [...], "rule": {...}}``,
    the blend's rule); on a tie the smaller weight wins (the simpler model's share grows)."""
    rules = [tune_rule(labels, w * transformer + (1 - w) * baseline, classes, metric, positive)
             for w in BLEND_WEIGHTS]
    scores = np.array([rule.score for rule in rules])
    best = int(np.argmax(scores))
    return ({"weight": float(BLEND_WEIGHTS[best]), "metric": metric, "score": float(scores[best]),
             "weights": BLEND_WEIGHTS.tolist(), "scores": scores.tolist(), "rule": rules[best].to_json()}, rules[best])


def models_of(ctx: Context) -> list[str]:
    """The models the config makes: the enabled ones, and the blend when both are."""
    models = [name for name in ("transformer", "baseline") if getattr(ctx.config, name).enabled]
    return models + ["blend"] if len(models) == 2 else models


def step_decide(ctx: Context) -> dict[str, DecisionRule]:
    """Tune every model's rule and the blend on the out-of-fold probabilities in the run folder; write them and
    return ``{model: rule}``."""
    run, competition = ctx.run, ctx.competition
    classes, labels = competition.classes, competition.train_labels
    metric, positive = ctx.config.threshold.metric, ctx.plan.positive_class
    models = [name for name in models_of(ctx) if name != "blend"]
    oof = {model: run.read_oof(model, competition) for model in models}
    rules = {model: tune_rule(labels, proba, classes, metric, positive) for model, (proba, _) in oof.items()}
    if len(models) == 2:
        (transformer, fold), (baseline, _) = oof["transformer"], oof["baseline"]
        blend, rules["blend"] = tune_blend(labels, transformer, baseline, classes, metric, positive)
        w = blend["weight"]
        per_fold = {model: run.read_test_per_fold(model, competition) for model in models}
        test = {model: run.read_test(model, competition) for model in models}
        run.write_probabilities("blend", competition, fold, w * transformer + (1 - w) * baseline,
                                w * per_fold["transformer"] + (1 - w) * per_fold["baseline"],
                                w * test["transformer"] + (1 - w) * test["baseline"])
        run.write_blend(blend)
        run.log(f"blend: transformer weight {w:.2f}, OOF {metric} {blend['score']:.4f}")
    run.write_decisions(rules)
    for model, rule in rules.items():
        run.log(f"decision: {model}: OOF {metric} {rule.score:.4f} with {rule.describe()}")
    return rules


def current_rules(ctx: Context) -> dict[str, DecisionRule]:
    """The run folder's rules when they were tuned for the configured metric and positive class, for every model
    the config makes; otherwise (or without them) tuned again by :func:`step_decide`. A malformed rule file is an
    error naming the step to re-run, not something to overwrite."""
    if not ctx.run.has_decisions():
        return step_decide(ctx)
    rules = ctx.run.read_decisions(ctx.competition)
    positive = ctx.plan.positive_class
    if set(rules) == set(models_of(ctx)) and all(
            rule.metric == ctx.config.threshold.metric and getattr(rule, "positive_class", positive) == positive
            for rule in rules.values()):
        return rules
    ctx.run.log("decide: the saved rules were tuned for another metric, positive class or set of models; tuning again")
    return step_decide(ctx)
