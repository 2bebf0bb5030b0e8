"""The decide step's out-of-sample check (``threshold.robust``): shrunk rules, the metric the checks score, the
cross-fitted choice of a rule's strength and of the blend weight, the saved check, and the old behaviour under
``threshold.robust false``. Synthetic arrays; the step-level tests use the baseline on a tiny competition and a
faked Transformer (as the report tests do)."""

import json
from dataclasses import replace

import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from scipy.special import expit, logit
from sklearn import metrics as skm
from test_competition_report import (
    TRANSFORMER,
    fake_model_file,
    make_competition,
    read_oof,
    step,
)

from competition.decide import STRENGTHS, checked_blend, checked_rule, tune_blend
from competition.rules import (
    ArgmaxRule,
    ClassOffsetsRule,
    DecisionRule,
    StrengthCheck,
    ThresholdRule,
    metric_scores,
    tune_rule,
)

BINARY = np.array(["ham", "spam"], dtype=object)
FIVE = np.array([f"c{j}" for j in range(5)], dtype=object)


def calibrated(seed: int, classes: np.ndarray, prior: list[float], n: int = 2000,
               bias: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels (n,), probabilities (n, C), folds (n,) of 5): labels drawn from the probabilities, which the
    model reports with the log-probability of the last (rarest) class moved by ``bias`` (0: calibrated)."""
    rng = np.random.default_rng(seed)
    log_p = np.log(prior) + rng.normal(0, 1.5, (n, len(classes)))
    p = np.exp(log_p - log_p.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    labels = classes[(p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)]
    reported = p * np.exp(np.r_[np.zeros(len(classes) - 1), bias])
    return labels, reported / reported.sum(axis=1, keepdims=True), rng.permutation(np.arange(n) % 5)


# ------------------------------------------------------------------------------------------------- shrunk rules


def test_strength_zero_is_exactly_the_argmax():
    # P(spam) = 1/2 ties and rows not summing to 1, where a threshold of 1/2 would disagree with the argmax.
    proba = np.array([[0.5, 0.5], [0.6, 0.4], [0.3, 0.3], [0.2, 0.8], [0.5000001, 0.5]])
    for rule in (ThresholdRule("f1_macro", 0.9, "spam", 0.2), ThresholdRule("f1_macro", 0.9, "ham", 0.7)):
        assert rule.shrunk(0) == ArgmaxRule("f1_macro")
        np.testing.assert_array_equal(rule.shrunk(0).predict(proba, BINARY), BINARY[proba.argmax(axis=1)])
    assert ThresholdRule(positive_class="spam", threshold=0.5).predict(proba, BINARY)[0] == "spam"  # the naive 1/2
    three = np.array(["a", "b", "c"], dtype=object)
    proba = np.array([[0.2, 0.2, 0.6], [1e-320, 2e-320, 0.0], [0.5, 0.5 + 1e-16, 0.0]])
    rule = ClassOffsetsRule("f1_macro", 0.8, (0.0, 1.0, -2.0))
    assert rule.shrunk(0) == ArgmaxRule("f1_macro")
    np.testing.assert_array_equal(rule.shrunk(0).predict(proba, three), three[proba.argmax(axis=1)])
    for strength in STRENGTHS:
        assert ArgmaxRule().shrunk(strength) == ArgmaxRule()
    assert rule.shrunk(1) is rule


def test_a_threshold_shrinks_toward_one_half_in_logit_space():
    low, high = ThresholdRule("mcc", 0.7, "spam", 0.2), ThresholdRule("mcc", 0.7, "spam", 0.8)
    assert low.shrunk(0.5).threshold == pytest.approx(1 / 3)  # sigmoid(log(1/4) / 2) = 1 / (1 + 2)
    for strength in STRENGTHS[1:-1]:
        assert low.shrunk(strength).threshold == pytest.approx(expit(strength * logit(0.2)))
        assert high.shrunk(strength).threshold == pytest.approx(1 - low.shrunk(strength).threshold)
    thresholds = [low.shrunk(strength).threshold for strength in STRENGTHS[1:]]
    assert np.all(np.diff(thresholds) < 0) and thresholds[0] < 0.5 and thresholds[-1] == 0.2
    shrunk = low.shrunk(0.25)
    assert (shrunk.metric, shrunk.score, shrunk.positive_class) == ("mcc", None, "spam")
    offsets = ClassOffsetsRule("f1_macro", 0.8, (0.0, 1.0, -2.0)).shrunk(0.25)
    assert offsets == ClassOffsetsRule("f1_macro", None, (0.0, 0.25, -0.5))


# ---------------------------------------------------------------------------------------------------- the metric


@pytest.mark.parametrize("seed", range(3))
def test_metric_scores_are_sklearn_s_under_row_weights(seed):
    rng = np.random.default_rng(seed)
    labels, predicted = BINARY[(rng.random(300) < 0.2).astype(int)], BINARY[(rng.random((3, 300)) < 0.3).astype(int)]
    counts = rng.integers(0, 3, (2, 300))  # a weighting that counts rows 0, 1 or 2 times: the rows repeated
    sklearn = {"f1": lambda y, p: skm.f1_score(y, p, pos_label="spam"), "fbeta": lambda y, p: skm.f1_score(
        y, p, pos_label="spam"), "f1_macro": lambda y, p: skm.f1_score(y, p, average="macro"),
        "mcc": skm.matthews_corrcoef, "gmean": geometric_mean_score, "balanced_accuracy": skm.balanced_accuracy_score,
        "youden": lambda y, p: skm.balanced_accuracy_score(y, p, adjusted=True)}
    for metric, score in sklearn.items():
        expected = [[score(np.repeat(labels, c), np.repeat(p, c)) for p in predicted] for c in counts]
        np.testing.assert_allclose(metric_scores(labels, predicted, BINARY, metric, "spam", counts), expected)
    labels, predicted = FIVE[rng.choice(5, 300, p=[0.5, 0.2, 0.15, 0.1, 0.05])], FIVE[rng.integers(0, 4, (2, 300))]
    np.testing.assert_allclose(metric_scores(labels, predicted, FIVE, "f1_macro")[0], [skm.f1_score(
        labels, p, labels=FIVE, average="macro", zero_division=0) for p in predicted])
    np.testing.assert_allclose(metric_scores(labels, predicted, FIVE, "balanced_accuracy")[0],
                               [skm.balanced_accuracy_score(labels, p) for p in predicted])


def test_a_tuned_rule_scores_its_score():
    for classes, prior, positive in ((BINARY, [0.9, 0.1], "spam"), (FIVE, [0.4, 0.25, 0.15, 0.12, 0.08], None)):
        labels, proba, _ = calibrated(0, classes, prior, n=500)
        rule = tune_rule(labels, proba, classes, "f1_macro", positive)
        score = metric_scores(labels, rule.predict(proba, classes)[None], classes, "f1_macro", positive)[0, 0]
        assert score == pytest.approx(rule.score, abs=1e-12)


# --------------------------------------------------------------------------------------- the check of the rules


@pytest.mark.parametrize("classes", [BINARY, FIVE], ids=["binary", "multiclass"])
def test_offsets_that_fit_noise_give_way_to_the_argmax(classes):
    """Balanced classes, calibrated probabilities: the argmax is already the best rule, so a tuned rule only fits
    the OOF rows' noise. It always wins in sample and loses on fresh rows; the check mostly keeps the argmax (a
    chance gain beyond the noise remains possible) and on fresh rows all but matches it."""
    prior, positive = np.full(len(classes), 1 / len(classes)), classes[-1]
    fresh_labels, fresh_proba, _ = calibrated(100, classes, prior, n=20000)

    def fresh(rule: DecisionRule) -> float:
        """The rule's gain over the argmax on 20,000 fresh rows."""
        predicted = np.stack([rule.predict(fresh_proba, classes), ArgmaxRule().predict(fresh_proba, classes)])
        scores = metric_scores(fresh_labels, predicted, classes, "f1_macro", positive)[0]
        return scores[0] - scores[1]

    tuned, checked = [], []
    for seed in range(16):
        labels, proba, fold = calibrated(seed, classes, prior)
        tuned.append(tune_rule(labels, proba, classes, "f1_macro", positive))
        checked.append(checked_rule(labels, proba, fold, classes, "f1_macro", positive))
    assert all(rule.check.in_sample > rule.check.untuned for rule in checked)
    kept = [rule for rule in checked if rule.check.strength == 0]
    assert len(kept) >= 10 and all(isinstance(rule, ArgmaxRule) and rule.score == rule.check.untuned
                                   for rule in kept)
    tuned_loss, checked_loss = np.mean([fresh(rule) for rule in tuned]), np.mean([fresh(rule) for rule in checked])
    assert tuned_loss < -0.001 and checked_loss > tuned_loss / 3


