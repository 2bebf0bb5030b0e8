"""Load a pretrained BERT-family checkpoint folder, in Hugging Face's layout, into our own encoder.

The folder is what ``save_pretrained`` writes (or a download from the Hub): ``config.json`` plus the weights,
``model.safetensors`` (read with `safetensors`) or ``pytorch_model.bin`` (``torch.load(weights_only=True)``), each
possibly sharded with an ``.index.json``. A sentence-transformers folder (``modules.json``) is recognised too: the
Transformer module's folder holds the checkpoint and the Pooling module's ``config.json`` chooses the pooling.

Supported ``model_type`` values (:data:`SUPPORTED_MODEL_TYPES`), all post-LN encoders with learned absolute
positions and a layer norm over the summed embeddings:

- ``bert`` (MiniLM checkpoints, such as all-MiniLM-L6-v2, are ``bert`` too): token types, BERT's pooler when the
  checkpoint has one and the pooling is ``cls`` (mean or max pooling, as sentence-transformers', leave it out);
- ``distilbert``: its own tensor names, no token types, layer-norm eps 1e-12; a ``sinusoidal_pos_embds``
  checkpoint's fixed table is stored in its weights and is loaded as a learned one (so fine-tuning trains it,
  where Hugging Face keeps it frozen);
- ``roberta`` and ``xlm-roberta``: BERT's layout with positions that skip padding
  (:func:`~imbalance_xfmr.model.encoder.positions_skipping_padding`), so ``max_length`` is
  ``max_position_embeddings - pad_token_id - 1``;
- ``electra`` (the discriminator, or any ElectraModel): embeddings of width ``embedding_size`` projected to
  ``hidden_size``.

The weights may sit under any one prefix (``bert.``, ``roberta.``, ``electra.``, ``distilbert.``, or none for a bare
model): the prefix is the one in front of ``embeddings.word_embeddings.weight``, and task heads outside it (``cls.``,
``lm_head.``, ``classifier.`` ...) are left out. The separate query, key and value projections are concatenated into
our fused ``qkv``. Every tensor of the encoder must be found with the shape ``config.json`` implies, and every tensor
under the prefix must find a place: otherwise one :class:`CheckpointError` names the file and the tensor.

Nothing here touches the network or imports ``transformers``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor

from .encoder import Activation, EncoderConfig, Pooling, TransformerClassifier

SUPPORTED_MODEL_TYPES = ("bert", "distilbert", "roberta", "xlm-roberta", "electra")
_ROBERTA_LIKE = ("roberta", "xlm-roberta")
# Weight files in the order of preference (transformers' own): safetensors first, each whole or sharded.
WEIGHT_FILES = (
    "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"
)
_WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
# Position-id and token-type-id buffers that older transformers versions saved with the weights: not parameters.
_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")

# Hugging Face's hidden_act / activation names -> ours ("gelu" is the exact erf GELU in both).
_ACTIVATIONS: dict[str, Activation] = {
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}

# Tensor names (after the prefix, without .weight / .bias) -> ours. Layer names are under the layer prefix + "{i}.".
_EMBEDDING_NAMES = {
    "embeddings.word_embeddings": "token_embedding",
    "embeddings.token_type_embeddings": "token_type_embedding",
    "embeddings.position_embeddings": "position.table",
    "embeddings.LayerNorm": "embedding_norm",
    "embeddings_project": "embedding_projection",  # ELECTRA, when embedding_size != hidden_size
    "pooler.dense": "pooler.dense",
}
_BERT_LAYERS = "encoder.layer."
_BERT_LAYER_NAMES = {
    "attention.output.dense": "attn.out",
    "attention.output.LayerNorm": "norm1",
    "intermediate.dense": "ff.fc_in",
    "output.dense": "ff.fc_out",
    "output.LayerNorm": "norm2",
}
_BERT_QKV = ("attention.self.query", "attention.self.key", "attention.self.value")
_DISTILBERT_LAYERS = "transformer.layer."
_DISTILBERT_LAYER_NAMES = {
    "attention.out_lin": "attn.out",
    "sa_layer_norm": "norm1",
    "ffn.lin1": "ff.fc_in",
    "ffn.lin2": "ff.fc_out",
    "output_layer_norm": "norm2",
}
_DISTILBERT_QKV = ("attention.q_lin", "attention.k_lin", "attention.v_lin")

# sentence-transformers' Pooling config: the legacy boolean keys, and the pooling_mode names they stand for.
_ST_LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be loaded; the message names the file, what is wrong and what to do."""


