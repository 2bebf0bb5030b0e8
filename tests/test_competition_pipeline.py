"""The competition pipeline's Transformer half: fold training, predictions, decision rules, blend, submission.

End-to-end runs use the tiny configs (competition/configs/tiny_test*.yaml: two folds of a one-layer Transformer)
on a 200-row subset of the binary demo; the decision and ensembling helpers are cross-checked against
scikit-learn and NumPy on random inputs.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kills import SimulatedKill, kill_at_second_epoch
from scipy.special import expit, logit, softmax
from scipy.stats import rankdata
from sklearn.metrics import balanced_accuracy_score, matthews_corrcoef
from sklearn.metrics import f1_score as sklearn_f1_score
from tiny_competition import write_tiny_competition

import competition.train
from competition.runner import main
from competition.data import Competition, CompetitionDataError, load_competition, validate_submission
from competition.decide import BLEND_WEIGHTS, tune_blend
from competition.predict import ensemble
from competition.rules import ArgmaxRule, ClassOffsetsRule, DecisionRule, ThresholdRule, tune_rule
from competition.submit import make_submission


def write_submission(path, submission, competition, kind):
    """What the submit step does with a frame: validate it against sample_submission.csv, then write it."""
    validate_submission(submission, competition.sample_submission, competition.classes, kind, competition.id_column)
    submission.to_csv(path, index=False)


CONFIG = "competition/configs/tiny_test_pipeline.yaml"
REPRODUCIBLE = ("folds.csv", "oof.csv", "test.csv", "test_per_fold.csv", "baseline_oof.csv", "blend_oof.csv",
                "blend_test.csv", "decision.json", "blend.json", "submission.csv")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """200 train rows of the binary demo (10% spam) and its first 60 test rows."""
    return write_tiny_competition(tmp_path_factory.mktemp("tiny_competition"), 20, 180, 60)


def run_pipeline(data_dir: Path, output: Path, command: str = "run", *extra: str) -> None:
    main([command, "--config", CONFIG, "--data.dir", str(data_dir), "--output", str(output), *extra])


@pytest.fixture(scope="module")
def first_run(data_dir, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("runs") / "first"
    run_pipeline(data_dir, output)
    return output


# ------------------------------------------------------------------------------------------------- end to end


def test_run_writes_predictions_decisions_submission_and_report(first_run, data_dir):
    for name in (*REPRODUCIBLE, "baseline_test.csv", "manifest.json", "run.log"):
        assert (first_run / name).stat().st_size > 0, name
    for name in ("report.md", "report.html", "report.json"):
        assert (first_run / "report" / name).stat().st_size > 0, name
    folds = pd.read_csv(first_run / "folds.csv", dtype={"id": str})
    for k in range(2):
        fold = first_run / "folds" / f"fold_{k}"
        assert (fold / "checkpoints" / "last.ckpt").is_file()
        assert {path.parent for path in fold.rglob("*.ckpt")} == {fold / "checkpoints"}
        assert json.loads((fold / "done.json").read_text())["valid_rows"] == int((folds["fold"] == k).sum())

    train = pd.read_csv(data_dir / "train.csv", dtype=str, keep_default_na=False)
    oof = pd.read_csv(first_run / "oof.csv", dtype={"id": str, "label": str})
    assert list(oof.columns) == ["id", "fold", "label", "proba_ham", "proba_spam"]
    assert (oof["id"] == train["id"]).all() and (oof["label"] == train["label"]).all()
    assert (oof["fold"] == folds["fold"]).all()
    np.testing.assert_allclose(oof[["proba_ham", "proba_spam"]].sum(axis=1), 1.0, atol=1e-6)

    per_fold = pd.read_csv(first_run / "test_per_fold.csv", dtype={"id": str})
    test = pd.read_csv(first_run / "test.csv", dtype={"id": str})
    mean = per_fold.groupby("id", sort=False)[["proba_ham", "proba_spam"]].mean()
    np.testing.assert_allclose(test[["proba_ham", "proba_spam"]].to_numpy(), mean.loc[test["id"]].to_numpy())

    decisions = json.loads((first_run / "decision.json").read_text())
    assert set(decisions) == {"transformer", "baseline", "blend"}
    # A rule the out-of-sample check shrank to the argmax has no positive class.
    assert all(rule["metric"] == "f1_macro" and rule.get("positive_class", "spam") == "spam" and "check" in rule
               for rule in decisions.values())
    blend = json.loads((first_run / "blend.json").read_text())
    assert max(blend["scores"]) == blend["scores"][blend["weights"].index(blend["tuned_weight"])]
    assert max(blend["scores"]) >= max(decisions["baseline"]["check"]["in_sample"], 0)
    assert blend["score"] == decisions["blend"]["check"]["in_sample"] <= max(blend["scores"])

    sample = pd.read_csv(data_dir / "sample_submission.csv", dtype=str, keep_default_na=False)
    submission = pd.read_csv(first_run / "submission.csv", dtype=str, keep_default_na=False)
    assert list(submission.columns) == list(sample.columns) and (submission["id"] == sample["id"]).all()
    assert set(submission["label"]) <= {"ham", "spam"}  # which labels: test_label_submission_is_decided_fold_by_fold


def test_rerun_into_another_folder_is_byte_identical(first_run, data_dir, tmp_path):
    run_pipeline(data_dir, tmp_path / "second")
    for name in REPRODUCIBLE:
        assert (tmp_path / "second" / name).read_bytes() == (first_run / name).read_bytes(), name


def _kill_fold_1(data_dir, output, monkeypatch, *extra):
    """Run the pipeline (``extra``: more arguments) into ``output`` until a kill in fold 1's second epoch."""
    build = competition.train.build

    def build_killing_fold_1(args):
        cli = build(args)
        if args["data"]["val_fold"] == 1:
            kill_at_second_epoch(cli.trainer)
        return cli

    with monkeypatch.context() as patch:
        patch.setattr(competition.train, "build", build_killing_fold_1)
        with pytest.raises(SimulatedKill):
            run_pipeline(data_dir, output, "run", *extra)


