"""TextDataModule on tiny tables: what it tells the model, the split, the batches, every data error, and
restoring the tokenizer from a checkpoint without reading the training file."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from lightning_fabric.utilities.data import _set_sampler_epoch
from sklearn.model_selection import train_test_split

from imbalance_xfmr.data import SubwordTokenizer, TextDataModule
from imbalance_xfmr.data.io import read_table
from imbalance_xfmr.sampling.torch_sampler import ClassBalancedBatchSampler, ResamplingSampler

HAM = ["see you at lunch", "ok call me later", "sorry running late", "love you mum", "home soon ok", "what time?"]
SPAM = ["win cash now", "free prize txt claim", "urgent call 0800 now"]


def table(n_ham: int = 40, n_spam: int = 10, **extra_columns) -> pd.DataFrame:
    texts = [f"{HAM[i % len(HAM)]} {i}" for i in range(n_ham)] + [f"{SPAM[i % len(SPAM)]} {i}" for i in range(n_spam)]
    labels = ["ham"] * n_ham + ["spam"] * n_spam
    frame = pd.DataFrame({"id": [f"r{i:03d}" for i in range(len(texts))], "text": texts, "label": labels})
    return frame.assign(**extra_columns)


@pytest.fixture
def csv(tmp_path):
    def write(frame: pd.DataFrame, name: str = "train.csv") -> str:
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return str(path)

    return write


def datamodule(train_path: str, **params) -> TextDataModule:
    return TextDataModule(train_path, max_vocab_size=200, min_frequency=1, batch_size=8, **params)


def test_links_for_the_model_and_a_stratified_split(csv):
    frame = table()
    dm = datamodule(csv(frame), val_fraction=0.2, split_seed=3)
    assert dm.classes == ["ham", "spam"] and dm.num_classes == 2 and dm.pad_token_id == 0
    _, validation_rows = train_test_split(
        np.arange(len(frame)), test_size=0.2, stratify=frame["label"], random_state=3
    )  # the same split as scikit-learn's stratified split from the same seed
    train, validation = dm._labelled_splits()
    assert sorted(validation["id"]) == sorted(frame["id"].iloc[validation_rows])
    assert dm.class_counts == [32, 8] == train["label"].value_counts().sort_index().tolist()
    tokenizer = SubwordTokenizer("bpe", 200, 1).fit(train["text"].tolist())  # fitted on the training split only
    assert dm.fitted_tokenizer.to_json() == tokenizer.to_json() and dm.vocab_size == tokenizer.vocab_size_


def test_validation_texts_never_reach_the_vocabulary(csv):
    frame = table(fold=[0] * 45 + [1] * 5)
    frame.loc[45:, "text"] = "jqjq jqjq spam"  # 'j' and 'q' occur only in the validation fold
    frame.loc[45:, "label"] = "spam"
    dm = datamodule(csv(frame), fold_column="fold", val_fold=1)
    assert not any(set(token) & {"j", "q"} for token in dm.fitted_tokenizer.tokenizer_.get_vocab())
    assert len(dm._labelled_splits()[1]) == 5


def test_batches_follow_the_interface(csv, tmp_path):
    frame = table()
    test_path = csv(frame.drop(columns="label").iloc[::-1], "test.csv")
    dm = datamodule(csv(frame), test_path=test_path, length_bucketing=True, eval_batch_size=16)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["input_ids"].dtype == torch.long and batch["attention_mask"].dtype == torch.bool
    assert (batch["input_ids"][:, 0] == dm.cls_token_id).all()
    assert (batch["input_ids"][~batch["attention_mask"]] == 0).all()
    assert batch["attention_mask"][:, 0].all()

    dm.setup("predict")
    batches = list(dm.predict_dataloader())
    assert all(set(b) == {"input_ids", "attention_mask", "index"} for b in batches)
    index = torch.cat([b["index"] for b in batches])
    assert sorted(index.tolist()) == list(range(len(frame)))
    lengths = torch.cat([b["attention_mask"].sum(1) for b in batches])
    assert (lengths[:-1] >= lengths[1:]).all()  # length-bucketed evaluation: longest first
    assert list(dm.predict_ids) == list(frame["id"].iloc[::-1])


def test_labels_in_batches_are_the_encoded_rows(csv):
    dm = datamodule(csv(table()))
    dm.setup("validate")
    validation = dm._labelled_splits()[1]
    labels = torch.cat([b["labels"] for b in dm.val_dataloader()])
    assert labels.tolist() == validation["label"].map({"ham": 0, "spam": 1}).tolist()


@pytest.mark.parametrize("resampling", ["random_under", "random_over", "class_balanced"])
def test_resampling_is_redrawn_each_epoch(csv, resampling):
    dm = datamodule(csv(table()), resampling=resampling, length_bucketing=resampling == "random_over")
    dm.setup("fit")
    loader = dm.train_dataloader()
    sampler = loader.batch_sampler if resampling == "class_balanced" else loader.sampler
    assert isinstance(sampler, ClassBalancedBatchSampler if resampling == "class_balanced" else ResamplingSampler)
    draws = []
    for epoch in (0, 1, 0):
        _set_sampler_epoch(loader, epoch)  # what Lightning's fit loop calls at each epoch start
        draws.append(sorted(i for batch in loader.batch_sampler for i in batch))  # the epoch's rows, as a multiset
        labels = torch.cat([b["labels"] for b in loader])
        assert abs(int((labels == 1).sum()) - int((labels == 0).sum())) <= 8  # balanced draws (batch rounding)
    assert draws[0] != draws[1] and draws[0] == draws[2]  # redrawn each epoch, reproducibly


def test_length_bucketing_without_resampling_serves_every_row_once(csv):
    frame = table(n_ham=120, n_spam=40)
    frame["text"] = [" ".join(["word"] * (1 + i % 17)) for i in range(len(frame))]
    dm = datamodule(csv(frame), length_bucketing=True, bucket_batches=100)
    dm.setup("fit")
    loader = dm.train_dataloader()
    rows = sorted(i for batch in loader.batch_sampler for i in batch)
    assert rows == list(range(len(dm._datasets["train"])))  # a shuffle: no row dropped or repeated
    padding = sum(int((~b["attention_mask"]).sum()) for b in loader)
    assert padding <= 8 * len(loader)  # one sorted pool: the rows of a batch are neighbours in length

    plain = datamodule(csv(frame))
    plain.setup("fit")
    assert padding < sum(int((~b["attention_mask"]).sum()) for b in plain.train_dataloader()) / 2


def test_sampling_strategy_dict_uses_original_labels(csv):
    dm = datamodule(csv(table()), resampling="random_under", sampling_strategy={"ham": 10})
    dm.setup("fit")
    sampler = dm.train_dataloader().sampler
    assert dm.classes == ["ham", "spam"] and sampler.class_draw_counts.tolist() == [10, 8]


def test_na_strings_are_text_not_missing(csv):
    frame = table()
    frame.loc[0, "text"] = "NA"
    frame.loc[1, "text"] = "null"
    dm = datamodule(csv(frame), fold_column="id", val_fold="r049")
    assert "NA" in dm._labelled_splits()[0]["text"].tolist()


@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_empty_text_policies_warn(csv, policy):
    frame = table()
    frame.loc[[2, 3], "text"] = ["", "   "]
    frame.loc[4, "text"] = np.nan
    dm = datamodule(csv(frame), empty_texts=policy)
    with pytest.warns(UserWarning, match="3 row"):
        train, validation = dm._labelled_splits()
    assert len(train) + len(validation) == (47 if policy == "drop" else 50)
    if policy == "keep":
        dm.setup("fit")
        assert min(dm._datasets["train"].lengths.min(), dm._datasets["validation"].lengths.min()) == 1  # [CLS]


def test_empty_prediction_texts_are_kept_even_with_drop(csv):
    test = table().drop(columns="label")
    test.loc[0, "text"] = ""
    dm = datamodule(csv(table()), test_path=csv(test, "test.csv"), empty_texts="drop")
    with pytest.warns(UserWarning, match="kept as a lone"):
        dm.setup("predict")
    assert len(dm.predict_ids) == 50


@pytest.mark.parametrize(
    ("frame", "params", "error", "message"),
    [
        (table().rename(columns={"text": "body"}), {}, KeyError, r"no column\(s\) \['text'\].*are \['id', 'body'"),
        (table().assign(text=[np.nan] + ["t"] * 49), {}, ValueError, r"1 row\(s\).*'r000'.*empty_texts"),
        (table().assign(label=["ham"] * 50), {}, ValueError, "single class"),
        (table().assign(label=[np.nan] + ["ham"] * 49), {}, ValueError, "have no label"),
        (table(n_spam=1), {}, ValueError, "'spam' has a single row"),
        (table(n_ham=4, n_spam=2), {"val_fraction": 0.1}, ValueError, "leaves 1 validation"),
        (
            table(fold=[0] * 48 + [1] * 2).assign(label=["ham"] * 40 + ["spam"] * 9 + ["eggs"]),
            {"fold_column": "fold", "val_fold": 1},
            ValueError,
            r"labels never seen in training: \['eggs'\]",
        ),
        (table(fold=[0] * 50), {"fold_column": "fold", "val_fold": 2}, ValueError, r"the folds are \[0\]"),
        (table(fold=[0] * 50), {"fold_column": "fold", "val_fold": 0}, ValueError, "nothing is left to train"),
        (table(), {"fold_column": "nofold", "val_fold": 0}, KeyError, r"no column\(s\) \['nofold'\]"),
    ],
)
def test_bad_data_is_rejected_before_training(csv, frame, params, error, message):
    dm = datamodule(csv(frame), **params)
    with pytest.raises(error, match=message):
        dm.setup("fit")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"resampling": "smote"}, "resampling must be one of"),
        ({"empty_texts": "ignore"}, "empty_texts must be one of"),
        ({"val_fraction": 1.0}, "val_fraction must lie strictly between"),
        ({"fold_column": "fold"}, "fold_column and val_fold go together"),
        ({"batch_size": 0}, "batch_size must be a positive int"),
        ({"sampling_strategy": 0.5}, "needs a resampling"),
    ],
)
def test_bad_parameters_are_rejected_at_construction(params, message):
    with pytest.raises(ValueError, match=message):
        TextDataModule("train.csv", **params)


def test_bad_sampling_strategy_fails_in_setup(csv):
    dm = datamodule(csv(table()), resampling="random_over", sampling_strategy={"ham": 5})
    with pytest.raises(ValueError):
        dm.setup("fit")


def test_prediction_and_test_errors(csv, tmp_path):
    dm = datamodule(csv(table()))
    with pytest.raises(ValueError, match="set test_path"):
        dm.setup("predict")
    dm = datamodule(csv(table()), test_path=csv(table().drop(columns="id"), "test.csv"))
    with pytest.raises(KeyError, match=r"no column\(s\) \['id'\]"):
        dm.setup("predict")
    dm = datamodule(csv(table()), test_path=csv(table().assign(label="eggs"), "test.csv"))
    with pytest.raises(ValueError, match=r"\['eggs'\] are not among the training classes"):
        dm.setup("test")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datamodule(str(tmp_path / "missing.csv")).setup("fit")


def test_predict_on_the_validation_split(csv):
    dm = datamodule(csv(table()), predict_split="validation")
    dm.setup("predict")
    assert list(dm.predict_ids) == dm._labelled_splits()[1]["id"].tolist()
    assert "labels" not in next(iter(dm.predict_dataloader()))


def test_state_round_trip_through_a_checkpoint_without_the_training_file(csv, tmp_path):
    fitted = datamodule(csv(table()))
    checkpoint = tmp_path / "model.ckpt"
    torch.save({"state_dict": {}, "TextDataModule": fitted.state_dict()}, checkpoint)
    test_path = csv(table().drop(columns="label"), "test.csv")
    restored = datamodule(str(tmp_path / "deleted.csv"), test_path=test_path, checkpoint_path=str(checkpoint))
    assert restored.vocab_size == fitted.vocab_size and restored.class_counts == fitted.class_counts
    restored.setup("predict")  # never reads train_path
    encoded = fitted.fitted_tokenizer.encode(table()["text"].tolist(), 128)
    assert torch.equal(restored._datasets["predict"].token_ids, torch.from_numpy(encoded.token_ids).long())
    assert json.loads(restored.state_dict()["tokenizer"])["params"]["algorithm"] == "bpe"

    torch.save({"state_dict": {}}, checkpoint)
    with pytest.raises(KeyError, match="holds no TextDataModule state"):
        datamodule(csv(table()), checkpoint_path=str(checkpoint)).vocab_size


def test_parquet_input(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "train.parquet"
    table().to_parquet(path)
    assert datamodule(str(path)).num_classes == 2


def test_restoring_another_state_re_encodes_the_data(csv):
    """Lightning restores a checkpoint's state after `setup`: batches must then use the restored vocabulary."""
    dm = datamodule(csv(table()))
    dm.setup("validate")
    small = TextDataModule(csv(table(), "other.csv"), max_vocab_size=30, min_frequency=1)
    assert small.vocab_size < dm.vocab_size
    dm.load_state_dict(small.state_dict())
    assert dm.vocab_size == small.vocab_size
    assert max(int(b["input_ids"].max()) for b in dm.val_dataloader()) < small.vocab_size


