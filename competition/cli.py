"""The command line of ``python -m competition``: its parser, its refusals as one line, and the config it gives.

Subcommands: ``run`` (every step in order), the steps on their own (``folds``, ``baseline``, ``pretrain``,
``train``, ``predict``, ``decide``, ``submit``, ``report``: a finished run can be re-decided, re-submitted or
re-reported without retraining; a step first makes what it needs and the run folder lacks), and ``compare`` (several
runs side by side). Each step reads the same config (:class:`competition.config.PipelineConfig`): ``--config
FILE.yaml``, then any key on the command line, jsonargparse style (``--data.dir DIR --output DIR --folds.n_splits
3``), applied left to right. :mod:`competition.runner` holds the steps and ``main``; :mod:`competition.plan` checks
and resolves the config before any step writes anything.
"""

from __future__ import annotations

import dataclasses
import re
from argparse import ArgumentError
from pathlib import Path
from collections.abc import Mapping
from typing import Optional

from jsonargparse import ActionConfigFile, ActionYesNo, ArgumentParser, Namespace

from competition.config import PipelineConfig

COMPARE_HELP = "Put several run folders side by side: python -m competition compare RUN RUN ... [--output DIR]."


def build_parser(steps: Mapping[str, str]) -> ArgumentParser:
    """The parser of ``python -m competition``: ``run``, each step of ``steps`` (name -> help, in the order ``run``
    takes them) and ``compare``."""
    # No prefix abbreviations: a typo such as --folds.n_split must be an error, not a guess.
    # exit_on_error=False: a bad argument is one `error:` line from main(), not the whole usage first.
    parser = ArgumentParser(prog="python -m competition", allow_abbrev=False, exit_on_error=False,
                            description="Run a competition end to end, or one step of it.")
    subcommands = parser.add_subcommands(dest="command")
    helps = {"run": "Run the whole competition: " + ", ".join(steps) + ".", **steps}
    for name, description in helps.items():
        sub = ArgumentParser(description=description, allow_abbrev=False, exit_on_error=False)
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
        subcommands.add_subcommand(name, sub, help=description)
    compare = ArgumentParser(description=COMPARE_HELP, allow_abbrev=False, exit_on_error=False)
    compare.add_argument("runs", nargs="+", type=str, help="Run folders, each with a report (run `report` first)")
    compare.add_argument("--output", type=Optional[str], default=None,
                         help="Folder to write compare.md, compare.html and compare.json to (the Markdown table "
                              "is printed either way)")
    subcommands.add_subcommand("compare", compare, help=COMPARE_HELP)
    return parser


def resolve_config(parser: ArgumentParser, args: Namespace) -> PipelineConfig:
    """The step's arguments as a :class:`PipelineConfig`, with ``data.dir`` made absolute, ``output`` defaulting to
    ``runs/<competition folder name>``; the rest of its nulls are filled by the plan (:mod:`competition.plan`)."""
    sections = parser.instantiate(args)[args.command]
    config = PipelineConfig(**{f.name: sections[f.name] for f in dataclasses.fields(PipelineConfig)})
    config.data.dir = str(Path(config.data.dir).resolve())
    if config.output is None:
        config.output = str(Path("runs") / Path(config.data.dir).name)
    return config


# A YAML flow map needs a space after each colon: '{max_epochs:2}' is one key named "max_epochs:2".
_FLOW_MAP_WITHOUT_SPACE = re.compile(r"\{\s*[\w.]+:\S")


def argument_error(err: ArgumentError, argv: list[str]) -> str:
    """The one-paragraph message of a command line the parser refused: what it said, and what to write instead."""
    message = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    message = message.replace("Parser key ", "--").replace('"', "", 2)
    if "Expected a <class 'dict'>" in message and any(_FLOW_MAP_WITHOUT_SPACE.search(arg) for arg in argv):
        message += ". A YAML map needs a space after each colon: write '{max_epochs: 2}', not '{max_epochs:2}'"
    command = next((arg for arg in argv if not arg.startswith("-")), "")
    usage = f"python -m competition {command} --help" if command.isidentifier() else "python -m competition --help"
    return f"{message}. See `{usage}` for the options"