def test_killed_run_skips_finished_folds_and_resumes_the_interrupted_one(first_run, data_dir, tmp_path,
                                                                         monkeypatch):
    output = tmp_path / "killed"
    _kill_fold_1(data_dir, output, monkeypatch)
    fold_0, fold_1 = output / "folds" / "fold_0", output / "folds" / "fold_1"
    assert (fold_0 / "done.json").is_file() and not (fold_1 / "done.json").exists()
    assert (fold_1 / "checkpoints" / "last.ckpt").is_file() and not (output / "oof.csv").exists()
    fold_0_done = (fold_0 / "done.json").read_bytes()

    run_pipeline(data_dir, output)
    assert (fold_0 / "done.json").read_bytes() == fold_0_done  # skipped, not retrained
    assert json.loads((fold_1 / "done.json").read_text())["status"] == "resumed"
    assert "transformer fold 0 of 2: already trained" in (output / "run.log").read_text()
    # Per-epoch reseeding makes the resumed fold train exactly like the uninterrupted one.
    for name in REPRODUCIBLE:
        assert (output / name).read_bytes() == (first_run / name).read_bytes(), name


@pytest.mark.parametrize("damage", ["truncated", "empty, no other checkpoint"])
def test_an_unreadable_last_checkpoint_is_named_and_passed_over(first_run, data_dir, tmp_path, monkeypatch, capsys,
                                                                damage):
    """A kill during the checkpoint write (or a full disk) leaves a broken last.ckpt: the rerun says which file,
    resumes from the best epoch's checkpoint, or from scratch, and still ends where an unbroken run ends."""
    output = tmp_path / "broken"
    # Validated every epoch, a fold model has a best epoch's checkpoint to fall back to (with transformer.checkpoint
    # last it validates after its last epoch only); validation changes no weight, so the outputs are first_run's.
    every_epoch = ("--transformer.trainer", "{check_val_every_n_epoch: 1}")
    _kill_fold_1(data_dir, output, monkeypatch, *every_epoch)
    checkpoints = output / "folds" / "fold_1" / "checkpoints"
    last = checkpoints / "last.ckpt"
    if damage == "truncated":
        last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    else:
        last.write_bytes(b"")
        for best in checkpoints.glob("best-*.ckpt"):
            best.unlink()
    capsys.readouterr()
    run_pipeline(data_dir, output, "run", *every_epoch)
    error = capsys.readouterr().err
    if damage == "truncated":
        assert re.search(rf"{re.escape(str(last))}: truncated.*not a readable checkpoint.*; resuming from best-", error)
    else:
        assert f"{last}: empty file; no other readable checkpoint in {checkpoints}: training from scratch" in error
    assert "PytorchStreamReader" not in error and "Traceback" not in error
    for name in REPRODUCIBLE:
        assert (output / name).read_bytes() == (first_run / name).read_bytes(), name