# ----------------------------------------------------------------------------------------------------------------
# CSV ids and labels are text, byte for byte


def numeric_looking_table() -> pd.DataFrame:
    """Ids "0001".. and labels "0"/"007" that pandas' type inference would turn into numbers; fold numbers 0/1."""
    frame = table(fold=[0, 0, 0, 0, 1] * 10)
    return frame.assign(id=[f"{i + 1:04d}" for i in range(50)], label=np.where(frame["label"] == "ham", "0", "007"))


def test_read_table_string_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,label,score\n0001,007,1.50\n0002,,2\n0003,NA,3\n")
    frame = read_table(path, string_columns=["id", "label", "absent"])
    assert frame["id"].tolist() == ["0001", "0002", "0003"] and frame["score"].tolist() == [1.5, 2.0, 3.0]
    assert frame["label"].iloc[0] == "007" and pd.isna(frame["label"].iloc[1]) and frame["label"].iloc[2] == "NA"
    with pytest.raises(TypeError, match=r"write \['id'\]"):
        read_table(path, string_columns="id")


def test_csv_ids_and_labels_are_read_as_written(csv):
    frame = numeric_looking_table()
    test = frame.drop(columns="label").assign(text=["0800"] * 50)
    dm = datamodule(csv(frame), test_path=csv(test, "test.csv"), fold_column="fold", val_fold=1)
    assert dm.classes == ["0", "007"]  # not [0, 7]
    assert dm._labelled_splits()[1]["id"].tolist() == frame["id"][frame["fold"] == 1].tolist()  # int val_fold
    dm.setup("predict")
    assert dm.predict_ids.tolist() == [f"{i + 1:04d}" for i in range(50)]
    assert dm._prediction_rows()["text"].iloc[0] == "0800"


