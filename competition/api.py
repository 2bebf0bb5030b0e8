"""The pipeline from Python, for notebooks: :class:`CompetitionRun` runs ``python -m competition run`` (or some of
its steps) and reads what the run folder holds, as pandas frames.

It is a thin layer over the command line's own pieces (:mod:`competition.cli`, :mod:`competition.runner`): the
keyword arguments become the command line's ``--key value`` arguments and go through its parser (so a bad key or
value is the same one-line :class:`~competition.errors.PipelineError` the CLI prints, raised instead of printed),
the config is resolved, checked and the run folder opened exactly as the CLI does it (``resolve_config``,
``open_context``), and the steps run through the CLI's runner (:func:`competition.runner.run_steps`). Every read
goes through :class:`~competition.run_folder.RunFolder`'s readers; this module is the one place to re-point when
those move.

Example (a notebook cell)::

    from competition.api import CompetitionRun

    run = CompetitionRun("competition/demo/binary", output="runs/demo", preset="fast", folds={"n_splits": 3})
    run.fit()                       # = python -m competition run --data.dir ... --preset fast --folds.n_splits 3
    run.leaderboard()               # every model's out-of-fold scores, best first
    run.submission().head()         # submission.csv
    CompetitionRun.load("runs/demo").predict_proba()   # later: reopen the finished run
"""

from __future__ import annotations

import dataclasses
import json
from argparse import ArgumentError
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from competition.cli import argument_error, resolve_config
from competition.config import PipelineConfig
from competition.context import Context
from competition.errors import PipelineError
from competition.layout import SUBMISSION
from competition.plan import open_context
from competition.rules import confusion_score
from competition.run_folder import REPORT_METRICS, RunFolder, RunFolderError, read_report_numbers
from competition.runner import STEPS, build_parser, run_steps


def _value_argument(key: str, value: Any) -> str:
    """``value`` as the command line would spell it: a string as it is (``--data.text_column body``), anything
    else as JSON, which the parser reads as YAML (``--folds.n_splits 3``, ``--transformer.enabled false``,
    ``--transformer.model '{"lr": 0.001}'``)."""
    if isinstance(value, (str, Path)):
        return str(value)
    try:
        return json.dumps(value)
    except TypeError:
        raise PipelineError(f"{key}={value!r}: a setting must be a string, number, boolean, None, list or dict (as "
                            f"in the YAML config), not {type(value).__name__}") from None


def command_line(data_dir: str | Path, output: str | Path | None, config: str | Path | Mapping[str, Any] | None,
                 preset: str | None, overwrite: bool, overrides: Mapping[str, Any]) -> list[str]:
    """The ``python -m competition run`` arguments that :class:`CompetitionRun`'s arguments stand for, in the
    order the parser applies them: the config (a YAML file, or a mapping passed as its text), then the data
    folder, output, preset and each override. An override is a dotted key (``"transformer.n_seeds": 2``) or a
    section with a dict (``folds={"n_splits": 3}``: one ``--folds.n_splits 3`` per key, so the parser names a bad
    key as ``--folds.n_split``; a dict under such a key, like ``transformer={"model": {"lr": 0.001}}``, is the
    value of that dict-typed setting)."""
    argv = ["run"]
    if config is not None:
        argv += ["--config", json.dumps(dict(config)) if isinstance(config, Mapping) else str(config)]
    argv += ["--data.dir", str(data_dir)]
    argv += ["--output", str(output)] if output is not None else []
    argv += ["--preset", preset] if preset is not None else []
    for key, value in overrides.items():
        section = isinstance(value, Mapping) and "." not in key
        for name, setting in (value.items() if section else [(key, value)]):
            dotted = f"{key}.{name}" if section else key
            argv += [f"--{dotted}", _value_argument(dotted, setting)]
    return argv + (["--overwrite"] if overwrite else [])