class CheckpointNotFoundError(FileNotFoundError):
    """The checkpoint folder, or a file it needs, does not exist; the message says what to give instead."""


def from_pretrained(
    folder: str | Path, num_classes: int | None = None, *, pooling: Pooling | None = None, dropout: float | None = None
) -> TransformerClassifier:
    """Our :class:`TransformerClassifier` with the encoder weights of the checkpoint ``folder`` loaded.

    ``num_classes``: a new, randomly initialised head of that many classes (None: no head); ``pooling``: overrides
    the checkpoint's (sentence-transformers' Pooling config, else ``"cls"``, through BERT's pooler when the
    checkpoint has one); ``dropout``: overrides the checkpoint's hidden and attention dropout rates, for fine-tuning.
    Raises :class:`CheckpointNotFoundError` or :class:`CheckpointError` (see :func:`read_hf_checkpoint`) before
    building anything.
    """
    config, state_dict = read_hf_checkpoint(folder, num_classes, pooling=pooling)
    if dropout is not None:
        config = dataclasses.replace(config, dropout=dropout, attention_dropout=dropout)
    model = TransformerClassifier(config)
    model.load_state_dict(state_dict, strict=False)  # every key but head.*, checked by read_hf_checkpoint
    return model


def read_hf_checkpoint(
    folder: str | Path, num_classes: int | None = None, *, pooling: Pooling | None = None
) -> tuple[EncoderConfig, dict[str, Tensor]]:
    """The :class:`EncoderConfig` of the checkpoint ``folder`` and its weights under our names (a ``state_dict`` of
    :class:`TransformerClassifier` without ``head.*``; tensors in the checkpoint's dtype, on the CPU).

    Raises :class:`CheckpointNotFoundError` when ``folder`` is not a local folder (a Hub name is not downloaded) or
    lacks ``config.json`` or every weight file, and :class:`CheckpointError` for an unsupported ``model_type``, an
    unreadable file, or weights that do not fit the config.
    """
    if pooling not in (None, "cls", "mean", "max"):
        raise ValueError(f"pooling must be 'cls', 'mean', 'max' or None (the checkpoint's), got {pooling!r}.")
    folder, st_pooling = _checkpoint_folder(folder)
    hf_config = _read_json(folder / "config.json", "the checkpoint's config.json (save_pretrained writes it)")
    model_type = hf_config.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise CheckpointError(f"{folder / 'config.json'}: model_type {model_type!r} is not supported; supported "
                              f"model types: {', '.join(SUPPORTED_MODEL_TYPES)}.")
    weights_file, theirs = _read_weights(folder)
    theirs = _strip_prefix(_modern_names(theirs), weights_file)
    pooling = pooling or st_pooling or "cls"
    if pooling != "cls":  # BERT's pooler reads [CLS]; sentence-transformers' mean or max pooling never uses it
        theirs = {key: value for key, value in theirs.items() if not key.startswith("pooler.")}
    config = _encoder_config(hf_config, folder / "config.json", num_classes=num_classes, pooling=pooling,
                             has_pooler="pooler.dense.weight" in theirs)
    if model_type == "distilbert":
        renamed = _rename(theirs, config.n_layers, _DISTILBERT_LAYERS, _DISTILBERT_LAYER_NAMES, _DISTILBERT_QKV)
    else:
        renamed = _rename(theirs, config.n_layers, _BERT_LAYERS, _BERT_LAYER_NAMES, _BERT_QKV)
    ours, sources, unplaced = renamed
    _check_fits(ours, sources, unplaced, config, weights_file)
    return config, ours