def test_a_fold_model_is_what_imbalance_xfmr_fit_trains_from_the_same_config(first_run, tmp_path):
    """Each fold model's logs hold the `imbalance-xfmr fit` config it was trained with; `imbalance-xfmr fit` run on
    that file (elsewhere) gives the same weights, tensor for tensor."""
    import torch

    from imbalance_xfmr.cli import main as imbalance_xfmr

    fold = first_run / "folds" / "fold_0"
    config = fold / "logs" / "version_0" / "config.yaml"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the pipeline's transformer.num_threads: floating-point sums depend on it
    try:
        imbalance_xfmr(["fit", "--config", str(config), "--checkpoints.dirpath", str(tmp_path / "checkpoints"),
                        "--trainer.default_root_dir", str(tmp_path), "--trainer.logger", "false"])
    finally:
        torch.set_num_threads(threads)
    ours = torch.load(fold / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    theirs = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    assert ours.keys() == theirs.keys() and len(ours) > 10
    assert all(torch.equal(ours[name], theirs[name]) for name in ours)


def test_steps_rerun_on_a_finished_run_without_retraining(first_run, data_dir, tmp_path):
    run = tmp_path / "moved"
    shutil.copytree(first_run, run)
    done = (run / "folds" / "fold_0" / "done.json").read_bytes()
    run_pipeline(data_dir, run, "train")
    run_pipeline(data_dir, run, "submit")
    assert (run / "folds" / "fold_0" / "done.json").read_bytes() == done
    assert (run / "submission.csv").read_bytes() == (first_run / "submission.csv").read_bytes()
    # Another metric is a re-submit, not a retrain: the rules are tuned again from the OOF files.
    run_pipeline(data_dir, run, "submit", "--threshold.metric", "mcc", "--submission.source", "transformer")
    assert all(rule["metric"] == "mcc" for rule in json.loads((run / "decision.json").read_text()).values())
    assert (run / "folds" / "fold_0" / "done.json").read_bytes() == done


def test_a_run_refuses_to_continue_under_an_edited_transformer_yaml(first_run, data_dir, tmp_path, capsys):
    run = tmp_path / "edited"
    shutil.copytree(first_run, run)
    yaml_path = tmp_path / "tiny.yaml"
    yaml_path.write_text(Path("competition/configs/tiny_test.yaml").read_text().replace("d_model: 16", "d_model: 32"))
    with pytest.raises(SystemExit):
        run_pipeline(data_dir, run, "train", "--transformer.lightning_config", str(yaml_path))
    error = capsys.readouterr().err
    assert "lightning.model.d_model: 16 -> 32" in error and "--overwrite" in error
    # The same edit through the overrides is the same change of the fold models.
    with pytest.raises(SystemExit):
        run_pipeline(data_dir, run, "train", "--transformer.model", "{d_model: 32}")
    assert "lightning.model.d_model: 16 -> 32" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------- submission


@pytest.fixture(scope="module")
def tiny(data_dir):
    return load_competition(data_dir)


def _labels_submission(tiny):
    return make_submission(tiny, "labels", np.full(len(tiny.test), "ham", dtype=object))


def test_a_valid_label_submission_is_written(tiny, tmp_path):
    write_submission(tmp_path / "submission.csv", _labels_submission(tiny), tiny, "labels")
    written = pd.read_csv(tmp_path / "submission.csv", dtype=str)
    assert written.equals(tiny.sample_submission.assign(label="ham"))


@pytest.mark.parametrize("spoil, message", [
    (lambda s: s[["label", "id"]], "columns"),
    (lambda s: s.rename(columns={"label": "target"}), "columns"),
    (lambda s: s.iloc[::-1].reset_index(drop=True), "another order"),
    (lambda s: s.iloc[:-1], "missing from the submission"),
    (lambda s: s.assign(id=s["id"].where(s.index != 0, "unknown")), "not in sample_submission"),
    (lambda s: s.assign(label=s["label"].where(s.index != 3, "eggs")), "not classes"),
    (lambda s: s.assign(label=s["label"].where(s.index != 3, None)), "missing value"),
])
def test_each_invalid_submission_is_refused_and_not_written(tiny, tmp_path, spoil, message):
    with pytest.raises(CompetitionDataError, match=message):
        write_submission(tmp_path / "submission.csv", spoil(_labels_submission(tiny)), tiny, "labels")
    assert not (tmp_path / "submission.csv").exists()


def test_probability_submissions_follow_sample_submission(data_dir, tmp_path):
    folder = tmp_path / "competition"
    folder.mkdir()
    for name in ("train.csv", "test.csv"):
        (folder / name).write_bytes((data_dir / name).read_bytes())
    sample = pd.read_csv(data_dir / "sample_submission.csv", dtype=str)
    proba = np.random.default_rng(0).dirichlet([1, 1], size=len(sample))
    # One value column: the positive class's probability.
    sample.assign(label="0.5").to_csv(folder / "sample_submission.csv", index=False)
    one_column = load_competition(folder, submission_kind="probabilities")
    submission = make_submission(one_column, "probabilities", proba, positive="spam")
    np.testing.assert_array_equal(submission["label"], proba[:, 1])
    write_submission(folder / "submission.csv", submission, one_column, "probabilities")
    # One column per class, in sample_submission's column order (not the classes' order).
    sample[["id"]].assign(spam="0.5", ham="0.5").to_csv(folder / "sample_submission.csv", index=False)
    per_class = load_competition(folder, submission_kind="probabilities")
    submission = make_submission(per_class, "probabilities", proba)
    assert list(submission.columns) == ["id", "spam", "ham"]
    np.testing.assert_array_equal(submission[["spam", "ham"]].to_numpy(), proba[:, ::-1])
    with pytest.raises(CompetitionDataError, match="not probabilities"):
        write_submission(folder / "submission.csv", submission.assign(spam=1.5), per_class, "probabilities")


def test_a_source_the_config_does_not_make_is_refused_before_any_work(data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_pipeline(data_dir, tmp_path / "run", "run", "--baseline.enabled", "false")
    error = capsys.readouterr().err
    assert "submission.source is 'blend', but baseline is disabled" in error
    assert "set submission.source to 'transformer'" in error
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------------------------------- decision


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["f1_macro", "mcc", "balanced_accuracy", "f1"]))
def test_tuned_threshold_is_the_best_over_all_observed_scores(seed, metric):
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(60) < 0.2, "spam", "ham").astype(object)
    labels[:2] = ["ham", "spam"]
    p_spam = np.clip(0.3 * (labels == "spam") + rng.random(60) * 0.7, 0, 1)
    classes = np.array(["ham", "spam"], dtype=object)
    rule = tune_rule(labels, np.column_stack([1 - p_spam, p_spam]), classes, metric, "spam")
    score = {"f1_macro": lambda y, p: sklearn_f1_score(y, p, average="macro"),
             "f1": lambda y, p: sklearn_f1_score(y, p, pos_label="spam", zero_division=0),
             "mcc": matthews_corrcoef, "balanced_accuracy": balanced_accuracy_score}[metric]
    predicted = rule.predict(np.column_stack([1 - p_spam, p_spam]), classes)
    assert score(labels, predicted) == pytest.approx(rule.score, abs=1e-12)
    scores = {t: score(labels, np.where(p_spam >= t, "spam", "ham")) for t in np.unique(p_spam)}
    best = max(scores.values())
    assert rule.score == pytest.approx(best, abs=1e-12)
    # Among equally good thresholds the largest wins (fewest predicted positives).
    assert rule.threshold == max(t for t, value in scores.items() if value >= best - 1e-12)


