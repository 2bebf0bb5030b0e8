"""The report step and ``compare``: files, a standalone HTML page, numbers checked against scikit-learn and
imbalanced-learn, binary and multiclass runs, decision rules, byte-identical re-runs and clear errors."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from imblearn.metrics import geometric_mean_score as imblearn_gmean
from sklearn import metrics as skm

from competition.runner import main
from competition.compare import compare, write_comparison
from competition.document import Heading, Image, Paragraph, Table, to_html, to_markdown

WORDS = {
    "ham": ["see", "you", "later", "lunch", "home", "call", "tonight", "ok"],
    "spam": ["win", "prize", "cash", "call", "txt", "free", "claim"],
    "promo": ["sale", "discount", "shop", "free", "today", "offer"],
}


def make_competition(folder: Path, counts: dict[str, int], seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    labels = [label for label, n in counts.items() for _ in range(n)]
    labels = list(rng.permutation(labels))
    train = pd.DataFrame({"id": [f"r{i:03d}" for i in range(len(labels))],
                          "text": [" ".join(rng.choice(WORDS[y], size=rng.integers(3, 9))) for y in labels],
                          "label": labels})
    test = pd.DataFrame({"id": [f"t{i}" for i in range(8)],
                         "text": [" ".join(rng.choice(WORDS[y], size=5)) for y in rng.choice(list(counts), 8)]})
    folder.mkdir(parents=True)
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    test[["id"]].assign(label=labels[0]).to_csv(folder / "sample_submission.csv", index=False)
    return folder


def step(command: str, data: Path, run: Path, *extra: str) -> None:
    main([command, "--data.dir", str(data), "--output", str(run), "--folds.n_splits", "3", "--baseline.min_df", "1",
          "--transformer.enabled", "false", *extra])


# The report and compare steps of runs that report a (faked) Transformer: its section must be enabled.
TRANSFORMER = ("--transformer.enabled", "true", "--transformer.lightning_config", "competition/configs/tiny_test.yaml")


def read_oof(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"id": str, "label": str}, keep_default_na=False)


def fake_model_file(run: Path, source: str, target: str, seed: int) -> None:
    """A second model's predictions: the baseline's, noised and renormalised (what a Transformer would write)."""
    frame = read_oof(run / source)
    columns = [c for c in frame.columns if c.startswith("proba_")]
    noisy = frame[columns].to_numpy() + np.random.default_rng(seed).uniform(0, 0.6, (len(frame), len(columns)))
    frame[columns] = noisy / noisy.sum(axis=1, keepdims=True)
    frame.to_csv(run / target, index=False)


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    """A binary run with the baseline, a fake transformer with a tuned threshold in decision.json, and a report."""
    root = tmp_path_factory.mktemp("binary")
    data = make_competition(root / "data", {"ham": 36, "spam": 9})
    run = root / "run"
    step("baseline", data, run)
    fake_model_file(run, "baseline_oof.csv", "oof.csv", seed=1)
    fake_model_file(run, "baseline_test.csv", "test.csv", seed=2)
    fake_model_file(run, "baseline_test_per_fold.csv", "test_per_fold.csv", seed=3)
    rule = {"kind": "threshold", "positive_class": "spam", "threshold": 0.37, "metric": "f1_macro", "score": 0.9}
    (run / "decision.json").write_text(json.dumps({"transformer": rule}))
    step("report", data, run, *TRANSFORMER)
    return data, run, rule


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory):
    """A 3-class run with the baseline under tuned class offsets (decision.json as a {model: rule} mapping)."""
    root = tmp_path_factory.mktemp("multiclass")
    data = make_competition(root / "data", {"ham": 30, "promo": 15, "spam": 6}, seed=3)
    run = root / "run"
    step("baseline", data, run)
    rule = {"kind": "class_offsets", "offsets": [0.0, 1.0, 2.5], "metric": "f1_macro", "score": 0.8}
    (run / "decision.json").write_text(json.dumps({"baseline": rule}))
    step("report", data, run)
    return data, run, rule


def report_json(run: Path) -> dict:
    return json.loads((run / "report" / "report.json").read_text())


def test_report_files_are_present_and_non_empty(binary):
    _, run, _ = binary
    numbers = report_json(run)
    names = {"report.md", "report.html", "report.json", *numbers["figures"]}
    assert {"text_lengths.png", "pr_curves.png", "roc_curves.png", "confusion_baseline.png",
            "confusion_transformer.png", "threshold_baseline.png", "threshold_transformer.png"} <= names
    for name in names:
        assert (run / "report" / name).stat().st_size > 0, name
    for name in numbers["figures"]:
        assert (run / "report" / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
    markdown = (run / "report" / "report.md").read_text()
    for name in numbers["figures"]:
        assert f"]({name})" in markdown
    assert numbers["missing_models"] == ["blend"] and set(numbers["models"]) == {"baseline", "transformer"}


def test_html_is_standalone(binary):
    _, run, _ = binary
    page = (run / "report" / "report.html").read_text()
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page, flags=re.IGNORECASE)
    assert references and all(ref.startswith("data:image/png;base64,") for ref in references)
    assert len(references) == len(report_json(run)["figures"])
    assert not re.search(r"<link|<script|@import|url\(|https?://", page, flags=re.IGNORECASE)


def expected_scores(y, pred, proba, classes, minority):
    """The report's scores, from the reference libraries."""
    j = list(classes).index(minority)
    values = {
        "macro_f1": skm.f1_score(y, pred, average="macro", labels=classes, zero_division=0),
        "minority_f1": skm.f1_score(y, pred, labels=[minority], average=None, zero_division=0)[0],
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "mcc": skm.matthews_corrcoef(y, pred),
        "g_mean": imblearn_gmean(y, pred),
    }
    if len(classes) == 2:
        values["pr_auc"] = skm.average_precision_score(y == minority, proba[:, j])
        values["roc_auc"] = skm.roc_auc_score(y == minority, proba[:, j])
    else:
        values["pr_auc"] = skm.average_precision_score(pd.get_dummies(y)[classes].to_numpy(), proba)
        values["roc_auc"] = skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
    return values


