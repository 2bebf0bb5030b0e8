"""The steps of a run as peers, and the one runner that orders them.

Each step is a function of the :class:`~competition.context.Context` that reads what earlier steps wrote into the
run folder and writes its own outputs; none calls or imports another. What a step needs, whether it is on for
this config, whether its outputs are already there, and which pinned artifact group it writes are declared here,
once, in :data:`STEPS`; :func:`run_steps` owns the prologue every step shared (off / pin / run) and, make-like,
first makes what a step needs and the run folder does not hold yet. ``python -m competition run`` runs every step
in order (each skips what it finished before); ``python -m competition STEP`` runs one, after its missing needs.
"""

from __future__ import annotations

import signal
import sys
import threading
from argparse import ArgumentError
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jsonargparse import ArgumentParser

from competition import cli
from competition.baseline import step_baseline
from competition.compare import write_comparison
from competition.context import Context
from competition.decide import rules_are_current, step_decide
from competition.errors import PipelineError
from competition.folds import step_folds
from competition.plan import open_context
from competition.predict import predictions_done, step_predict
from competition.pretrain import pretrainings_done, step_pretrain
from competition.report import step_report
from competition.submit import step_submit
from competition.train import fold_models_done, step_train


@dataclass(frozen=True)
class Step:
    """One step: what it does, what it needs, when it is off, when its outputs are there, and what it pins."""

    name: str
    run: Callable[[Context], object]
    needs: tuple[str, ...]  # the steps whose outputs it reads (made first when missing; skipped when off)
    off: Callable[[Context], str | None]  # why the step is off for this config, or None when it is on
    done: Callable[[Context], bool]  # whether its outputs are in the run folder and current
    pin: str | None = None  # the artifact group it writes (competition.run_folder: pinned before it writes)
    help: str = ""


def _always_on(ctx: Context) -> str | None:
    return None


def _never_done(ctx: Context) -> bool:
    return False


def _off_unless(section: str) -> Callable[[Context], str | None]:
    def off(ctx: Context) -> str | None:
        return None if getattr(ctx.config, section).enabled else f"disabled ({section}.enabled=false)"
    return off


def _pretraining_off(ctx: Context) -> str | None:
    return None if ctx.plan.pretrainings else "off (pretrain.enabled=false, or the Transformer is disabled)"


# The steps in the order `run` takes them. The report comes after the submission, so that a report that fails never
# costs the submission.
STEPS: dict[str, Step] = {step.name: step for step in (
    Step("folds", step_folds, (), _always_on, lambda ctx: ctx.run.has_folds(), pin="folds",
         help="Make (or check) the fixed stratified folds."),
    Step("baseline", step_baseline, ("folds",), _off_unless("baseline"),
         lambda ctx: ctx.run.has_probabilities("baseline"), pin="baseline",
         help="Cross-fit the TF-IDF + logistic-regression baseline on the folds."),
    Step("pretrain", step_pretrain, ("folds",), _pretraining_off, pretrainings_done, pin="pretrain",
         help="Self-pretrain the fold models' encoder (masked LM on every train and test text, no labels)."),
    Step("train", step_train, ("folds", "pretrain"), _off_unless("transformer"), fold_models_done, pin="transformer",
         help="Fit one Transformer per fold (finished fold models are skipped, interrupted ones resume)."),
    Step("predict", step_predict, ("folds", "train"), _off_unless("transformer"), predictions_done,
         help="Out-of-fold and test predictions of the fold models, and their fold ensemble."),
    Step("decide", step_decide, ("baseline", "predict"), _always_on, rules_are_current,
         help="Tune each model's decision rule and the Transformer + baseline blend out of fold."),
    Step("submit", step_submit, ("decide",), _always_on, _never_done,
         help="Write submission.csv, validated against sample_submission.csv."),
    Step("report", step_report, (), _always_on, _never_done,
         help="Write the report (Markdown, HTML, JSON, PNGs in <output>/report/)."),
)}


def run_steps(ctx: Context, names: Sequence[str]) -> None:
    """Run the steps ``names`` in order, each after the steps it needs that are on and not done yet."""
    made: set[str] = set()

    def make(name: str, asked: bool) -> None:
        step = STEPS[name]
        off = step.off(ctx)
        if off is not None:
            if asked:
                ctx.run.log(f"{name}: {off}")
            return
        for need in step.needs:
            if need not in made and STEPS[need].off(ctx) is None and not STEPS[need].done(ctx):
                make(need, asked=False)
        if step.pin is not None:
            ctx.run.pin(step.pin)
        step.run(ctx)
        made.add(name)

    for name in names:
        make(name, asked=True)


def build_parser() -> ArgumentParser:
    """The parser of ``python -m competition`` with this runner's steps (:func:`competition.cli.build_parser`)."""
    return cli.build_parser({name: step.help for name, step in STEPS.items()})


def main(argv: list[str] | None = None) -> None:
    """``python -m competition ARGV``: parse, check, open the run folder, run the steps; a mistake the user can fix
    is one ``error:`` line and exit status 2, an interruption (Ctrl-C, ``kill``) exit status 130."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except ArgumentError as err:
        print(f"error: {cli.argument_error(err, argv)}", file=sys.stderr)
        raise SystemExit(2) from None
    command = args.command
    interrupted: list[int] = []

    def interrupt(signum: int, frame: object) -> None:
        # Ctrl-C and a plain `kill` stop the run where it is (its workers too, see competition.workers), remembered
        # here since Lightning turns a KeyboardInterrupt inside a fit into SystemExit(1).
        interrupted.append(signum)
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()  # only it may set signal handlers
    handlers = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)} if main_thread else {}
    try:
        if command == "compare":
            print(write_comparison(args.compare.runs, args.compare.output), end="")
            return
        config = cli.resolve_config(parser, args)
        flags = args[command]
        ctx = open_context(config, command, flags.overwrite, flags.get("only_fold"), flags.get("only_seed"))
        with ctx.run:
            run_steps(ctx, list(STEPS) if command == "run" else [command])
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err
    except (KeyboardInterrupt, SystemExit) as err:
        if isinstance(err, SystemExit) and not interrupted:
            raise
        print("interrupted: run the same command again to resume (finished trainings are kept, interrupted ones "
              "continue from their last checkpoint)", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
