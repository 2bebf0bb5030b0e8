"""The ``imbalance-xfmr`` command: LightningCLI over :class:`TextClassifier` and :class:`TextDataModule`.

Subcommands ``fit``, ``validate``, ``test`` and ``predict``; configs are YAML (see ``competition/configs/``)::

    imbalance-xfmr fit --config competition/configs/demo_binary.yaml
    imbalance-xfmr predict --config competition/configs/demo_binary.yaml --ckpt_path <run>/checkpoints/last.ckpt
    imbalance-xfmr fit --config competition/configs/demo_binary.yaml --print_config   # the full resolved config

What this CLI adds to LightningCLI:

- The model's ``vocab_size``, ``num_classes``, ``class_counts`` and ``pad_token_id`` come from the DataModule (which
  fits its tokenizer on the training split when they are first read), and ``model.max_length`` is
  ``data.max_length``: none of them is written twice in a config.
- Seeding is explicit: ``seed_everything`` defaults to :data:`DEFAULT_SEED`; ``true`` draws a fresh seed from the
  operating system; either way the seed used is printed and recorded in the run's ``config.yaml``
  (LightningCLI alone would seed ``true`` with 0 and only warn).
- With ``--ckpt_path`` the DataModule takes its tokenizer and label encoding from that checkpoint
  (``data.checkpoint_path``), so ``predict`` never refits anything and never reads test texts for fitting.
- ``predict`` writes the class probabilities to ``prediction_writer.output_path`` (CSV: id, one column per class).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from jsonargparse import Namespace
from pytorch_lightning.cli import ArgsType, LightningArgumentParser, LightningCLI
from pytorch_lightning.utilities import rank_zero_info

from imbalance_xfmr.data import ProbabilityWriter, TextDataModule
from imbalance_xfmr.model.classifier import TextClassifier

DEFAULT_SEED = 42
"""Seed used when a config gives none: fixed, so that two runs of the same config train the same model."""

PARSER_KWARGS = {"allow_abbrev": False}
"""argparse would otherwise read the typo ``--data.text_colum`` as ``--data.text_column``."""

_LINKED_AT_INSTANTIATION = ("vocab_size", "num_classes", "class_counts", "pad_token_id")


class ImbalanceXfmrCLI(LightningCLI):
    """LightningCLI with the DataModule-to-model links, explicit seeding and checkpoint-restored data state."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in _LINKED_AT_INSTANTIATION:
            parser.link_arguments(f"data.{name}", f"model.{name}", apply_on="instantiate")
        parser.link_arguments("data.max_length", "model.max_length")
        parser.add_lightning_class_args(ProbabilityWriter, "prediction_writer")

    def parse_arguments(self, parser: LightningArgumentParser, args: object) -> None:
        super().parse_arguments(parser, args)
        config = self._subcommand_config()
        if config.get("seed_everything") is True:
            # Replace Lightning's `seed_everything(None)` (seed 0) with a real draw; it is recorded like any seed.
            config["seed_everything"] = secrets.randbelow(2**32)

    def before_instantiate_classes(self) -> None:
        config = self._subcommand_config()
        seed = config.get("seed_everything")
        if seed is False:
            rank_zero_info("imbalance-xfmr: seed_everything=false, the run is not seeded and will not repeat.")
        else:
            rank_zero_info(f"imbalance-xfmr: seed_everything={seed} (recorded in the run's config.yaml).")
        checkpoint = config.get("ckpt_path")
        # Lightning also accepts "last", "best", ... here; only a real file holds a tokenizer to restore.
        if checkpoint and Path(checkpoint).is_file() and config.data.checkpoint_path is None:
            config.data.checkpoint_path = str(checkpoint)

    def _subcommand_config(self) -> Namespace:
        subcommand = self.config.get("subcommand")
        return self.config[subcommand] if subcommand else self.config


def make_cli(args: ArgsType = None, run: bool = True,
             save_config_kwargs: dict[str, Any] | None = None) -> ImbalanceXfmrCLI:
    """The ``imbalance-xfmr`` CLI over ``args`` (None: ``sys.argv[1:]``); ``run=False`` builds the DataModule,
    model and Trainer of the config without running a subcommand (``args`` then holds no subcommand).
    ``save_config_kwargs`` go to Lightning's ``SaveConfigCallback`` (e.g. ``{"overwrite": True}``)."""
    return ImbalanceXfmrCLI(
        TextClassifier,
        TextDataModule,
        seed_everything_default=DEFAULT_SEED,
        auto_configure_optimizers=False,  # TextClassifier.configure_optimizers owns AdamW and its schedule
        parser_kwargs=PARSER_KWARGS,
        save_config_kwargs=save_config_kwargs,
        args=args,
        run=run,
    )


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``imbalance-xfmr`` console script (``args`` replaces ``sys.argv[1:]``, for tests)."""
    make_cli(args)


if __name__ == "__main__":
    main()