def test_csv_string_labels_keep_int_sampling_strategy_keys_working(csv):
    dm = datamodule(csv(numeric_looking_table()), resampling="random_under", sampling_strategy={0: 10})
    dm.setup("fit")
    assert dm.classes == ["0", "007"] and dm.train_dataloader().sampler.class_draw_counts.tolist()[0] == 10
    twice = datamodule(csv(numeric_looking_table()), resampling="random_under", sampling_strategy={0: 10, "0": 9})
    with pytest.raises(ValueError, match="names a class twice"):
        twice.setup("fit")


def test_fold_column_that_is_the_id_column_stays_numeric(csv):
    frame = numeric_looking_table().assign(id=[i % 5 for i in range(50)])
    dm = datamodule(csv(frame), fold_column="id", val_fold=4)
    assert len(dm._labelled_splits()[1]) == 10


def test_parquet_keeps_its_stored_label_type(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "train.parquet"
    table().assign(label=[0] * 40 + [7] * 10).to_parquet(path)
    dm = datamodule(str(path), resampling="random_under", sampling_strategy={0: 10})
    dm.setup("fit")
    assert dm.classes == [0, 7] and dm.train_dataloader().sampler.class_draw_counts.tolist() == [10, 8]


# ----------------------------------------------------------------------------------------------------------------
# GPU readiness and per-checkpoint cost


def test_loaders_pin_memory_only_for_cuda(csv):
    import pytorch_lightning as pl

    dm = datamodule(csv(table()), test_path=csv(table(), "test.csv"))
    dm.setup("fit")
    assert dm.train_dataloader().pin_memory is torch.cuda.is_available()  # no Trainer: whether CUDA is there
    dm.trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False)
    for loader in (dm.train_dataloader(), dm.val_dataloader()):
        assert loader.pin_memory is False  # a CPU run: nothing to pin for


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_loaders_pin_memory_for_a_cuda_trainer(csv):
    import pytorch_lightning as pl

    dm = datamodule(csv(table()), test_path=csv(table(), "test.csv"))
    dm.setup("fit")
    dm.trainer = pl.Trainer(accelerator="gpu", devices=1, logger=False, enable_progress_bar=False)
    for loader in (dm.train_dataloader(), dm.val_dataloader()):
        assert loader.pin_memory is True
        batch = next(iter(loader))
        assert all(tensor.is_pinned() for tensor in batch.values())