@pytest.mark.parametrize("classes, prior", [(BINARY, [0.92, 0.08]), (FIVE, [0.4, 0.25, 0.15, 0.12, 0.08])],
                         ids=["binary", "multiclass"])
def test_a_systematic_bias_is_corrected(classes, prior):
    """A model that under-reports its rarest class (log-probability - 1.5): the rule that fixes it holds up out
    of fold and is kept at a strength > 0, far above the argmax."""
    for seed in range(3):
        labels, proba, fold = calibrated(seed, classes, prior, bias=-1.5)
        rule = checked_rule(labels, proba, fold, classes, "f1_macro", classes[-1])
        assert rule.check.strength >= 0.75 and rule.check.score > rule.check.untuned + 0.02
        tuned = tune_rule(labels, proba, classes, "f1_macro", classes[-1])
        assert rule == replace(tuned.shrunk(rule.check.strength), score=rule.score, check=rule.check)
        assert rule.score == pytest.approx(metric_scores(labels, rule.predict(proba, classes)[None], classes,
                                                         "f1_macro", classes[-1])[0, 0])


def test_the_check_records_the_cross_fitted_scores():
    labels, proba, fold = calibrated(0, BINARY, [0.9, 0.1], bias=-1.0)
    rule = checked_rule(labels, proba, fold, BINARY, "mcc", "spam")
    check = rule.check
    assert check.strengths == STRENGTHS and len(check.cross_fitted) == len(check.noise) == len(STRENGTHS)
    assert check.untuned == pytest.approx(skm.matthews_corrcoef(labels, BINARY[proba.argmax(axis=1)]))
    assert check.noise[0] == 0 and all(value > 0 for value in check.noise[1:])
    assert check.in_sample == tune_rule(labels, proba, BINARY, "mcc", "spam").score
    # Fold by fold by hand, at full strength: tuned on the other folds, applied to the fold.
    predicted = np.empty(len(labels), dtype=object)
    for k in range(5):
        held = fold == k
        predicted[held] = tune_rule(labels[~held], proba[~held], BINARY, "mcc", "spam").predict(proba[held], BINARY)
    assert check.cross_fitted[-1] == pytest.approx(skm.matthews_corrcoef(labels, predicted))


