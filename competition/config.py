"""The pipeline's config schema: one dataclass per YAML section, read by ``python -m competition``.

Every field can be set in the ``--config`` YAML or on the command line in jsonargparse style
(``--data.dir DIR``, ``--folds.n_splits 3``, ``--submission.kind probabilities``); an unknown key or a value of the
wrong type is an error of the parser. What needs the data or another section (ranges, the metric against the
number of classes, the fold models' Lightning sections) is checked by :mod:`competition.validate`, once, before
any step writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional



@dataclass
class DataConfig:
    """The competition folder.

    Args:
        dir: Folder holding Kaggle's train.csv, test.csv and sample_submission.csv.
        id_column: Name of the id column in all three files.
        text_column: Name of the text column in train.csv and test.csv.
        label_column: Name of the label column in train.csv (and of sample_submission's label column).
        encoding: Text encoding of the three CSV files (e.g. utf-8, latin-1, cp1252).
    """

    dir: str
    id_column: str = "id"
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"


@dataclass
class FoldsConfig:
    """The fixed cross-validation split, saved as folds.csv and reused.

    Args:
        n_splits: Number of folds (one model per fold).
        seed: Seed of the split; None uses the top-level seed.
        group_column: train.csv column whose equal values must share a fold (StratifiedGroupKFold); None for
            plain stratified folds.
    """

    n_splits: int = 5
    seed: Optional[int] = None
    group_column: Optional[str] = None


@dataclass
class TransformerConfig:
    """The fold models: each is what ``imbalance-xfmr fit`` trains from the YAML with these overrides.

    Args:
        enabled: Train the Transformer (False runs the baseline alone).
        lightning_config: LightningCLI YAML the fold models start from (e.g. competition/configs/demo_binary.yaml);
            null: settings derived from the data under the preset (see competition/autoconfig.py), recorded in the
            manifest and the report.
        model: Overrides of that YAML's ``model`` section.
        trainer: Overrides of that YAML's ``trainer`` section.
        data: Overrides of that YAML's ``data`` section (tokenizer, batch size, ``resampling``...); the pipeline
            sets the files, columns and folds itself.
        n_seeds: Models per fold (null: the preset's, or one per pretraining when there are more, see
            pretrain.n_seeds; 1 with a lightning_config YAML), each trained with its own
            seed (initialisation, dropout, batch order); a fold's
            prediction, out-of-fold and test, is the mean of its models' probabilities ("seed averaging"). Each
            extra seed costs one more training per fold; on small data it buys steadier, better-calibrated
            predictions.
        checkpoint: Which checkpoint of each fold predicts: the last epoch's, or the best epoch's by the model's
            ``checkpoints.monitor`` (picked on the fold's own held-out rows, so its OOF scores flatter it a little).
            With ``last`` a fold model does not validate and keeps only ``last.ckpt`` (its held-out rows are
            predicted right after the fit, and nothing reads a validation; the weights are the same), unless its
            trainer sets how often or how much it validates (limit_val_batches, check_val_every_n_epoch,
            val_check_interval) or callbacks of its own (an EarlyStopping reads every validation).
        parallel: How many fold models (and before them, pretrainings: pretrain.n_seeds) train at once, each in a
            worker process of its own (same results as one after another, byte for byte). null: as many as the
            machine takes: one per GPU when they train on GPUs, else one per core at num_threads threads each.
            1: one after another, in this process.
        pretrained: A local checkpoint folder in Hugging Face's layout (config.json, model.safetensors or
            pytorch_model.bin, its tokenizer files) of the BERT family (BERT, DistilBERT, RoBERTa, XLM-RoBERTa,
            ELECTRA, MiniLM): the fold models fine-tune its encoder with its own tokenizer and pooling instead of
            training one from scratch (settings derived for fine-tuning; self-pretraining off unless
            pretrain.enabled). Nothing is downloaded: a Hub name is refused. null: our own encoder.
        num_threads: torch's intra-op threads while training and predicting; None keeps torch's default (one per
            core). 1 is the default because these small models gain nothing from more, OpenMP's busy-waiting
            threads slow a shared or loaded machine down many times over, and one thread makes the floating-point
            sums, hence the outputs, independent of the machine's core count.
    """

    enabled: bool = True
    lightning_config: Optional[str] = None
    pretrained: Optional[str] = None
    # Plain `dict`, not dict[str, Any]: jsonargparse would instantiate a {class_path: ...} inside (a callback, a
    # logger) into an object here, while these are YAML data for the fold models' own parser.
    model: dict = field(default_factory=dict)
    trainer: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    n_seeds: Optional[int] = None
    checkpoint: Literal["last", "best"] = "last"
    parallel: Optional[int] = None
    num_threads: Optional[int] = 1


@dataclass
class PretrainConfig:
    """Self-pretraining: masked-language-model pretraining of the fold models' encoder on every train and test
    text (no labels), once per run (or once per pretraining seed), with the run's one tokenizer; the fold models
    start from its weights.

    Args:
        enabled: null: on when the fold models' settings are derived (transformer.lightning_config null), off with
            a lightning_config YAML (whose model and tokenizer sections it then follows).
        max_steps: Optimizer steps; null: the preset's, and with derived fold-model settings up to its passes over
            a small corpus (see competition.autoconfig.pretraining_steps).
        mask_probability: Share of the tokens masked (BERT's 15%: of those, 80% [MASK], 10% a random token, 10%
            unchanged).
        n_seeds: Pretrainings, each with its own seed; fold model j of every fold (transformer.n_seeds) starts from
            pretraining j mod n_seeds, so the fold ensemble averages over pretrainings. null: with derived
            fold-model settings the preset's (default 3, best 3, fast 1) when a pretraining costs at most the
            preset's token budget (a small corpus), else 1, never more than a transformer.n_seeds you set; with a
            lightning_config YAML, 1.
        model: Overrides of the pretraining model (e.g. {lr: 0.0005}); the encoder's shape is the fold models'.
        trainer: Overrides of its Trainer section (e.g. {log_every_n_steps: 10}).
        data: Overrides of its data section (e.g. {batch_size: 64, val_fraction: 0.1}).
    """

    enabled: Optional[bool] = None
    max_steps: Optional[int] = None
    mask_probability: float = 0.15
    n_seeds: Optional[int] = None
    model: dict = field(default_factory=dict)
    trainer: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)


@dataclass
class BaselineConfig:
    """The TF-IDF + logistic-regression baseline, cross-fitted on the same folds (defaults: the reference baseline
    of the shared-data README).

    Args:
        word_ngram_range: Word n-gram range of the word TF-IDF.
        char_ngram_range: Character n-gram range of the char_wb TF-IDF.
        min_df: Minimum document count of a kept n-gram.
        sublinear_tf: Use 1 + log(tf).
        C: Inverse regularisation strength of LogisticRegression.
        class_weight: LogisticRegression's class_weight ('balanced' or None).
        max_iter: lbfgs iteration limit.
        enabled: Fit the baseline (its OOF scores go into the report; the blend needs it).
    """

    word_ngram_range: tuple[int, int] = (1, 2)
    char_ngram_range: tuple[int, int] = (2, 5)
    min_df: int = 2
    sublinear_tf: bool = True
    C: float = 10.0
    class_weight: Optional[Literal["balanced"]] = "balanced"
    max_iter: int = 2000
    enabled: bool = True


@dataclass
class ThresholdConfig:
    """The decision rule tuned on the out-of-fold predictions.

    Args:
        metric: Competition metric the threshold (binary) or per-class adjustments (multiclass) maximise; one of
            the library's threshold metrics (imbalance_xfmr.metrics.BINARY_THRESHOLD_METRICS for binary tasks:
            f1 of the positive class, f1_macro, fbeta, mcc, gmean, balanced_accuracy, youden;
            MULTICLASS_THRESHOLD_METRICS otherwise: f1_macro, balanced_accuracy).
        positive_class: Binary tasks: the class the threshold applies to, whose probability a one-column
            probability submission holds; None: train's minority class.
        robust: Check the tuned rules and the blend weight out of sample before using them: each is re-tuned
            with one fold held out and scored on that fold (cross-fitting), at strengths 0, 0.25, ..., 1 of the
            tuning (offsets scaled, the threshold moved toward 0.5 in logit space, the weight moved toward 0.5);
            the strength with the best cross-fitted score is used, unless its gain over strength 0 (the argmax,
            equal weights) is within bootstrap noise. False: the rules and the weight are tuned on all OOF rows
            and used at full strength, unchecked.
    """

    metric: str = "f1_macro"
    positive_class: Optional[str] = None
    robust: bool = True


@dataclass
class SubmissionConfig:
    """What submission.csv holds.

    Args:
        kind: Predicted labels, or class probabilities (sample_submission.csv must ask for the same). Labels come
            from the model's OOF-tuned rule applied to each fold model's test probabilities, averaged over folds.
        ensembling: How the fold models' test probabilities combine in test.csv and in probability submissions:
            mean of probabilities, or mean of ranks. Label submissions decide fold by fold and do not use it.
        source: Which model's predictions to submit; null: the blend when both models are enabled, else the one
            that is.
    """

    kind: Literal["labels", "probabilities"] = "labels"
    ensembling: Literal["mean", "rank"] = "mean"
    source: Optional[Literal["transformer", "baseline", "blend"]] = None


@dataclass
class PipelineConfig:
    """A competition run.

    Args:
        data: The competition folder and its column names.
        output: The run folder: every output of the run goes there; null: runs/<name of data.dir>.
        preset: How much a run may spend: fast (a first look: small models, one seed, short pretraining), default,
            or best (longer pretraining, five seeds per fold); it sets what is derived from the data and what is
            left null below (see competition/autoconfig.py).
        seed: Seed of everything random (folds, initialisation, batches).
        folds: Cross-validation split.
        transformer: The Transformer fold models.
        pretrain: Self-pretraining of the fold models' encoder.
        baseline: The classical baseline.
        threshold: The tuned decision rule.
        submission: The submission file.
    """

    data: DataConfig
    output: Optional[str] = None
    preset: Literal["fast", "default", "best"] = "default"
    seed: int = 0
    folds: FoldsConfig = field(default_factory=FoldsConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    submission: SubmissionConfig = field(default_factory=SubmissionConfig)

    def trained_models(self) -> list[str]:
        """The models this config trains: ``transformer`` and ``baseline`` where enabled, in that order (the blend
        of both is no training of its own)."""
        return [name for name in ("transformer", "baseline") if getattr(self, name).enabled]

