"""What every step of ``python -m competition`` works on: the :class:`Plan` the config resolves to
(:func:`competition.plan.make_plan`), the validated competition and the open run folder, as one :class:`Context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from competition.config import PipelineConfig
from competition.data import Competition
from competition.run_folder import RunFolder
from competition.fold_models import fit_args, model_seed, starting_from
from competition.layout import fold_model_paths, pretrain_paths


@dataclass(frozen=True)
class Plan:
    """What the validated config resolves to, for the steps to follow."""

    config: PipelineConfig  # the config with every null filled (competition.autoconfig.derive_run)
    fold_seed: int  # folds.seed, or the top-level seed
    positive_class: str | None  # binary tasks: the threshold's class; None for multiclass tasks
    source: str  # the submitted model: submission.source, or the blend when both models are enabled, else the one
    lightning: dict[str, Any] | None  # the fold models' user config (YAML or derived, + overrides); None without
    # Transformer. With pretraining it starts from the first pretraining's checkpoint (model.init_from,
    # data.tokenizer_path); fold model j starts from pretraining j mod len(pretrainings) (fold_model)
    pretrainings: list[dict[str, Any]]  # the `imbalance-xfmr pretrain` configs (pretrain.n_seeds); [] without
    derived: list[str]  # why each derived fold-model setting was chosen (empty with a lightning_config YAML)
    data_files: dict[str, dict[str, str]]  # name -> {"path", "sha256"} of the competition's files
    pins: dict[str, dict[str, Any]]  # artifact group -> what its outputs depend on (see competition.run_folder)

    @property
    def models(self) -> list[str]:
        """The models the run makes: the enabled ones, and the blend when both are."""
        models = self.config.trained_models()
        return models + ["blend"] if len(models) == 2 else models

    def fold_model(self, k: int, j: int) -> tuple[int, dict[str, Any]]:
        """(seed, ``imbalance-xfmr fit`` config) of fold ``k``'s model with seed index ``j``, started from
        pretraining ``j mod pretrain.n_seeds`` when there is pretraining: what the train step fits and the predict
        step predicts with."""
        config = self.config
        seed = model_seed(config.seed, k, j, config.folds.n_splits)
        user = self.lightning
        if self.pretrainings:
            user = starting_from(user, pretrain_paths(config.output, j % len(self.pretrainings))["checkpoint"])
        return seed, fit_args(user, k=k, seed=seed, **fold_model_paths(config.output, k, j),
                              checkpoint=config.transformer.checkpoint)


@dataclass
class Context:
    """The config, the validated competition, what the config resolves to, and the open run folder of one
    invocation."""

    config: PipelineConfig
    competition: Competition
    plan: Plan
    run: RunFolder
    only_fold: int | None = None  # train --only-fold: the one fold whose models this job trains
    only_seed: int | None = None  # train --only-seed: the one seed index of that fold

    def folds(self) -> np.ndarray:
        """The run's folds, (n_train,) int64: ``folds.csv``, checked against the data (the folds step writes it;
        the runner runs that step before any step that reads it)."""
        return self.run.read_folds(self.competition, self.config.folds.n_splits)
