"""The run's plan: the config, the data's facts and the preset resolved once, before any step runs.

:func:`make_plan` checks the config (:mod:`competition.validate`), reads and validates the competition
(:mod:`competition.data`), fills every value the config leaves null (:func:`competition.autoconfig.derive_run`, the
only place that decides one), makes the ``imbalance-xfmr`` config of every pretraining and fold model, checks those
with the library's own parsers, and pins what each artifact group depends on. The steps follow the frozen
:class:`~competition.context.Plan`; the log, the manifest and the report print it, so what they say is what trains.
:func:`open_context` then locks and opens the run folder for it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from competition.autoconfig import derive_run, resolve
from competition.config import PipelineConfig
from competition.context import Context, Plan
from competition.data import Competition, load_competition
from competition.fold_models import pretrain_args, pretraining_seed, starting_from
from competition.layout import pretrain_paths, sha256
from competition.run_folder import RunFolder
from competition.validate import check_config, check_data_fit, check_trainings, fold_seed_of


def make_plan(config: PipelineConfig, only_fold: int | None = None,
              only_seed: int | None = None) -> tuple[Competition, Plan]:
    """(the validated competition, the plan) of ``config`` (``only_fold`` / ``only_seed``: ``train --only-fold`` /
    ``--only-seed``); a :class:`competition.errors.PipelineError` names what to change, before anything is written."""
    config = resolve(config)  # the preset's choices
    check_config(config, only_fold, only_seed)  # the config alone, before the data is read
    data = config.data
    competition = load_competition(data.dir, data.id_column, data.text_column, data.label_column,
                                   config.submission.kind, data.encoding)
    check_data_fit(config, competition)
    derived = derive_run(config, competition)
    config, user = derived.config, derived.lightning
    pretrainings = []
    if user is not None and config.pretrain.enabled:
        pretrainings = [pretrain_args(user, config.pretrain, seed=pretraining_seed(config.seed, p),
                                      **pretrain_paths(config.output, p)) for p in range(config.pretrain.n_seeds)]
    lightning = starting_from(user, pretrain_paths(config.output)["checkpoint"]) if pretrainings else user
    check_trainings(config, lightning, pretrainings, len(competition.classes), only_seed)
    positive = None
    if len(competition.classes) == 2:
        positive = config.threshold.positive_class or competition.minority_class
    data_files = {name: {"path": str(Path(path).resolve()), "sha256": sha256(path)}
                  for name, path in sorted(competition.files.items())}
    enabled = config.trained_models()
    source = config.submission.source or ("blend" if len(enabled) == 2 else enabled[0])
    plan = Plan(config, fold_seed_of(config), positive, source, lightning, pretrainings, derived.notes, data_files,
                _pins(config, data_files, user, pretrainings, derived.pretrained_weights))
    return competition, plan


def _pins(config: PipelineConfig, data_files: dict[str, dict[str, str]], user: dict[str, Any] | None,
          pretrainings: list[dict[str, Any]], weights: dict[str, str] | None) -> dict[str, dict[str, Any]]:
    """What each artifact group's outputs depend on (see :mod:`competition.run_folder`): the data's hashes and
    keys, and the settings of the folds, the baseline, the fold models (``user``: their settings; where the
    pretraining's checkpoint lies is no setting), the pretrainings, and the hashes of a pretrained checkpoint's
    ``weights`` (another checkpoint at the same path is another run)."""
    data = {"files": {name: entry["sha256"] for name, entry in data_files.items()},
            **{key: value for key, value in dataclasses.asdict(config.data).items() if key != "dir"}}
    folds = {"data": data, "folds": {"n_splits": config.folds.n_splits, "seed": fold_seed_of(config),
                                     "group_column": config.folds.group_column}}

    def section(name: str) -> dict[str, Any]:
        # Whether a model is enabled, and how many fold models train at once, change none of its outputs.
        return {key: value for key, value in dataclasses.asdict(getattr(config, name)).items()
                if key not in ("enabled", "parallel")}

    pins = {"folds": folds, "baseline": {**folds, "baseline": section("baseline")},
            "transformer": {**folds, "seed": config.seed, "transformer": section("transformer"), "lightning": user}}
    if weights is not None:
        pins["transformer"]["pretrained_weights"] = weights
    if pretrainings:
        # The pretraining's config with the run folder written as <run>, so that the pin holds no path; the seeds
        # of more pretrainings than one (a pin of one pretraining has none: a run folder written before they could
        # be several keeps its pin).
        placeholder = pretrain_args(user, config.pretrain, seed=config.seed, **pretrain_paths("<run>"))
        pins["pretrain"] = {"data": data, "pretrain": placeholder,
                            **({"pretrained_weights": weights} if weights is not None else {})}
        if len(pretrainings) > 1:
            pins["pretrain"]["seeds"] = [args["seed_everything"] for args in pretrainings]
        pins["transformer"]["pretrain"] = pins["pretrain"]
    return pins


# How long a `train --only-fold` job waits for the run folder's lock: other jobs hold it while they set up.
JOB_LOCK_WAIT_S = 600


def open_context(config: PipelineConfig, command: str, overwrite: bool, only_fold: int | None = None,
                 only_seed: int | None = None) -> Context:
    """Resolve the run's plan (:func:`competition.plan.make_plan`: the config checked, the data read and validated,
    every setting decided and checked), then lock and open the run folder: nothing is written unless all of that
    passed. The log and the manifest record the plan's settings, what trains."""
    competition, plan = make_plan(config, only_fold, only_seed)
    config = plan.config
    run = RunFolder.open(config.output, dataclasses.asdict(config), plan.data_files, plan.pins,
                         command=command if only_fold is None else f"{command} --only-fold {only_fold}",
                         overwrite=overwrite, wait=0 if only_fold is None else JOB_LOCK_WAIT_S)
    for warning in competition.warnings:
        run.log(f"warning: {warning}")
    if plan.derived:
        run.record("derived", {"preset": config.preset, "notes": plan.derived})
        run.log(f"derived fold-model settings (preset {config.preset}):\n- " + "\n- ".join(plan.derived))
    return Context(config, competition, plan, run, only_fold, only_seed)