# ------------------------------------------------------------------------------------------------ the blend check


def test_the_blend_of_exchangeable_models_has_equal_weights():
    labels, proba, fold = calibrated(1, BINARY, [0.9, 0.1])
    # One model twice: every weight blends the same probabilities; the tie goes to equal weights.
    blend, rule = checked_blend(labels, proba, proba, fold, BINARY, "f1_macro", "spam")
    assert blend["tuned_weight"] == 0.0 and blend["weight"] == 0.5 and blend["check"]["strength"] == 0
    assert blend["rule"] == rule.to_json() and blend["score"] == rule.check.in_sample
    # Two equally good models with independent errors: the tuned weight is noise, mostly set aside.
    blends = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        noisy = [expit(logit(proba[:, 1]) + rng.normal(0, 1.0, len(labels))) for _ in range(2)]
        transformer, baseline = (np.column_stack([1 - p, p]) for p in noisy)
        blends.append(checked_blend(labels, transformer, baseline, fold, BINARY, "f1_macro", "spam")[0])
    assert sum(blend["weight"] == 0.5 for blend in blends) >= 6
    assert sum(blend["tuned_weight"] != 0.5 for blend in blends) >= 4
    assert all(abs(blend["weight"] - 0.5) <= 0.125 and len(set(blend["fold_weights"])) > 1 for blend in blends)


def test_the_blend_leans_on_the_model_that_is_not_noise():
    labels, proba, fold = calibrated(2, BINARY, [0.9, 0.1])
    noise = np.random.default_rng(0).random(len(labels))
    blend, _ = checked_blend(labels, proba, np.column_stack([1 - noise, noise]), fold, BINARY, "f1_macro", "spam")
    check = StrengthCheck.from_json(blend["check"])
    assert blend["weight"] >= 0.875 and check.strength >= 0.75 and check.score > check.untuned + 0.02
    assert min(blend["fold_weights"]) >= 0.75


# -------------------------------------------------------------------------------------------------- saved checks


def test_a_checked_rule_round_trips_through_json():
    labels, proba, fold = calibrated(0, FIVE, [0.4, 0.25, 0.15, 0.12, 0.08], bias=-1.5)
    for rule in (checked_rule(labels, proba, fold, FIVE, "f1_macro"),
                 ArgmaxRule("f1_macro", 0.5, check=StrengthCheck((0.0, 1.0), (0.5, 0.4), (0.0, 0.1), 0.0, 0.6))):
        saved = json.loads(json.dumps(rule.to_json()))
        assert DecisionRule.from_json(saved, FIVE) == rule and saved["check"]["strength"] == rule.check.strength
    assert ArgmaxRule().to_json() == {"kind": "argmax"}
    good = rule.check.to_json()
    for bad in ({**good, "strength": 0.5}, {**good, "noise": [0.0]}, {**good, "strengths": [0.25, 1.0]},
                {**good, "cross_fitted": [0.5, float("nan")]}, {**good, "in_sample": None}, [good]):
        with pytest.raises(ValueError, match="a check needs strengths starting at 0"):
            DecisionRule.from_json({"kind": "argmax", "check": bad}, FIVE)


