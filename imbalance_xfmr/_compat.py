"""Every use of Lightning's and jsonargparse's private API in imbalance-xfmr, behind named helpers.

The rest of the library (:mod:`imbalance_xfmr.cli`, :mod:`imbalance_xfmr.training`, the models) calls the helpers
here and never reaches a name with a leading underscore on a Lightning or jsonargparse object, so an upgrade that
renames one breaks this module only (and ``tests/test_cli_faults.py``, which checks with
:func:`missing_private_api` that everything named here is still there).

Checked with pytorch-lightning 2.6.6 (and the lightning_fabric it ships) and jsonargparse 4.53.0, the versions of
``constraints.txt``. What is reached, and why:

- ``LightningCLI._parse_ckpt_path``, ``._set_seed``, ``._add_instantiators`` (overridden): the steps of
  ``LightningCLI.__init__`` between parsing and instantiation, with no public hook. :class:`LightningCLIBase` turns
  them into the public-named methods :meth:`~LightningCLIBase.apply_checkpoint_hyperparameters`,
  :meth:`~LightningCLIBase.seed_from_config` and :meth:`~LightningCLIBase.add_checkpoint_instantiators`, which the
  ``imbalance-xfmr`` CLI overrides (a checked, version-tolerant reading of a checkpoint's hyper-parameters; a
  parse-only CLI that seeds nothing and instantiates nothing).
- ``LightningCLI._get``, ``._parser``, ``._instantiate_trainer`` (called): the subcommand's section of a config,
  the subcommand's parser (its ``callback_keys``, its ``prog``) and the Trainer built with the callbacks and the
  config-saving callback exactly as Lightning builds it. :meth:`~LightningCLIBase.config_section`,
  :meth:`~LightningCLIBase.subcommand_parser`, :meth:`~LightningCLIBase.build_trainer`.
- ``ArgumentParser._actions`` (argparse's, inherited by jsonargparse's parser) and jsonargparse's
  ``ActionTypeHint._typehint``: the keys a parser accepts and the type each has, for one-line config errors
  (:func:`parser_actions`, :func:`action_typehint`).
- ``Trainer._logger_connector.should_update_logs``: whether this training step's logged values reach the loggers
  (:func:`logger_writes_this_step`), so that a model logs its step loss only then.
- ``LightningModule._current_fx_name`` (set by Lightning around every hook call): :class:`PlainHookName` makes it a
  plain attribute, skipping ``nn.Module.__setattr__``'s checks some 50 times a training step.
- ``lightning_fabric.utilities.data._set_sampler_epoch``: what Lightning's fit loop calls at each epoch start
  (:func:`set_sampler_epoch`), so that a callback can give the samplers the epoch Lightning would.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from jsonargparse import Namespace
from lightning_fabric.utilities import data as _fabric_data
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

__all__ = ["OVERRIDDEN_LIGHTNING_CLI_HOOKS", "LightningCLIBase", "PlainHookName", "action_typehint",
           "logger_writes_this_step", "missing_private_api", "parser_actions", "set_sampler_epoch"]

OVERRIDDEN_LIGHTNING_CLI_HOOKS = ("_parse_ckpt_path", "_set_seed", "_add_instantiators")
"""The private ``LightningCLI`` methods :class:`LightningCLIBase` overrides (Lightning must still call them)."""

_CALLED_LIGHTNING_CLI_METHODS = ("_get", "_parser", "_instantiate_trainer")


class LightningCLIBase(LightningCLI):
    """``LightningCLI`` whose private steps are public-named methods (the ``imbalance-xfmr`` CLI's base class)."""

    def _parse_ckpt_path(self) -> None:
        self.apply_checkpoint_hyperparameters()

    def apply_checkpoint_hyperparameters(self) -> None:
        """After parsing: the model hyper-parameters saved in the subcommand's ``ckpt_path`` override the config
        (Lightning's ``_parse_ckpt_path``)."""
        super()._parse_ckpt_path()

    def _set_seed(self) -> None:
        self.seed_from_config()

    def seed_from_config(self) -> None:
        """After parsing: ``seed_everything`` of the config (Lightning's ``_set_seed``)."""
        super()._set_seed()

    def _add_instantiators(self) -> None:
        self.add_checkpoint_instantiators()

    def add_checkpoint_instantiators(self) -> None:
        """Before instantiation: the instantiators that let ``Model.load_from_checkpoint`` rebuild a model from the
        hyper-parameters the CLI saved (Lightning's ``_add_instantiators``)."""
        super()._add_instantiators()

    def config_section(self, config: Namespace, key: str, default: Any = None) -> Any:
        """``config[key]`` of the running subcommand (or of the config itself without one), else ``default``."""
        return self._get(config, key, default)

    def subcommand_parser(self, subcommand: str | None) -> LightningArgumentParser:
        """The parser of ``subcommand`` (None: the main parser)."""
        return self._parser(subcommand)

    def build_trainer(self, config: dict[str, Any], callbacks: list[Callback]) -> pl.Trainer:
        """The Trainer of ``config`` (keyword arguments) with ``callbacks`` added to its own and Lightning's
        config-saving callback, as ``LightningCLI.instantiate_trainer`` builds it."""
        return self._instantiate_trainer(config, callbacks)


def parser_actions(parser: LightningArgumentParser) -> list[Any]:
    """The argparse actions of ``parser``: one per key it accepts (``action.dest``)."""
    return list(parser._actions)


def action_typehint(action: Any) -> Any:
    """The type a jsonargparse ``action`` checks its value against, or None (an action without one)."""
    return getattr(action, "_typehint", None)


def logger_writes_this_step(trainer: pl.Trainer) -> bool:
    """Whether Lightning writes this training step's logged values to the loggers (it asks this after
    ``on_train_batch_end``): every ``log_every_n_steps``, on the step training stops, every step of a fast_dev_run.
    True if this Lightning has no such test (then the step loss is logged every step, as before)."""
    connector = getattr(trainer, "_logger_connector", None)
    writes = getattr(connector, "should_update_logs", True)
    return bool(writes or trainer.fast_dev_run)


class PlainHookName:
    """Mixin for a LightningModule (first among its bases): ``_current_fx_name``, which Lightning sets around every
    hook call (about 50 times a training step), is stored as a plain attribute. ``nn.Module.__setattr__``
    (isinstance checks against Parameter, Module, Tensor) costs several times a plain attribute's, and the value is
    a str or None, never a parameter, buffer or submodule."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
            return
        super().__setattr__(name, value)


def set_sampler_epoch(loader: object, epoch: int) -> None:
    """``set_epoch(epoch)`` on the sampler and batch sampler of ``loader`` that have one, as Lightning's fit loop
    does at the start of each training epoch."""
    _fabric_data._set_sampler_epoch(loader, epoch)


def missing_private_api() -> list[str]:
    """The private names this module reaches that the installed Lightning / jsonargparse lack (empty: all there).
    ``Trainer._logger_connector`` exists on a Trainer only, so one is built (no logger, nothing written)."""
    missing = [f"LightningCLI.{name}" for name in (*OVERRIDDEN_LIGHTNING_CLI_HOOKS, *_CALLED_LIGHTNING_CLI_METHODS)
               if not callable(getattr(LightningCLI, name, None))]
    if not hasattr(_fabric_data, "_set_sampler_epoch"):
        missing.append("lightning_fabric.utilities.data._set_sampler_epoch")
    parser = LightningArgumentParser()
    parser.add_argument("--number", type=int)
    if not any(action_typehint(action) is int for action in getattr(parser, "_actions", [])):
        missing.append("ArgumentParser._actions / ActionTypeHint._typehint")
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    if not hasattr(getattr(trainer, "_logger_connector", None), "should_update_logs"):
        missing.append("Trainer._logger_connector.should_update_logs")
    module = pl.LightningModule()
    if "_current_fx_name" not in vars(module):
        missing.append("LightningModule._current_fx_name")
    return missing