def check_model(numbers: dict, run: Path, model: str, file: str, predict) -> int:
    """Assert the model's reported numbers; return how many labels its rule changes from the argmax's."""
    oof = read_oof(run / file)
    classes = numbers["classes"]
    minority = numbers["data"]["minority_class"]
    proba = oof[[f"proba_{c}" for c in classes]].to_numpy()
    y = oof["label"].to_numpy()
    pred = predict(proba)
    reported = numbers["models"][model]
    for name, value in expected_scores(y, pred, proba, classes, minority).items():
        assert reported["overall"][name] == pytest.approx(value, abs=1e-12), name
    for fold in reported["folds"]:
        rows = oof["fold"].to_numpy() == fold["fold"]
        assert fold["rows"] == rows.sum()
        for name, value in expected_scores(y[rows], pred[rows], proba[rows], classes, minority).items():
            assert fold[name] == pytest.approx(value, abs=1e-12), (fold["fold"], name)
    assert reported["confusion_matrix"] == skm.confusion_matrix(y, pred, labels=classes).tolist()
    reference = skm.classification_report(y, pred, labels=classes, output_dict=True, zero_division=0)
    assert reported["classification_report"]["macro avg"] == pytest.approx(reference["macro avg"])
    argmax = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    assert reported["at_argmax"]["macro_f1"] == pytest.approx(skm.f1_score(y, argmax, average="macro"))
    return int((pred != argmax).sum())


def test_binary_numbers_equal_the_reference_metrics_under_each_rule(binary):
    _, run, rule = binary
    numbers = report_json(run)
    assert numbers["task"] == "binary" and numbers["data"]["minority_class"] == "spam"
    assert numbers["data"]["class_counts"] == {"ham": 36, "spam": 9} and numbers["data"]["imbalance_ratio"] == 4.0
    check_model(numbers, run, "baseline", "baseline_oof.csv",
                lambda p: np.where(p[:, 1] > p[:, 0], "spam", "ham"))
    changed = check_model(numbers, run, "transformer", "oof.csv", lambda p: np.where(p[:, 1] >= 0.37, "spam", "ham"))
    assert changed > 0  # the threshold rule matters here, so applying it is tested
    assert numbers["models"]["transformer"]["decision"]["rule"] == rule
    assert numbers["models"]["baseline"]["decision"]["rule"] == {"kind": "argmax"}