def test_multiclass_rules_are_class_offsets_never_worse_than_argmax():
    rng = np.random.default_rng(0)
    classes = np.array(["a", "b", "c"], dtype=object)
    labels = classes[rng.choice(3, size=300, p=[0.7, 0.25, 0.05])]
    proba = rng.dirichlet([1, 1, 1], size=300) * 0.5 + 0.5 * (labels[:, None] == classes[None, :])
    proba /= proba.sum(axis=1, keepdims=True)
    rule = tune_rule(labels, proba, classes, "f1_macro")
    assert isinstance(rule, ClassOffsetsRule) and len(rule.offsets) == 3
    argmax_score = sklearn_f1_score(labels, classes[proba.argmax(axis=1)], average="macro")
    assert rule.score == pytest.approx(sklearn_f1_score(labels, rule.predict(proba, classes), average="macro"))
    assert rule.score >= argmax_score


def test_blend_weight_is_the_best_of_the_grid():
    rng = np.random.default_rng(1)
    classes = np.array(["ham", "spam"], dtype=object)
    labels = np.where(rng.random(200) < 0.15, "spam", "ham").astype(object)
    truth = (labels == "spam").astype(float)
    good, noise = 0.6 * truth + 0.4 * rng.random(200), rng.random(200)
    blend, rule = tune_blend(labels, np.column_stack([1 - good, good]), np.column_stack([1 - noise, noise]), classes,
                             "f1_macro", "spam")
    assert blend["weights"] == BLEND_WEIGHTS.tolist() and len(blend["scores"]) == 21
    assert blend["score"] == max(blend["scores"]) == 1.0 and blend["weight"] > 0.5
    assert blend["rule"] == rule.to_json() and rule.score == blend["score"]