def test_state_dict_serialises_the_tokenizer_once(csv, monkeypatch):
    dm = datamodule(csv(table()))
    tokenizer = dm.fitted_tokenizer
    calls = []
    to_json = type(tokenizer).to_json
    monkeypatch.setattr(type(tokenizer), "to_json", lambda self: calls.append(self) or to_json(self))
    first, second = dm.state_dict(), dm.state_dict()  # every checkpoint stores it
    assert first == second and first["tokenizer"] == to_json(tokenizer) and len(calls) == 1
    other = datamodule(csv(table(n_ham=20, n_spam=20), "other.csv"))
    dm.load_state_dict(other.state_dict())  # a new tokenizer: serialised anew
    assert dm.state_dict()["tokenizer"] == to_json(other.fitted_tokenizer) != first["tokenizer"]


def test_fit_writes_tokenizer_and_labels_beside_the_logs_and_never_into_the_working_directory(csv, tmp_path,
                                                                                             monkeypatch):
    import pytorch_lightning as pl
    from pytorch_lightning.loggers import CSVLogger

    train_path = csv(table())
    here = tmp_path / "project"
    here.mkdir()
    (here / "tokenizer.json").write_text("the user's own tokenizer\n")
    monkeypatch.chdir(here)
    # Without a logger, Lightning's log_dir is default_root_dir: the working directory here.
    dm = datamodule(train_path)
    dm.trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False)
    assert Path(dm.trainer.log_dir).resolve() == here.resolve()
    dm.setup("fit")
    assert (here / "tokenizer.json").read_text() == "the user's own tokenizer\n"
    assert sorted(path.name for path in here.iterdir()) == ["tokenizer.json"]
    # With a logger, both files go to its folder.
    dm = datamodule(train_path)
    dm.trainer = pl.Trainer(accelerator="cpu", devices=1, logger=CSVLogger(tmp_path / "logs", name="run"),
                            enable_progress_bar=False)
    dm.setup("fit")
    log_dir = Path(dm.trainer.log_dir)
    assert SubwordTokenizer.load(log_dir / "tokenizer.json").to_json() == dm.fitted_tokenizer.to_json()
    assert json.loads((log_dir / "labels.json").read_text())["classes"] == ["ham", "spam"]