def describe_checkpoint(folder: str | Path) -> dict[str, Any]:
    """What a run records of the checkpoint ``folder``, without loading its weights: ``model_type``, ``d_model``,
    ``n_layers``, ``max_length`` (the longest sequence its positions take, [CLS] and [SEP] included), ``pooling``
    (the checkpoint's own: sentence-transformers' Pooling config, else ``"cls"``) and ``weights`` (each weight
    file's name -> its SHA-256, so a run tells one checkpoint from another at the same path). Raises what
    :func:`read_hf_checkpoint` raises for a folder that is not one."""
    folder, st_pooling = _checkpoint_folder(folder)
    hf_config = _read_json(folder / "config.json", "the checkpoint's config.json (save_pretrained writes it)")
    if hf_config.get("model_type") not in SUPPORTED_MODEL_TYPES:
        raise CheckpointError(f"{folder / 'config.json'}: model_type {hf_config.get('model_type')!r} is not "
                              f"supported; supported model types: {', '.join(SUPPORTED_MODEL_TYPES)}.")
    config = _encoder_config(hf_config, folder / "config.json", num_classes=None, pooling=st_pooling or "cls",
                             has_pooler=False)
    weight_files = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()][:1]
    if not weight_files:
        raise CheckpointNotFoundError(f"{folder} holds none of {', '.join(WEIGHT_FILES)}: no PyTorch weights to "
                                      "load (TensorFlow and Flax weight files are not read).")
    if weight_files[0].name.endswith(".index.json"):
        weight_map = _read_json(weight_files[0], "the shard index").get("weight_map", {})
        weight_files = [folder / shard for shard in sorted(set(weight_map.values()))]
    return {"model_type": hf_config["model_type"], "d_model": config.d_model, "n_layers": config.n_layers,
            "max_length": config.max_length, "pooling": config.pooling,
            "weights": {path.name: _sha256(path) for path in weight_files}}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------------------------------------
# The folder and its files


def _checkpoint_folder(folder: str | Path) -> tuple[Path, Pooling | None]:
    """The folder that holds config.json and the weights, and the pooling a sentence-transformers folder asks for
    (None: not one)."""
    path = Path(folder)
    if not path.is_dir():
        raise CheckpointNotFoundError(
            f"{str(folder)!r} is not a folder. Give a local checkpoint folder (config.json plus model.safetensors or "
            "pytorch_model.bin); nothing is downloaded, so for a Hugging Face Hub name download it first (e.g. "
            "`hf download NAME --local-dir DIR`) and give DIR."
        )
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return path, None
    modules = _read_json(modules_file, "sentence-transformers' module list")
    by_kind = {str(module.get("type", "")).rsplit(".", 1)[-1]: module.get("path", "") for module in modules
               if isinstance(module, dict)} if isinstance(modules, list) else {}
    if "Transformer" not in by_kind:
        raise CheckpointError(f"{modules_file}: no sentence_transformers Transformer module is listed, so there is "
                              "no encoder checkpoint to load.")
    pooling = _st_pooling(path / by_kind["Pooling"] / "config.json") if "Pooling" in by_kind else None
    return path / by_kind["Transformer"], pooling


def _st_pooling(config_file: Path) -> Pooling:
    """Our pooling for sentence-transformers' Pooling ``config_file``: its ``pooling_mode`` (or the legacy
    ``pooling_mode_*`` flags, none set meaning mean) when that is cls, mean or max."""
    pooling_config = _read_json(config_file, "sentence-transformers' Pooling config")
    mode = pooling_config.get("pooling_mode")
    if mode is None:
        modes = [name for key, name in _ST_LEGACY_POOLING.items() if pooling_config.get(key)]
        mode = modes[0] if len(modes) == 1 else (modes or "mean")
    if mode not in ("cls", "mean", "max"):
        raise CheckpointError(f"{config_file}: pooling mode {mode!r} is not one of ours (cls, mean, max); pass "
                              "pooling='cls', 'mean' or 'max' to choose one.")
    return mode


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise CheckpointNotFoundError(f"{path} does not exist: the folder lacks {what}.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}).") from None


def _read_weights(folder: Path) -> tuple[Path, dict[str, Tensor]]:
    """The first weight file of :data:`WEIGHT_FILES` that exists in ``folder``, and its tensors (every shard's)."""
    for name in WEIGHT_FILES:
        path = folder / name
        if path.is_file():
            break
    else:
        raise CheckpointNotFoundError(f"{folder} holds none of {', '.join(WEIGHT_FILES)}: no PyTorch weights to "
                                      "load (TensorFlow and Flax weight files are not read).")
    if not name.endswith(".index.json"):
        return path, _read_weight_file(path)
    weight_map = _read_json(path, "the shard index").get("weight_map", {})
    tensors: dict[str, Tensor] = {}
    for shard in sorted(set(weight_map.values())):
        tensors.update(_read_weight_file(folder / shard))
    return path, tensors