def _competition_with_labels(labels: list[str]) -> Competition:
    train = pd.DataFrame({"id": [str(i) for i in range(len(labels))], "text": "x", "label": labels})
    return Competition(Path("."), train, train[["id", "text"]], train[["id", "label"]],
                       np.unique(np.asarray(labels, dtype=object)))


def test_the_minority_class_has_one_tie_rule():
    assert _competition_with_labels(["0", "0", "1"]).minority_class == "1"
    assert _competition_with_labels(["0", "1", "1"]).minority_class == "0"
    assert _competition_with_labels(["0", "1", "1", "0"]).minority_class == "1"  # a tie: the later class
    assert _competition_with_labels(["a", "b", "c", "a", "c"]).minority_class == "b"


# ---------------------------------------------------------------------------------------------------- ensemble


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(2, 30), st.integers(2, 4))
def test_fold_ensembles(seed, n_folds, n_rows, n_classes):
    rng = np.random.default_rng(seed)
    per_fold = rng.dirichlet(np.ones(n_classes), size=(n_folds, n_rows))
    np.testing.assert_allclose(ensemble(per_fold, "mean"), per_fold.mean(axis=0))
    ranked = ensemble(per_fold, "rank")
    assert ranked.shape == (n_rows, n_classes)
    np.testing.assert_allclose(ranked.sum(axis=1), 1.0)
    if n_classes == 2:
        # Each row's positive probability orders the rows like their mean rank over folds.
        mean_rank = rankdata(per_fold[:, :, 1], axis=1).mean(axis=0)
        order = np.argsort(mean_rank, kind="stable")
        assert (np.diff(ranked[order, 1]) >= -1e-12).all()
    with pytest.raises(ValueError, match="'mean' or 'rank'"):
        ensemble(per_fold, "median")


