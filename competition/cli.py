"""``python -m competition``: run a competition end to end, or one step of it.

Subcommands: ``run`` (every step in order), the steps on their own (``folds``, ``baseline``, ``pretrain``,
``train``, ``predict``, ``decide``, ``submit``, ``report``: a finished run can be re-decided, re-submitted or
re-reported without retraining), and ``compare`` (several runs side by side). Each step reads the same config
(:class:`competition.config.PipelineConfig`): ``--config FILE.yaml``, then any key on the command line,
jsonargparse style (``--data.dir DIR --output DIR --folds.n_splits 3``), applied left to right.

Before any step writes anything, the config is checked (:mod:`competition.validate`), the competition data is
read and validated (:mod:`competition.data`), and the run folder is locked and opened
(:class:`competition.run_folder.RunFolder`). A mistake the user can fix is printed as one ``error:`` line (or a
short list) with exit status 2.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from jsonargparse import ActionConfigFile, ActionYesNo, ArgumentParser, Namespace

from competition.autoconfig import resolve
from competition.baseline import step_baseline
from competition.compare import write_comparison
from competition.config import PipelineConfig
from competition.context import Context
from competition.data import load_competition
from competition.decide import step_decide
from competition.errors import PipelineError
from competition.folds import step_folds
from competition.predict import step_predict
from competition.pretrain import step_pretrain
from competition.report import step_report
from competition.run_folder import RunFolder
from competition.submit import step_submit
from competition.train import step_train
from competition.validate import check_config, plan

# The steps in the order `run` takes them (each module imports only earlier steps' modules). The report comes
# after the submission, so that a report that fails never costs the submission.
STEPS: dict[str, Callable[[Context], object]] = {
    "folds": step_folds,
    "baseline": step_baseline,
    "pretrain": step_pretrain,
    "train": step_train,
    "predict": step_predict,
    "decide": step_decide,
    "submit": step_submit,
    "report": step_report,
}

HELP = {
    "run": "Run the whole competition: folds, baseline, pretrain, train, predict, decide, submit, report.",
    "folds": "Make (or check) the fixed stratified folds.",
    "baseline": "Cross-fit the TF-IDF + logistic-regression baseline on the folds.",
    "pretrain": "Self-pretrain the fold models' encoder (masked LM on every train and test text, no labels).",
    "train": "Fit one Transformer per fold (finished fold models are skipped, interrupted ones resume).",
    "predict": "Out-of-fold and test predictions of the fold models, and their fold ensemble.",
    "decide": "Tune each model's decision rule and the Transformer + baseline blend out of fold.",
    "submit": "Write submission.csv, validated against sample_submission.csv.",
    "report": "Write the report (Markdown, HTML, JSON, PNGs in <output>/report/).",
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
                         help="Delete a different run's files in --output (only those; only in a run folder) instead "
                              "of refusing")
        if name == "train":
            sub.add_argument("--only-fold", type=Optional[int], default=None,
                             help="Train only this fold's models (0-based), as one job of many sharing --output "
                                  "(e.g. a SLURM array task); a later `run` gathers")
            sub.add_argument("--only-seed", type=Optional[int], default=None,
                             help="With --only-fold: only this seed index's model (0-based, < transformer.n_seeds)")
        subcommands.add_subcommand(name, sub, help=HELP[name])
    compare = ArgumentParser(description=HELP["compare"], allow_abbrev=False)
    compare.add_argument("runs", nargs="+", type=str, help="Run folders, each with a report (run `report` first)")
    compare.add_argument("--output", type=Optional[str], default=None,
                         help="Folder to write compare.md, compare.html and compare.json to (the Markdown table "
                              "is printed either way)")
    subcommands.add_subcommand("compare", compare, help=HELP["compare"])
    return parser


def resolve_config(parser: ArgumentParser, args: Namespace) -> PipelineConfig:
    """The step's arguments as a :class:`PipelineConfig`, with ``data.dir`` made absolute, ``output`` defaulting to
    ``runs/<competition folder name>`` and the preset's choices filled in (:func:`competition.autoconfig.resolve`)."""
    sections = parser.instantiate(args)[args.command]
    config = PipelineConfig(**{f.name: sections[f.name] for f in dataclasses.fields(PipelineConfig)})
    config.data.dir = str(Path(config.data.dir).resolve())
    if config.output is None:
        config.output = str(Path("runs") / Path(config.data.dir).name)
    return resolve(config)


# How long a `train --only-fold` job waits for the run folder's lock: other jobs hold it while they set up.
JOB_LOCK_WAIT_S = 600


def open_context(config: PipelineConfig, command: str, overwrite: bool, only_fold: int | None = None,
                 only_seed: int | None = None) -> Context:
    """Check the config, read and validate the data, check the config against it, then lock and open the run
    folder: nothing is written unless all of that passed."""
    lightning = check_config(config, only_fold, only_seed)
    data = config.data
    competition = load_competition(data.dir, data.id_column, data.text_column, data.label_column,
                                   config.submission.kind, data.encoding)
    resolved = plan(config, competition, lightning, only_seed)
    config = resolved.config
    run = RunFolder.open(config.output, dataclasses.asdict(config), resolved.data_files, resolved.pins,
                         command=command if only_fold is None else f"{command} --only-fold {only_fold}",
                         overwrite=overwrite, wait=0 if only_fold is None else JOB_LOCK_WAIT_S)
    for warning in competition.warnings:
        run.log(f"warning: {warning}")
    if resolved.derived:
        run.record("derived", {"preset": config.preset, "notes": resolved.derived})
        run.log(f"derived fold-model settings (preset {config.preset}):\n- " + "\n- ".join(resolved.derived))
    return Context(config, competition, resolved, run, only_fold, only_seed)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command
    try:
        if command == "compare":
            print(write_comparison(args.compare.runs, args.compare.output), end="")
            return
        config = resolve_config(parser, args)
        flags = args[command]
        ctx = open_context(config, command, flags.overwrite, flags.get("only_fold"), flags.get("only_seed"))
        with ctx.run:
            for step in list(STEPS) if command == "run" else [command]:
                STEPS[step](ctx)
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err