def test_threshold_plot_data_marks_the_rule_and_finds_the_best_threshold(binary):
    _, run, rule = binary
    numbers = report_json(run)
    curve = numbers["models"]["transformer"]["threshold_curve"]
    assert curve["positive_class"] == "spam" and curve["threshold_in_use"] == rule["threshold"]
    oof = read_oof(run / "oof.csv")
    scores, y = oof["proba_spam"].to_numpy(), oof["label"].to_numpy()
    f1_at = [skm.f1_score(y == "spam", scores >= t) for t in np.unique(scores)]
    assert curve["best"]["f1"]["score"] == pytest.approx(max(f1_at))
    assert numbers["models"]["baseline"]["threshold_curve"]["threshold_in_use"] == 0.5
    markdown = (run / "report" / "report.md").read_text()
    assert "![transformer: metrics against the threshold](threshold_transformer.png)" in markdown


def test_headline_names_the_winner_first(binary):
    _, run, _ = binary
    numbers = report_json(run)
    winner = numbers["ranking"][0]
    macro = {m: e["overall"]["macro_f1"] for m, e in numbers["models"].items()}
    assert macro[winner] == max(macro.values())
    first_paragraph = (run / "report" / "report.md").read_text().split("\n\n")[1]
    assert first_paragraph.startswith(f"**{winner}** has the best out-of-fold macro-F1, **{macro[winner]:.4f}**")


def test_multiclass_report_with_class_offsets(multiclass):
    _, run, rule = multiclass
    numbers = report_json(run)
    assert numbers["task"] == "multiclass" and numbers["classes"] == ["ham", "promo", "spam"]
    offsets = np.array(rule["offsets"])
    changed = check_model(numbers, run, "baseline", "baseline_oof.csv",
                          lambda p: np.array(["ham", "promo", "spam"])[np.argmax(np.log(p) + offsets, axis=1)])
    assert changed > 0
    assert {"pr_curves_baseline.png", "roc_curves_baseline.png", "confusion_baseline.png"} <= set(numbers["figures"])
    assert not any(name.startswith("threshold_") for name in numbers["figures"])
    counts = numbers["models"]["baseline"]["test_predicted_counts"]
    assert set(counts) == {"ham", "promo", "spam"} and sum(counts.values()) == 8


def test_rerunning_the_report_is_byte_identical_and_drops_stale_figures(binary, tmp_path):
    data, run, _ = binary
    before = {p.name: p.read_bytes() for p in (run / "report").iterdir()}
    step("report", data, run, *TRANSFORMER)
    after = {p.name: p.read_bytes() for p in (run / "report").iterdir()}
    for name in ("report.md", "report.json", "report.html", *report_json(run)["figures"]):
        assert before[name] == after[name], name
    # A copy without the transformer's predictions: its figures disappear on the next report.
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in run.iterdir():
        if path.is_file() and path.name not in ("oof.csv", "test.csv", "test_per_fold.csv", "decision.json"):
            (copy / path.name).write_bytes(path.read_bytes())
    (copy / "report").mkdir()
    for name, content in before.items():
        (copy / "report" / name).write_bytes(content)
    step("report", data, copy, *TRANSFORMER)
    assert not (copy / "report" / "threshold_transformer.png").exists()
    assert (copy / "report" / "threshold_baseline.png").exists()


def test_compare_two_runs(binary, tmp_path, capsys):
    data, run, _ = binary
    other = tmp_path / "run_c1"
    step("baseline", data, other, "--baseline.C", "1.0")
    step("report", data, other, "--baseline.C", "1.0", *TRANSFORMER)
    capsys.readouterr()
    main(["compare", str(run), str(other), "--output", str(tmp_path / "cmp")])
    printed = capsys.readouterr().out
    numbers = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert numbers["differing_keys"] == ["baseline.C"]
    assert [(r["run"], r["model"]) for r in numbers["rows"]] == [("run", "transformer"), ("run", "baseline"),
                                                                 ("run_c1", "baseline")]
    assert [r["baseline.C"] for r in numbers["rows"]] == [10.0, 10.0, 1.0]
    assert numbers["rows"][2]["macro_f1"] == report_json(other)["models"]["baseline"]["overall"]["macro_f1"]
    best = max(numbers["rows"], key=lambda r: r["macro_f1"])
    assert (numbers["best"]["run"], numbers["best"]["model"]) == (best["run"], best["model"])
    assert printed == (tmp_path / "cmp" / "compare.md").read_text() == write_comparison([run, other])
    assert "| baseline.C |" in printed
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert "<table>" in page and not re.search(r"src=|href=|https?://", page)