# ------------------------------------------------------------------------------------ per-fold label decisions

BINARY = np.array(["ham", "spam"], dtype=object)
EXTREME_PROBABILITIES = [0.0, 1.0, 5e-324, 2.2250738585072014e-308, 1e-300, 1e-10, 0.5, 1 - 2**-53, 1 - 1e-10]
probabilities = st.one_of(st.sampled_from(EXTREME_PROBABILITIES), st.floats(0, 1))


@given(st.lists(probabilities, min_size=1, max_size=40), st.data())
def test_one_fold_threshold_decision_is_exactly_the_threshold_rule(p_spam, data):
    p_spam = np.array(p_spam)
    # tune_threshold returns one of the observed scores, so thresholds are mostly some row's own probability.
    threshold = data.draw(st.one_of(st.sampled_from(p_spam.tolist()), st.sampled_from([0.0, 1.0]), probabilities))
    neighbours = np.clip([threshold, np.nextafter(threshold, 0), np.nextafter(threshold, 1)], 0, 1)
    p_spam = np.concatenate([p_spam, neighbours])
    proba = np.column_stack([1 - p_spam, p_spam])
    for positive in BINARY:
        rule = ThresholdRule(positive_class=positive, threshold=threshold)
        np.testing.assert_array_equal(rule.predict_per_fold(proba[None], BINARY), rule.predict(proba, BINARY))


@given(st.integers(1, 4), st.lists(st.lists(probabilities, min_size=3, max_size=3), min_size=1, max_size=20),
       st.lists(st.one_of(st.floats(-50, 50), st.sampled_from([0.0, np.log(2), -np.log(2), 700.0])), min_size=3,
                max_size=3))
def test_one_fold_offset_decision_is_exactly_the_offset_rule(n_classes, rows, offsets):
    proba = np.array(rows)
    # Near-ties: a column one ulp from its neighbour, and exact copies, where exp could round two log-scores
    # to one probability.
    proba = np.column_stack([proba, np.nextafter(proba[:, :1], 1), proba[:, 1:2]])[:, :n_classes + 1]
    classes = np.array([f"c{j}" for j in range(proba.shape[1])], dtype=object)
    offsets = (offsets + [0.0, 0.0])[:proba.shape[1]]
    for rule in (ClassOffsetsRule(offsets=tuple(offsets)), ArgmaxRule()):
        np.testing.assert_array_equal(rule.predict_per_fold(proba[None], classes), rule.predict(proba, classes))