# ------------------------------------------------------------------------------------------------------ the step


@pytest.fixture(scope="module")
def run_with_two_models(tmp_path_factory):
    """A binary run folder with the baseline's OOF and test files and a faked Transformer's."""
    root = tmp_path_factory.mktemp("decide")
    data = make_competition(root / "data", {"ham": 60, "spam": 15})
    run = root / "run"
    step("baseline", data, run)
    for seed, name in enumerate(("oof.csv", "test.csv", "test_per_fold.csv")):
        fake_model_file(run, f"baseline_{name}", name, seed=seed)
    return data, run


def _oof(run, name):
    frame = read_oof(run / name)
    proba = frame[["proba_ham", "proba_spam"]].to_numpy()
    return frame["label"].to_numpy(dtype=object), proba, frame["fold"].to_numpy()


def test_robust_false_is_the_old_decision(run_with_two_models, tmp_path):
    data, run = run_with_two_models
    step("decide", data, run, *TRANSFORMER, "--threshold.robust", "false")
    labels, transformer, _ = _oof(run, "oof.csv")
    _, baseline, _ = _oof(run, "baseline_oof.csv")
    saved = json.loads((run / "decision.json").read_text())
    blend, blend_rule = tune_blend(labels, transformer, baseline, BINARY, "f1_macro", "spam")
    assert saved == {"transformer": tune_rule(labels, transformer, BINARY, "f1_macro", "spam").to_json(),
                     "baseline": tune_rule(labels, baseline, BINARY, "f1_macro", "spam").to_json(),
                     "blend": blend_rule.to_json()}
    assert json.loads((run / "blend.json").read_text()) == json.loads(json.dumps(blend))


def test_robust_decision_saves_and_reports_its_check(run_with_two_models, capsys):
    data, run = run_with_two_models
    step("decide", data, run, *TRANSFORMER, "--threshold.robust", "false")
    step("report", data, run, *TRANSFORMER)  # the saved rules are unchecked: the report has no check to show
    assert "Out-of-sample check" not in (run / "report" / "report.md").read_text()
    step("submit", data, run, *TRANSFORMER)  # robust by default: the unchecked rules are tuned again
    assert "tuning again" in capsys.readouterr().err
    labels, transformer, fold = _oof(run, "oof.csv")
    _, baseline, _ = _oof(run, "baseline_oof.csv")
    saved = json.loads((run / "decision.json").read_text())
    assert saved["transformer"] == checked_rule(labels, transformer, fold, BINARY, "f1_macro", "spam").to_json()
    blend, rule = checked_blend(labels, transformer, baseline, fold, BINARY, "f1_macro", "spam")
    assert saved["blend"] == rule.to_json() and {"check", "tuned_weight", "fold_weights"} <= set(blend)
    assert json.loads((run / "blend.json").read_text()) == json.loads(json.dumps(blend))

    step("report", data, run, *TRANSFORMER)
    markdown = (run / "report" / "report.md").read_text()
    assert "## Out-of-sample check of the decision rules" in markdown
    assert "| model | argmax | tuned, in sample | cross-fitted, full strength | cross-fitted, in use |" in markdown
    assert f"weight in use **{blend['weight']:g}**" in markdown
    numbers = json.loads((run / "report" / "report.json").read_text())
    assert numbers["blend_weight"]["check"] == blend["check"]
    assert numbers["models"]["baseline"]["decision"]["rule"]["check"] == saved["baseline"]["check"]


@pytest.mark.parametrize("file, content", [
    ("blend.json", '{"weight": 1.5}'),
    ("blend.json", '{"weight": 0.5, "check": {"strengths": [0.0]}, "tuned_weight": 0.5, "fold_weights": [0.5]}'),
    ("blend.json", '{"weight": 0.5, "check": {}, "fold_weights": "0.5"}'),
    ("blend.json", "not json"),
    ("decision.json", '{"baseline": {"kind": "argmax", "check": {"strengths": [1.0]}}}'),
])
def test_malformed_checks_name_the_step_to_rerun(run_with_two_models, tmp_path, capsys, file, content):
    data, run = run_with_two_models
    step("decide", data, run, *TRANSFORMER)
    (run / file).write_text(content)
    with pytest.raises(SystemExit) as info:
        step("report", data, run, *TRANSFORMER)
    error = capsys.readouterr().err
    assert info.value.code == 2 and f"{file} does not fit" in error and "re-run the decide step" in error
