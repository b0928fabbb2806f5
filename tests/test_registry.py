"""Registry: names, Keras class names and configs, round trips, helpful errors."""

import json

import jax
import numpy as np
import pytest

import initlab
from tests.test_initializers import ARGS, example_shape

KERAS_CLASSES = {
    "Zeros": "zeros", "Ones": "ones", "Constant": "constant",
    "RandomNormal": "random_normal", "RandomUniform": "random_uniform",
    "TruncatedNormal": "truncated_normal", "VarianceScaling": "variance_scaling",
    "Orthogonal": "orthogonal", "OrthogonalInitializer": "orthogonal",
    "Identity": "identity", "IdentityInitializer": "identity",
    "LecunUniform": "lecun_uniform", "LecunNormal": "lecun_normal",
    "GlorotUniform": "glorot_uniform", "GlorotNormal": "glorot_normal",
    "HeUniform": "he_uniform", "HeNormal": "he_normal",
}  # fmt: skip


@pytest.mark.parametrize("class_name, name", list(KERAS_CLASSES.items()))
def test_keras_class_names(class_name, name):
    assert initlab.get(class_name).name == name
    assert initlab.get({"class_name": class_name, "config": {}}).name == name


def test_keras_string_shortcuts():
    assert initlab.get("uniform").name == "random_uniform"
    assert initlab.get("normal").name == "random_normal"
    assert initlab.get("zero").name == "zeros"


def test_keras_serialized_config():
    keras = {
        "module": "keras.initializers",
        "class_name": "VarianceScaling",
        "config": {"scale": 2.0, "mode": "fan_out", "distribution": "normal",
                   "seed": 7},
        "registered_name": None,
    }  # fmt: skip
    init = initlab.get(keras)
    # Keras's "normal" is the truncated normal; its seed is dropped (keys rule).
    assert init.config["distribution"] == "truncated_normal"
    assert init.config["scale"] == 2.0 and init.config["mode"] == "fan_out"
    uniform = initlab.get(
        {"class_name": "RandomUniform", "config": {"minval": -1.0, "maxval": 1.0}}
    )
    x = np.asarray(uniform(jax.random.key(0), (1000,)))
    assert x.min() >= -1 and x.max() < 1 and x.max() > 0.9


@pytest.mark.parametrize("name", initlab.names())
def test_to_config_round_trip_gives_the_same_values(name):
    init = initlab.get({"name": name, **ARGS.get(name, {})})
    config = initlab.to_config(init)
    assert json.loads(json.dumps(config)) == config  # JSON-safe
    rebuilt = initlab.get(json.loads(json.dumps(config)))
    key, shape = jax.random.key(3), example_shape(name)
    np.testing.assert_array_equal(init(key, shape), rebuilt(key, shape))


def test_own_config_form_and_lists_become_tuples():
    init = initlab.get({"name": "he_normal", "batch_axis": [0]})
    assert init.config["batch_axis"] == (0,)
    assert initlab.to_config(init)["batch_axis"] == [0]


def test_callables_pass_through():
    init = initlab.glorot_uniform()
    assert initlab.get(init) is init

    def mine(key, shape, dtype=None):
        return jax.numpy.zeros(shape)

    assert initlab.get(mine) is mine
    with pytest.raises(TypeError, match="factories"):
        initlab.to_config(mine)


def test_unknown_name_lists_closest():
    with pytest.raises(ValueError, match="Did you mean 'glorot_uniform'"):
        initlab.get("glorot_unifrom")
    with pytest.raises(ValueError, match="Did you mean 'he_normal'"):
        initlab.get("HeNormall")
    with pytest.raises(ValueError, match="unknown argument"):
        initlab.get({"name": "random_normal", "std": 1.0})
    with pytest.raises(ValueError, match="'name'"):
        initlab.get({"minval": 0})
    with pytest.raises(TypeError):
        initlab.get(3.0)


def test_names_and_register():
    names = initlab.names()
    assert names == sorted(names) and set(initlab.KERAS_NAMES) <= set(names)

    def my_factory(width: float = 0.1):
        """U(-width, width)."""
        return initlab.random_uniform(-width, width)

    initlab.register("my_uniform_for_test", my_factory, "U(±width)")
    try:
        assert initlab.get({"name": "my_uniform_for_test", "width": 0.5}) is not None
        with pytest.raises(ValueError, match="already"):
            initlab.register("my_uniform_for_test", my_factory)
    finally:
        del initlab.registry.REGISTRY["my_uniform_for_test"]
        del initlab.registry.FORMULAS["my_uniform_for_test"]
    with pytest.raises(ValueError, match="snake_case"):
        initlab.register("MyInit", my_factory)