def test_one_fold_decision_with_tuned_rules():
    rng = np.random.default_rng(3)
    for classes in (BINARY, np.array(["a", "b", "c"], dtype=object)):
        labels = classes[rng.choice(len(classes), size=200, p=np.r_[0.8, np.full(len(classes) - 1, 0.2 / (len(
            classes) - 1))])]
        proba = rng.dirichlet(np.ones(len(classes)), size=200) * 0.6 + 0.4 * (labels[:, None] == classes)
        rule = tune_rule(labels, proba, classes, "f1_macro", "spam")
        np.testing.assert_array_equal(rule.predict_per_fold(proba[None], classes), rule.predict(proba, classes))


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 30), st.integers(2, 4))
def test_per_fold_decision_matches_scipy_on_random_folds(seed, n_folds, n_rows, n_classes):
    rng = np.random.default_rng(seed)
    per_fold = rng.dirichlet(np.ones(n_classes), size=(n_folds, n_rows))
    classes = np.array([f"c{j}" for j in range(n_classes)], dtype=object)
    if n_classes == 2:
        threshold = float(rng.uniform(0.01, 0.99))
        rule = ThresholdRule(positive_class="c1", threshold=threshold)
        adjusted = expit(logit(per_fold[:, :, 1]) - logit(threshold)).mean(axis=0)
        expected, clear = np.where(adjusted >= 0.5, "c1", "c0"), np.abs(adjusted - 0.5) > 1e-9
    else:
        offsets = rng.normal(0, 1, n_classes)
        rule = ClassOffsetsRule(offsets=tuple(offsets))
        adjusted = softmax(np.log(per_fold) + offsets, axis=2).mean(axis=0)
        top_two = np.sort(adjusted, axis=1)[:, -2:]
        expected, clear = classes[adjusted.argmax(axis=1)], top_two[:, 1] - top_two[:, 0] > 1e-9
    predicted = rule.predict_per_fold(per_fold, classes)
    np.testing.assert_array_equal(predicted[clear], expected[clear])


def test_per_fold_decision_differs_from_the_rule_on_the_fold_mean():
    # Binary: a threshold tuned low (0.2) for single models. Fold 0 is sure of spam, fold 1 sure of ham; their
    # mean (0.4505) clears 0.2, but re-centred at the threshold they average to 0.488 < 1/2: ham.
    per_fold = np.array([[[0.1, 0.9]], [[0.999, 0.001]]])
    rule = ThresholdRule(positive_class="spam", threshold=0.2)
    assert rule.predict(per_fold.mean(axis=0), BINARY).tolist() == ["spam"]
    assert expit(logit([0.9, 0.001]) - logit(0.2)).mean() == pytest.approx(0.48848, abs=1e-5)
    assert rule.predict_per_fold(per_fold, BINARY).tolist() == ["ham"]
    # Multiclass: offsets favouring the rare class c. The mean of two disagreeing folds gives c 0.255 * e > 0.535;
    # each fold's adjusted probabilities average to (0.118, 0.494, 0.388): b.
    classes = np.array(["a", "b", "c"], dtype=object)
    per_fold = np.array([[[0.4, 0.11, 0.49]], [[0.02, 0.96, 0.02]]])
    rule = ClassOffsetsRule(offsets=(0.0, 0.0, 1.0))
    assert rule.predict(per_fold.mean(axis=0), classes).tolist() == ["c"]
    np.testing.assert_allclose(softmax(np.log(per_fold) + [0, 0, 1], axis=2).mean(axis=0),
                               [[0.118248, 0.493912, 0.387840]], atol=1e-6)
    assert rule.predict_per_fold(per_fold, classes).tolist() == ["b"]


