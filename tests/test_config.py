"""TrainConfig: one declaration of every option, validated once, saved as-is."""

import dataclasses
import json

import numpy as np
import optax
import pytest

import initlab
from initlab import cli, experiments
from initlab._docstrings import section_docs
from initlab.engine import resolve

FIELDS = [f.name for f in dataclasses.fields(initlab.TrainConfig)]


def rich_config():
    return initlab.TrainConfig(
        task={"name": "digits", "test_size": 0.2},
        model={"name": "mlp", "widths": [32]},
        initializers=["zeros", {"name": "random_uniform", "minval": -1.0,
                                "maxval": 1.0}, initlab.he_normal()],
        optimizer={"name": "sgd", "momentum": 0.9},
        learning_rate=0.05, num_restarts=6, design="grid", grid_data=3,
        seed=7, target=0.9, chunk_size=4, keep_params=True,
    )  # fmt: skip


def test_round_trips_through_json_and_toml(tmp_path):
    config = rich_config()
    assert initlab.TrainConfig.from_dict(config.to_dict()) == config
    assert initlab.TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == (
        config
    )
    for suffix in (".json", ".toml"):
        path = config.save(tmp_path / f"run{suffix}")
        assert initlab.TrainConfig.load(path) == config
        assert hash(initlab.TrainConfig.load(path)) == hash(config)
    # held as label -> entry; an initlab initializer by its config
    assert list(config.initializers) == ["zeros",
        "random_uniform(minval=-1.0, maxval=1.0)", "he_normal"]  # fmt: skip
    assert config.initializers["he_normal"]["name"] == "he_normal"
    assert config.model["widths"] == (32,)  # lists become tuples
    assert dataclasses.replace(config, seed=8).seed == 8


def test_defaults_are_filled_from_the_task_when_the_run_is_built():
    run = resolve(initlab.TrainConfig(task="xor"))
    c = run.config
    assert (c.steps, c.batch_size, c.learning_rate, c.optimizer) == (10_000, 4, 0.5,
                                                                     "sgd")  # fmt: skip
    assert c.eval_every == 100 and c.target_metric == "test_accuracy"
    assert c.chunk_size == 16 and list(c.initializers) == ["glorot_uniform"]


@pytest.mark.parametrize(
    "kwargs, error, needle",
    [
        (dict(num_restarts=0), ValueError, "num_restarts must be a positive int"),
        (dict(num_restarts="8"), TypeError, "num_restarts must be an int"),
        (dict(steps=True), TypeError, "steps must be an int"),
        (dict(seed=2**32), ValueError, "seed must be an int < 4294967296"),
        (dict(first_restart=2**32 - 4, num_restarts=8), ValueError, "below 2\\*\\*32"),
        (dict(learning_rate=0.1, optimizer=optax.sgd(0.1)), ValueError, "ignored"),
        (dict(learning_rate=float("nan")), ValueError, "finite"),
        (dict(target=float("nan")), ValueError, "target must be finite"),
        (dict(design="grid"), ValueError, "needs grid_data"),
        (dict(design="grid", grid_data=4, num_restarts=6), ValueError, "multiple"),
        (dict(grid_data=4), ValueError, "only for the grid designs"),
        (dict(design="crossed"), ValueError, "Allowed: 'paired'"),
        (dict(task="digit"), ValueError, "Did you mean 'digits'"),
        (dict(task={"name": "digits", "test_frac": 0.2}), ValueError, "test_size"),
        (dict(task=3), TypeError, "task must be"),
        (dict(model="transformer"), ValueError, "mlp, cnn1d"),
        (dict(model={"name": "mlp", "depth": 3}), ValueError, "allowed"),
        (dict(optimizer="adamm"), ValueError, "Did you mean 'adam'"),
        (dict(optimizer={"name": "sgd", "learning_rate": 1}), ValueError,
         "learning_rate=..."),
        (dict(optimizer={"name": "sgd", "momentun": 0.9}), ValueError, "momentum"),
        (dict(optimizer=lambda g: g), TypeError, "optax"),
        (dict(initializers="glorot_unifrom"), ValueError, "glorot_uniform"),
        (dict(initializers=[]), ValueError, "at least one"),
        (dict(initializers=[3]), TypeError, "must be a name"),
        (dict(bias_init="nope"), ValueError, "unknown initializer"),
        (dict(keep_params=1), TypeError, "True or False"),
        (dict(devices=0), ValueError, "devices must be a positive int"),
    ],
)  # fmt: skip
def test_bad_values_teach_at_construction(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        initlab.TrainConfig(**kwargs)


def test_from_dict_refuses_unknown_options_and_objects_it_cannot_rebuild():
    with pytest.raises(ValueError, match="unknown option 'restarts'.*num_restarts"):
        initlab.TrainConfig.from_dict({"restarts": 3})
    task = initlab.make_task("blobs", np.zeros((8, 2)), np.arange(8) % 2,
                             np.zeros((4, 2)), np.arange(4) % 2,
                             kind="classification")  # fmt: skip
    data = initlab.TrainConfig(task=task).to_dict()
    assert data["task"].startswith("<Task 'blobs'")
    with pytest.raises(ValueError, match="cannot be rebuilt.*task="):
        initlab.TrainConfig.from_dict(data)
    assert initlab.TrainConfig.from_dict(data, task=task).task is task


def test_errors_describe_a_task_by_name_and_shapes_never_its_arrays():
    x = np.random.default_rng(0).normal(size=(5000, 3))
    y = (x[:, 0] > 0).astype(int)
    task = initlab.make_task("big", x, y, x, y,
                             kind="classification")  # fmt: skip
    with pytest.raises(ValueError) as info:
        initlab.train(task, batch_size=6000, progress=False)
    message = str(info.value)
    assert "(5000, 3)" in message and "big" in message
    assert "array(" not in message and len(message) < 400
    with pytest.raises(ValueError) as info:
        experiments.zoo(task=task, model=initlab.models.mlp((4,), 7, 2),
                        progress=False)  # fmt: skip
    assert "does not fit" in str(info.value) and "array(" not in str(info.value)


def test_a_field_appears_in_train_every_study_the_cli_and_the_saved_config(capsys):
    # "Adding an option in one place": every field of TrainConfig is a keyword
    # of train, an option of every training study (unless the study sets it
    # itself), a documented CLI flag, and a key of the saved config.
    docs = section_docs(initlab.TrainConfig, "Attributes")
    saved = initlab.TrainConfig().to_dict()
    with pytest.raises(SystemExit):
        cli.main(["run", "zoo", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for name in FIELDS:
        assert docs.get(name), f"{name} has no documentation"
        assert name in saved
        flag = "--" + name.replace("_", "-")
        assert flag in help_text, flag
        for study in experiments.STUDIES.values():
            if study.uses is None and name not in study.fixed:
                assert name in study.options, (study.name, name)
        # the doc is the help text
        assert " ".join(docs[name].replace("``", "").split())[:40] in help_text


def test_studies_refuse_what_they_set_themselves():
    with pytest.raises(ValueError, match="xor study sets initializers.*ranges"):
        experiments.xor(initializers=["zeros"])
    with pytest.raises(ValueError, match="symmetry study sets keep_params"):
        experiments.symmetry(keep_params=True)
    with pytest.raises(ValueError, match="needs design='grid'"):
        experiments.variance(design="paired")
    with pytest.raises(ValueError, match="takes no option 'steps'"):
        experiments.depth(steps=3)
    config = initlab.TrainConfig(keep_params=True)
    with pytest.raises(ValueError, match="leave it at its default"):
        experiments.symmetry(config)