def test_compare_refuses_folders_without_a_report_and_run_folders_as_output(binary, tmp_path, capsys):
    data, run, _ = binary
    with pytest.raises(SystemExit) as info:
        main(["compare", str(run), str(tmp_path)])
    assert info.value.code == 2 and "has no report: it is not a run folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["compare", str(run), "--output", str(run)])
    assert info.value.code == 2 and "is a run folder" in capsys.readouterr().err


def test_report_errors_are_clear(tmp_path, capsys):
    data = make_competition(tmp_path / "data", {"ham": 12, "spam": 6})
    run = tmp_path / "run"
    step("folds", data, run)
    with pytest.raises(SystemExit) as info:
        step("report", data, run)
    assert info.value.code == 2 and "holds no model's probabilities yet" in capsys.readouterr().err
    step("baseline", data, run)
    rule = {"kind": "threshold", "positive_class": "eggs", "threshold": 0.5}
    for saved in ({"baseline": rule}, rule):  # a bad rule; a bare rule where a {model: rule} mapping belongs
        (run / "decision.json").write_text(json.dumps(saved))
        with pytest.raises(SystemExit) as info:
            step("report", data, run)
        error = capsys.readouterr().err
        assert info.value.code == 2 and "decision.json does not fit" in error and "re-run the decide step" in error
    (run / "decision.json").unlink()
    oof = read_oof(run / "baseline_oof.csv")
    oof.iloc[::-1].to_csv(run / "baseline_oof.csv", index=False)
    with pytest.raises(SystemExit) as info:
        step("report", data, run)
    assert info.value.code == 2 and "another order" in capsys.readouterr().err


def test_document_renders_markdown_and_escaped_html():
    table = Table.from_markdown("| | pre | sup |\n|---|---:|---:|\n| a<b | 0.500 | 3 |\n")
    assert table.header == ["", "pre", "sup"] and table.rows == [["a<b", "0.500", "3"]]
    blocks = [Heading("T & <x>", 1), Paragraph("**bold** and `co<de>` <script>"), table,
              Image("f.png", "alt", b"\x89PNG")]
    markdown = to_markdown(blocks)
    assert markdown == ("# T & <x>\n\n**bold** and `co<de>` <script>\n\n|  | pre | sup |\n|---|---:|---:|\n"
                        "| a<b | 0.500 | 3 |\n\n![alt](f.png)\n")
    page = to_html(blocks, "t")
    assert "<h1>T &amp; &lt;x&gt;</h1>" in page
    assert "<p><strong>bold</strong> and <code>co&lt;de&gt;</code> &lt;script&gt;</p>" in page
    assert '<td>a&lt;b</td><td class="num">0.500</td>' in page and 'src="data:image/png;base64,iVBORw=="' in page
    with pytest.raises(ValueError, match="pipe table"):
        Table.from_markdown("not a table")


def test_compare_shows_the_lightning_settings_that_differ(tmp_path):
    """Runs of a resampling sweep differ only inside their LightningCLI YAMLs; compare shows those keys."""
    scores = {"macro_f1": 0.8, "minority_f1": 0.6, "pr_auc": 0.7, "roc_auc": 0.9, "balanced_accuracy": 0.8,
              "mcc": 0.6, "g_mean": 0.8}
    runs = []
    for resampling in ("none", "random_over"):
        yaml_file = tmp_path / f"{resampling}.yaml"
        yaml_file.write_text(f"data:\n  resampling: {resampling}\n  batch_size: 32\nmodel:\n  loss: focal\n")
        config = {"output": str(tmp_path / resampling), "transformer": {"enabled": True,
                                                                         "lightning_config": str(yaml_file)}}
        model = {"decision": {"text": "argmax"}, "overall": {**scores, "macro_f1": 0.8 + len(runs) / 10}}
        (tmp_path / resampling / "report").mkdir(parents=True)
        (tmp_path / resampling / "report" / "report.json").write_text(json.dumps(
            {"run": {"config": config, "data": {}}, "models": {"transformer": model}}))
        runs.append(tmp_path / resampling)
    _, numbers = compare(runs)
    assert numbers["differing_keys"] == ["lightning.data.resampling", "transformer.lightning_config"]
    assert [row["lightning.data.resampling"] for row in numbers["rows"]] == ["none", "random_over"]
    assert numbers["best"] == {"run": "random_over", "model": "transformer", "macro_f1": 0.9}