def test_per_fold_decision_rejects_bad_input():
    rule = ThresholdRule(positive_class="spam", threshold=0.5)
    good = np.full((2, 3, 2), 0.5)
    with pytest.raises(ValueError, match=r"shape \(n_folds >= 1, n_rows, 2\)"):
        rule.predict_per_fold(good[0], BINARY)
    with pytest.raises(ValueError, match=r"shape"):
        rule.predict_per_fold(np.full((2, 3, 3), 0.3), BINARY)
    for value in (np.nan, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
            rule.predict_per_fold(np.where(good == good, value, good), BINARY)


def test_saved_rules_are_validated_when_loaded():
    saved = {"kind": "threshold", "positive_class": "spam", "threshold": 0.25, "metric": "f1", "score": 0.5}
    assert DecisionRule.from_json(saved, BINARY) == ThresholdRule("f1", 0.5, "spam", 0.25)
    assert DecisionRule.from_json(saved, BINARY).to_json() == saved
    for threshold in (1.5, -0.1, float("nan"), "0.5"):
        with pytest.raises(ValueError, match=r"threshold in \[0, 1\]"):
            DecisionRule.from_json({**saved, "threshold": threshold}, BINARY)
    with pytest.raises(ValueError, match="positive_class among"):
        DecisionRule.from_json({**saved, "positive_class": "eggs"}, BINARY)
    with pytest.raises(ValueError, match="needs a binary task"):
        DecisionRule.from_json(saved, np.array(["a", "b", "c"], dtype=object))
    with pytest.raises(ValueError, match="2 finite offsets"):
        DecisionRule.from_json({"kind": "class_offsets", "offsets": [0.0, float("inf")]}, BINARY)
    with pytest.raises(ValueError, match="kind one of"):
        DecisionRule.from_json({"kind": "vote"}, BINARY)
    assert DecisionRule.from_json({"kind": "argmax"}, BINARY) == ArgmaxRule()


def test_label_submission_is_decided_fold_by_fold(first_run, tiny):
    decisions = json.loads((first_run / "decision.json").read_text())
    weight = json.loads((first_run / "blend.json").read_text())["weight"]
    columns = ["proba_ham", "proba_spam"]
    per_fold = {}
    for model, name in (("transformer", "test_per_fold.csv"), ("baseline", "baseline_test_per_fold.csv")):
        frame = pd.read_csv(first_run / name, dtype={"id": str})
        assert frame["fold"].tolist() == [0] * 60 + [1] * 60
        assert frame["id"].tolist() == tiny.test_ids.tolist() * 2
        per_fold[model] = frame[columns].to_numpy().reshape(2, 60, 2)
    # The baseline step's per-fold file averages to its baseline_test.csv.
    baseline_test = pd.read_csv(first_run / "baseline_test.csv", dtype={"id": str})
    np.testing.assert_allclose(per_fold["baseline"].mean(axis=0), baseline_test[columns].to_numpy(), rtol=0,
                               atol=1e-15)
    blend = weight * per_fold["transformer"] + (1 - weight) * per_fold["baseline"]
    blend_per_fold = pd.read_csv(first_run / "blend_test_per_fold.csv", dtype={"id": str})
    np.testing.assert_allclose(blend_per_fold[columns].to_numpy().reshape(2, 60, 2), blend, rtol=0, atol=1e-15)
    submission = pd.read_csv(first_run / "submission.csv", dtype=str, keep_default_na=False)
    rule = DecisionRule.from_json(decisions["blend"], tiny.classes)
    np.testing.assert_array_equal(submission["label"].to_numpy(dtype=object),
                                  rule.predict_per_fold(blend, tiny.classes))
    # The report's predicted test shares are the submission's.
    report = json.loads((first_run / "report" / "report.json").read_text())
    assert report["models"]["blend"]["test_predicted_counts"] == {
        label: int((submission["label"] == label).sum()) for label in ("ham", "spam")}


def test_label_submission_without_per_fold_files_names_the_step_to_rerun(first_run, data_dir, tmp_path, capsys):
    run = tmp_path / "old"
    shutil.copytree(first_run, run)
    for name, step, source in (("blend_test_per_fold.csv", "decide", "blend"),
                               ("test_per_fold.csv", "predict", "transformer"),
                               ("baseline_test_per_fold.csv", "baseline", "baseline")):
        (run / name).rename(run / f"{name}.away")
        with pytest.raises(SystemExit) as info:
            run_pipeline(data_dir, run, "submit", "--submission.source", source)
        error = capsys.readouterr().err
        assert info.value.code == 2 and f"{name} is missing" in error and f"run the {step} step" in error
        (run / f"{name}.away").rename(run / name)
    assert (run / "submission.csv").read_bytes() == (first_run / "submission.csv").read_bytes()
    # The baseline step does not skip while one of its files is absent, so re-running it brings the file back.
    (run / "baseline_test_per_fold.csv").unlink()
    run_pipeline(data_dir, run, "baseline")
    assert (run / "baseline_test_per_fold.csv").read_bytes() == (first_run / "baseline_test_per_fold.csv").read_bytes()