def _read_weight_file(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise CheckpointNotFoundError(f"{path} does not exist, though the shard index lists it.")
    try:
        if path.suffix == ".safetensors":
            return load_file(path, device="cpu")
        tensors = torch.load(path, map_location="cpu", weights_only=True)
    except (SafetensorError, RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise CheckpointError(f"{path} is not a readable weight file ({type(error).__name__}: {error}).") from None
    if not isinstance(tensors, Mapping) or not all(isinstance(t, Tensor) for t in tensors.values()):
        raise CheckpointError(f"{path} does not hold a state_dict (a mapping of names to tensors).")
    return dict(tensors)


# ----------------------------------------------------------------------------------------------------------
# Config and tensor names


def _encoder_config(
    hf: dict, where: Path, *, num_classes: int | None, pooling: Pooling, has_pooler: bool
) -> EncoderConfig:
    """Our config for Hugging Face's ``config.json`` dict ``hf`` (defaults: those of transformers' config classes)."""
    model_type = hf["model_type"]

    def need(key: str) -> Any:
        if key not in hf:
            raise CheckpointError(f"{where} has no {key!r}, which a {model_type} config must give.")
        return hf[key]

    def activation(key: str) -> Activation:
        name = hf.get(key, "gelu")
        if name not in _ACTIVATIONS:
            raise CheckpointError(f"{where}: {key} {name!r} is not supported; supported: {', '.join(_ACTIVATIONS)}.")
        return _ACTIVATIONS[name]

    if hf.get("is_decoder") or hf.get("add_cross_attention"):
        raise CheckpointError(f"{where} describes a decoder (is_decoder / add_cross_attention); only encoders load.")
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise CheckpointError(f"{where}: position_embedding_type {hf['position_embedding_type']!r} is not supported; "
                              "only 'absolute' positions are.")
    roberta_like = model_type in _ROBERTA_LIKE
    pad_token_id = hf.get("pad_token_id")
    if pad_token_id is None:
        pad_token_id = 1 if roberta_like else 0
    common: dict[str, Any] = dict(
        num_classes=num_classes, pooling=pooling, pooler=has_pooler, norm_first=False, positional="learned",
        scale_embeddings=False, embedding_norm=True, activation_dropout=0.0, vocab_size=need("vocab_size"),
        pad_token_id=pad_token_id,
    )
    try:
        if model_type == "distilbert":
            return EncoderConfig(
                **common, max_length=need("max_position_embeddings"), d_model=need("dim"), n_heads=need("n_heads"),
                n_layers=need("n_layers"), d_ff=need("hidden_dim"), dropout=hf.get("dropout", 0.1),
                attention_dropout=hf.get("attention_dropout", 0.1), activation=activation("activation"),
                layer_norm_eps=1e-12,  # fixed in DistilBERT's code, not in its config
            )
        max_length = need("max_position_embeddings") - (pad_token_id + 1 if roberta_like else 0)
        return EncoderConfig(
            **common, max_length=max_length, d_model=need("hidden_size"), n_heads=need("num_attention_heads"),
            n_layers=need("num_hidden_layers"), d_ff=need("intermediate_size"),
            dropout=hf.get("hidden_dropout_prob", 0.1), attention_dropout=hf.get("attention_probs_dropout_prob", 0.1),
            activation=activation("hidden_act"), layer_norm_eps=hf.get("layer_norm_eps", 1e-12),
            type_vocab_size=hf.get("type_vocab_size", 1 if roberta_like else 2), positions_skip_padding=roberta_like,
            embedding_size=hf.get("embedding_size") if model_type == "electra" else None,
        )
    except ValueError as error:  # EncoderConfig's own validation
        raise CheckpointError(f"{where}: {error}") from None


def _modern_names(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """Rename the LayerNorm ``gamma`` / ``beta`` of checkpoints converted from TensorFlow to ``weight`` / ``bias``."""
    def rename(key: str) -> str:
        if key.endswith("LayerNorm.gamma"):
            return key[: -len("gamma")] + "weight"
        if key.endswith("LayerNorm.beta"):
            return key[: -len("beta")] + "bias"
        return key

    return {rename(key): tensor for key, tensor in tensors.items()}


def _strip_prefix(tensors: dict[str, Tensor], weights_file: Path) -> dict[str, Tensor]:
    """The tensors under the one prefix in front of ``embeddings.word_embeddings.weight``, without it."""
    prefixes = [key[: -len(_WORD_EMBEDDINGS)] for key in tensors if key.endswith(_WORD_EMBEDDINGS)]
    if len(prefixes) != 1:
        found = "none" if not prefixes else ", ".join(repr(p + _WORD_EMBEDDINGS) for p in prefixes)
        raise CheckpointError(f"{weights_file}: expected exactly one BERT-family encoder, found {found} as "
                              f"'[prefix]{_WORD_EMBEDDINGS}'; supported model types: "
                              f"{', '.join(SUPPORTED_MODEL_TYPES)}.")
    prefix = prefixes[0]
    return {key[len(prefix):]: tensor for key, tensor in tensors.items() if key.startswith(prefix)}


def _rename(
    theirs: dict[str, Tensor], n_layers: int, layers: str, layer_names: dict[str, str], qkv: tuple[str, str, str]
) -> tuple[dict[str, Tensor], dict[str, str], list[str]]:
    """Their tensors under our names: the embedding and pooler names, each layer's names, and each layer's query,
    key and value concatenated (in that order, along the output dimension) into ``attn.qkv``.

    Returns (our tensors, each of our names -> the checkpoint name(s) it comes from, for messages; the names of
    their tensors that found no place, buffers aside).
    """
    stems = dict(_EMBEDDING_NAMES)  # their stem -> ours
    for i in range(n_layers):
        stems.update({f"{layers}{i}.{their}": f"encoder.layers.{i}.{our}" for their, our in layer_names.items()})
    ours: dict[str, Tensor] = {}
    sources: dict[str, str] = {}
    for their, our in stems.items():
        for kind in ("weight", "bias"):
            sources[f"{our}.{kind}"] = f"{their}.{kind}"
            if f"{their}.{kind}" in theirs:
                ours[f"{our}.{kind}"] = theirs[f"{their}.{kind}"]
    placed = set(sources.values())
    for i in range(n_layers):
        for kind in ("weight", "bias"):
            names = [f"{layers}{i}.{name}.{kind}" for name in qkv]
            sources[f"encoder.layers.{i}.attn.qkv.{kind}"] = " + ".join(names)
            placed.update(names)
            if all(name in theirs for name in names):
                ours[f"encoder.layers.{i}.attn.qkv.{kind}"] = torch.cat([theirs[name] for name in names])  # (3D, ...)
    unplaced = sorted(set(theirs) - placed - set(_BUFFERS))
    return ours, sources, unplaced


def _check_fits(
    ours: dict[str, Tensor], sources: dict[str, str], unplaced: list[str], config: EncoderConfig, weights_file: Path
) -> None:
    """Every tensor of a :class:`TransformerClassifier` built from ``config`` but its head is in ``ours`` with the
    same shape, and no tensor of the checkpoint was left unplaced, or one :class:`CheckpointError` naming the first
    difference."""
    if unplaced:
        more = " ..." if len(unplaced) > 5 else ""
        raise CheckpointError(f"{weights_file}: tensors {', '.join(unplaced[:5])}{more} have no place in our "
                              "encoder (an architecture variant that is not supported).")
    with torch.device("meta"):  # shapes only: nothing is allocated or initialised
        expected = {key: value.shape for key, value in TransformerClassifier(config).state_dict().items()
                    if not key.startswith("head.")}
    for key in sorted(expected.keys() | ours.keys()):
        found = tuple(ours[key].shape) if key in ours else "missing"
        wanted = tuple(expected[key]) if key in expected else "not expected"
        if found != wanted:
            raise CheckpointError(f"{weights_file}: {sources.get(key, key)} (our {key}) is {found} in the checkpoint "
                                  f"but {wanted} for the sizes in config.json; the weights and config.json disagree.")