class CompetitionRun:
    """One competition run, from Python: the counterpart of ``python -m competition run`` (like AutoGluon's
    ``TabularPredictor``: ``fit``, ``leaderboard``, ``predict_proba``).

    Args:
        data_dir: The competition folder (train.csv, test.csv, sample_submission.csv): ``--data.dir``.
        output: The run folder (``--output``); None: the config's, else ``runs/<name of data_dir>``.
        config: A pipeline YAML file (``--config``), or the same settings as a mapping; applied first.
        preset: ``fast``, ``default`` or ``best`` (``--preset``); None: the config's, else ``default``.
        overwrite: Delete a different run's files in ``output`` instead of refusing (``--overwrite``).
        **overrides: Any other setting of :class:`~competition.config.PipelineConfig`, as a section's dict
            (``folds={"n_splits": 3}``, ``transformer={"enabled": False}``) or a dotted key
            (``**{"transformer.n_seeds": 2}``), applied after the config, as on the command line.

    Raises:
        PipelineError: An unknown key or a value of the wrong type, with the message the CLI prints. What needs
            the data (ranges, the metric against the classes) is checked by :meth:`fit`, before anything is written.

    Attributes:
        config: The resolved :class:`~competition.config.PipelineConfig` (``output`` made absolute, so that a
            notebook that changes its working folder still finds the run).

    Example::

        >>> run = CompetitionRun("data/spam", output="runs/spam", transformer={"enabled": False},
        ...                      **{"folds.n_splits": 3})
        >>> run.fit().leaderboard()[["model", "score", "macro_f1"]]
    """

    def __init__(self, data_dir: str | Path, output: str | Path | None = None,
                 config: str | Path | Mapping[str, Any] | None = None, preset: str | None = None, *,
                 overwrite: bool = False, **overrides: Any) -> None:
        argv = command_line(data_dir, output, config, preset, overwrite, overrides)
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except ArgumentError as err:
            raise PipelineError(argument_error(err, argv)) from None
        resolved = resolve_config(parser, args)
        self.config: PipelineConfig = dataclasses.replace(resolved, output=str(Path(resolved.output).resolve()))
        self._overwrite = bool(args.run.overwrite)
        self._context: Context | None = None  # the latest opening of the run folder (fit or load), for reading

    @property
    def path(self) -> Path:
        """The run folder."""
        return Path(self.config.output)

    @property
    def manifest(self) -> dict[str, Any]:
        """The run's ``manifest.json`` as it is now on disk: config, data hashes, package versions, history."""
        return RunFolder.for_reading(self.path).manifest

    def __repr__(self) -> str:
        return f"CompetitionRun({str(self.path)!r})"

    # ----------------------------------------------------------------------------------------------- running

    @classmethod
    def load(cls, output: str | Path) -> "CompetitionRun":
        """Reopen the run folder ``output`` (written by :meth:`fit` or ``python -m competition``) for reading, under
        the config its manifest records; the competition folder it names must still be there (its rows are what the
        predictions are checked against). Like any opening it is recorded in the manifest's history (``load``), and
        it is refused while another run holds the folder.

        Example::

            >>> CompetitionRun.load("runs/spam").leaderboard()
        """
        saved = RunFolder.for_reading(output).manifest.get("config")
        if not isinstance(saved, dict) or not isinstance(saved.get("data"), dict) or "dir" not in saved["data"]:
            raise RunFolderError(f"{Path(output) / 'manifest.json'} records no config with a data.dir; re-run the "
                                 "pipeline into another folder")
        run = cls(saved["data"]["dir"], output=output, config=saved)
        run._open("load", [])
        return run

    def fit(self, steps: str | Iterable[str] | None = None) -> "CompetitionRun":
        """Run the pipeline's ``steps`` (None: all of them, as ``python -m competition run``), always in the
        pipeline's order (folds, baseline, pretrain, train, predict, decide, submit, report), in the run folder:
        finished trainings are kept, interrupted ones resume. Returns ``self``.

        Raises:
            PipelineError: What the CLI prints as ``error:`` (a config that does not fit the data, a folder in use
                or holding another run's outputs, a missing earlier step...), raised before that step writes.

        Example::

            >>> run.fit()                                   # everything
            >>> run.fit(["decide", "submit", "report"])     # after new predictions: decide and submit again
            >>> CompetitionRun("data/spam", output="runs/spam", threshold={"metric": "mcc"}).fit(
            ...     ["decide", "submit", "report"])             # the same folder re-decided for another metric
        """
        wanted = list(STEPS) if steps is None else [steps] if isinstance(steps, str) else list(steps)
        unknown = [step for step in wanted if step not in STEPS]
        if unknown or not wanted:
            problem = f"unknown step {unknown[0]!r}" if unknown else "no step given"
            raise PipelineError(f"fit(steps={steps!r}): {problem}; the steps are {', '.join(STEPS)} (None: all of "
                                "them)")
        chosen = [step for step in STEPS if step in wanted]
        self._open("run" if chosen == list(STEPS) else " + ".join(chosen), chosen)
        return self

    def _open(self, command: str, steps: list[str]) -> None:
        """Open the run folder as the CLI's ``command`` does and run ``steps`` in it; keep the context for reading
        (its readers need no lock)."""
        context = open_context(self.config, command, self._overwrite)
        with context.run:
            run_steps(context, steps)
        self._context = context

    def _opened(self) -> Context:
        if self._context is None:
            raise PipelineError(f"{self.path} has not been opened by this CompetitionRun; call fit() first, or "
                                f"CompetitionRun.load({str(self.path)!r}) for a finished run")
        return self._context

    # ----------------------------------------------------------------------------------------------- reading

    def leaderboard(self) -> pd.DataFrame:
        """Every model's out-of-fold scores, from the report's numbers (``report/report.json``; the report step is
        run first when it is missing or unreadable), best first by the run's metric (``threshold.metric``).

        Returns:
            One row per model (transformer, baseline, blend: those the run made), columns ``model``; ``score``:
            the run's metric under the model's decision rule, computed as the decide step scores its rules (the F1
            of ``fbeta``, binary metrics of the positive class); the report's scores under that rule
            (``macro_f1``, ``minority_f1``, ``pr_auc``, ``roc_auc``, ``balanced_accuracy``, ``mcc``, ``g_mean``;
            None where undefined); ``macro_f1_at_argmax``; ``decision_rule`` (its description); ``submitted``
            (whether submission.csv holds this model's predictions). Ties go by macro-F1, the report's ranking.
            ``attrs["metric"]`` names the run's metric.

        Example::

            >>> run.leaderboard()[["model", "score", "pr_auc", "submitted"]]
        """
        self._opened()
        try:
            numbers = read_report_numbers(self.path)
        except ValueError:
            numbers = None  # unreadable: the report step writes it again
        if numbers is None:
            numbers = read_report_numbers(self.fit(["report"]).path)
        context = self._opened()
        metric, classes = self.config.threshold.metric, context.competition.classes
        positive = None if context.plan.positive_class is None else int(
            np.flatnonzero(classes == context.plan.positive_class)[0])
        rows = []
        for name in numbers["ranking"]:  # by macro-F1, which breaks the ties of the run's metric
            evaluation = numbers["models"][name]
            confusion = np.asarray(evaluation["confusion_matrix"], dtype=np.float64)
            rows.append({"model": name, "score": float(confusion_score(confusion, metric, positive)),
                         **{column: evaluation["overall"][column] for column in REPORT_METRICS},
                         "macro_f1_at_argmax": evaluation["at_argmax"]["macro_f1"],
                         "decision_rule": evaluation["decision"]["text"], "submitted": name == context.plan.source})
        board = pd.DataFrame(rows).sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
        board.attrs["metric"] = metric
        return board

    def predict_proba(self, model: str | None = None) -> pd.DataFrame:
        """The test probabilities of ``model`` (None: the submitted one, ``submission.source``), its fold models'
        ensemble (``submission.ensembling``): shape (n_test, C) float64, indexed by test.csv's ids in its order,
        one column per class (the sorted train labels), like AutoGluon's ``predict_proba``.

        Example::

            >>> run.predict_proba()["spam"].describe()
        """
        context = self._opened()
        name = self._model(model, context)
        return self._frame(context.run.read_test(name, context.competition), context.competition.test_ids, context)

    def oof(self, model: str | None = None) -> pd.DataFrame:
        """The out-of-fold probabilities of ``model`` (None: the submitted one): each train row predicted by the
        fold model that did not train on it; shape (n_train, C) float64, indexed by train.csv's ids in its order,
        one column per class.

        Example::

            >>> run.oof("baseline").idxmax(axis=1).value_counts()
        """
        context = self._opened()
        name = self._model(model, context)
        proba, _ = context.run.read_oof(name, context.competition)
        return self._frame(proba, context.competition.train_ids, context)

    def submission(self) -> pd.DataFrame:
        """``submission.csv`` as written: sample_submission.csv's columns and ids, every value a string as in the
        file (labels, ids such as ``007``), probability columns float64.

        Example::

            >>> run.submission()["label"].value_counts()
        """
        self._opened()
        path = self.path / SUBMISSION
        if not path.is_file():
            raise RunFolderError(f"{path} is missing; run the submit step (fit(['submit'])), which writes it")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if self.config.submission.kind == "probabilities":
            values = [column for column in frame.columns if column != self.config.data.id_column]
            frame[values] = frame[values].astype(np.float64)
        return frame

    @staticmethod
    def _model(model: str | None, context: Context) -> str:
        if model is None:
            return context.plan.source
        if model not in context.plan.models:
            raise PipelineError(f"model {model!r} is not one of this run's models; choose among "
                                f"{', '.join(context.plan.models)} (None: the submitted {context.plan.source})")
        return model

    @staticmethod
    def _frame(proba: np.ndarray, ids: np.ndarray, context: Context) -> pd.DataFrame:
        return pd.DataFrame(proba, index=pd.Index(ids, name=context.competition.id_column),
                            columns=[str(label) for label in context.competition.classes])
