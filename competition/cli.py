"""``python -m competition``: run a competition end to end, or one step of it.

Subcommands: ``run`` (every step in order), the steps ``folds``, ``baseline``, ``train``, ``predict``,
``report``, ``submit`` on their own (so a finished run can be re-reported or re-submitted without retraining),
and ``compare`` (several runs side by side). Each step subcommand reads the same config
(:class:`competition.config.PipelineConfig`): ``--config FILE.yaml``, then any key on the command line,
jsonargparse style (``--data.dir DIR --output DIR --folds.n_splits 3``). Arguments apply left to right, so
``--config`` comes first and the overrides after it.

The competition data is validated before anything is written, and the run folder is opened through
:class:`competition.rundir.RunDir`, which refuses to mix two runs in one folder unless ``--overwrite`` is given.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import numpy as np
from jsonargparse import ActionConfigFile, ActionYesNo, ArgumentParser, Namespace

from competition.baseline import cross_fit_baseline, per_fold_probability_frame, probability_frame
from competition.compare import write_comparison
from competition.config import FIXED_SECTIONS, PipelineConfig
from competition.context import Context
from competition.data import load_competition
from competition.decision import MODEL_FILES, PER_FOLD_TEST_FILES
from competition.errors import PipelineError
from competition.folds import FOLDS_FILE, run_folds
from competition.predict import step_predict
from competition.report import write_report
from competition.rundir import RunDir, write_csv
from competition.submit import step_submit
from competition.train import step_train

BASELINE_OOF_FILE, BASELINE_TEST_FILE = MODEL_FILES["baseline"]
BASELINE_TEST_PER_FOLD_FILE = PER_FOLD_TEST_FILES["baseline"]


def step_folds(ctx: Context) -> None:
    """Make folds.csv, or check the one already in the run folder."""
    existed = ctx.path(FOLDS_FILE).exists()
    sizes = np.bincount(run_folds(ctx))
    ctx.run.log(f"folds: {'checked' if existed else 'made'} {FOLDS_FILE}: {len(sizes)} folds of "
                f"{sizes.min()}-{sizes.max()} rows")


def step_baseline(ctx: Context) -> None:
    """Cross-fit the TF-IDF baseline on folds.csv; write its OOF, per-fold test and fold-averaged test
    probabilities (skipped when all three files are there)."""
    if not ctx.config.baseline.enabled:
        ctx.run.log("baseline: disabled (baseline.enabled=false)")
        return
    files = (BASELINE_OOF_FILE, BASELINE_TEST_PER_FOLD_FILE, BASELINE_TEST_FILE)
    if all(ctx.path(name).exists() for name in files):
        ctx.run.log(f"baseline: {', '.join(files)} already there, skipped")
        return
    competition = ctx.competition
    fold = run_folds(ctx)
    result = cross_fit_baseline(competition.train_texts, competition.train_labels, competition.test_texts, fold,
                                ctx.config.baseline, progress=ctx.run.log)
    write_csv(ctx.path(BASELINE_OOF_FILE), probability_frame(competition.train_ids, result.oof, result.classes,
                                                             fold=fold, label=competition.train_labels))
    write_csv(ctx.path(BASELINE_TEST_PER_FOLD_FILE),
              per_fold_probability_frame(competition.test_ids, result.test_per_fold, result.classes))
    write_csv(ctx.path(BASELINE_TEST_FILE), probability_frame(competition.test_ids, result.test, result.classes))
    ctx.run.log(f"baseline: wrote {', '.join(files)}")


def step_report(ctx: Context) -> None:
    """Write the report (Markdown, HTML, JSON, PNGs) from the predictions already in the run folder."""
    folder = write_report(ctx.run, ctx.competition, ctx.config)
    ctx.run.log(f"report: wrote {folder / 'report.md'}, report.html and report.json")


STEPS: dict[str, Callable[[Context], None]] = {
    "folds": step_folds,
    "baseline": step_baseline,
    "train": step_train,
    "predict": step_predict,
    "report": step_report,
    "submit": step_submit,
}

HELP = {
    "run": "Run the whole competition: folds, baseline, train, predict, report, submit.",
    "folds": "Make (or check) the fixed stratified folds, folds.csv.",
    "baseline": "Cross-fit the TF-IDF + logistic-regression baseline on the folds.",
    "train": "Train one Transformer per fold (finished folds are skipped).",
    "predict": "Out-of-fold and test predictions of the fold models.",
    "report": "Write the report (Markdown, HTML, JSON, PNGs in <output>/report/) from the predictions.",
    "submit": "Write submission.csv from the predictions, validated against sample_submission.csv.",
    "compare": "Put several run folders side by side: python -m competition compare RUN RUN ... [--output DIR].",
}


def build_parser() -> ArgumentParser:
    # No prefix abbreviations: a typo such as --folds.n_split must be an error, not a guess.
    parser = ArgumentParser(prog="python -m competition", description=__doc__.splitlines()[0], allow_abbrev=False)
    subcommands = parser.add_subcommands(dest="command")
    for name in ["run", *STEPS]:
        sub = ArgumentParser(description=HELP[name], allow_abbrev=False)
        sub.add_argument("--config", action=ActionConfigFile, help="YAML config file (keys as in PipelineConfig)")
        sub.add_class_arguments(PipelineConfig, nested_key=None)
        sub.add_argument("--overwrite", action=ActionYesNo, default=False,
                         help="Delete a different run already in --output instead of refusing to touch it")
        subcommands.add_subcommand(name, sub, help=HELP[name])
    compare = ArgumentParser(description=HELP["compare"], allow_abbrev=False)
    compare.add_argument("runs", nargs="+", type=str, help="Run folders, each with a report (run `report` first)")
    compare.add_argument("--output", type=Optional[str], default=None,
                         help="Folder to write compare.md, compare.html and compare.json to (the Markdown table "
                              "is printed either way)")
    subcommands.add_subcommand("compare", compare, help=HELP["compare"])
    return parser


def resolve_config(parser: ArgumentParser, args: Namespace) -> PipelineConfig:
    """The step's arguments as a :class:`PipelineConfig`, with ``data.dir`` made absolute."""
    sections = parser.instantiate(args)[args.command]
    config = PipelineConfig(**{f.name: sections[f.name] for f in dataclasses.fields(PipelineConfig)})
    config.data.dir = str(Path(config.data.dir).resolve())
    return config


def open_context(config: PipelineConfig, command: str, overwrite: bool) -> Context:
    """Validate the competition data, then open the run folder (nothing is written if the data is bad)."""
    data = config.data
    competition = load_competition(data.dir, data.id_column, data.text_column, data.label_column,
                                   config.submission.kind)
    run = RunDir.open(config.output, dataclasses.asdict(config), competition.files, command=command,
                      fixed_keys=FIXED_SECTIONS, overwrite=overwrite)
    return Context(config, competition, run)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command
    try:
        if command == "compare":
            print(write_comparison(args.compare.runs, args.compare.output), end="")
            return
        config = resolve_config(parser, args)
        ctx = open_context(config, command, args[command].overwrite)
        with ctx.run:
            steps = list(STEPS) if command == "run" else [command]
            for step in steps:
                STEPS[step](ctx)
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err
