"""initlab.get on what Keras 3 writes: every class of Keras's list, seeds, axes.

``tests/fixtures/keras_initializers.json`` holds the configs that the real
``keras.initializers.serialize`` wrote (Keras 3, JAX backend) for each of the
15 classes of ``initlab.KERAS_NAMES``, without and with seeds and with
non-default hyper-parameters, plus the shape each case is drawn at. The tests
that need no Keras check ``get`` on every recorded config (both dict spellings);
where Keras is installed, the draws are compared with Keras's own. Re-record
with ``KERAS_BACKEND=jax python tests/test_keras_configs.py``.
"""

import json
import math
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import initlab

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "keras_initializers.json"
KEY = jax.random.key(0)


def keras_cases(keras):
    """(id, initializer, shape) for every recorded case; needs Keras."""
    init = keras.initializers
    conv, dense = [3, 3, 16, 32], [512, 256]
    split = [64, 8, 256]  # input axis 0; outputs (1, 2) -> fan_in 64, fan_out 2048
    cases = [
        ("zeros", init.Zeros(), [4, 5]),
        ("ones", init.Ones(), [4, 5]),
        ("constant", init.Constant(), [4, 5]),
        ("constant_0.25", init.Constant(0.25), [4, 5]),
        ("random_normal", init.RandomNormal(), dense),
        ("random_normal_seeded", init.RandomNormal(0.5, 2.0, seed=11), dense),
        ("random_uniform", init.RandomUniform(), dense),
        ("random_uniform_seeded", init.RandomUniform(-1.0, 2.0, seed=12), dense),
        ("truncated_normal", init.TruncatedNormal(), dense),
        ("truncated_normal_seeded", init.TruncatedNormal(0.1, 0.3, seed=13), dense),
        ("variance_scaling", init.VarianceScaling(), dense),
        ("variance_scaling_fan_out_uniform",
         init.VarianceScaling(2.0, "fan_out", "uniform", seed=14), conv),
        # Keras writes "normal" as "truncated_normal".
        ("variance_scaling_fan_avg_normal",
         init.VarianceScaling(0.5, "fan_avg", "normal", seed=15), dense),
        ("variance_scaling_axes",
         init.VarianceScaling(1.0, "fan_in", "untruncated_normal", seed=16,
                              input_axes=[0], output_axes=[1, 2]), split),
        ("variance_scaling_fan_avg_axes",
         init.VarianceScaling(3.0, "fan_avg", "uniform", seed=17,
                              input_axes=[0, 1], output_axes=[-1]), split),
        ("orthogonal", init.Orthogonal(), [256, 128]),
        ("orthogonal_seeded", init.Orthogonal(gain=2.0, seed=18), [3, 3, 16, 64]),
        ("orthogonal_seed_generator",
         init.Orthogonal(seed=keras.random.SeedGenerator(19)), [64, 128]),
        ("identity", init.Identity(), [8, 12]),
        # Keras's Identity does not write its gain: it deserializes with gain 1.
        ("identity_gain", init.Identity(gain=3.0), [12, 8]),
        # Keras ignores input_axes without output_axes (compute_fans).
        ("glorot_uniform_lone_axis", init.GlorotUniform(input_axes=[0]), dense),
    ]  # fmt: skip
    for i, (name, cls) in enumerate(
        [("lecun_uniform", init.LecunUniform), ("lecun_normal", init.LecunNormal),
         ("glorot_uniform", init.GlorotUniform), ("glorot_normal", init.GlorotNormal),
         ("he_uniform", init.HeUniform), ("he_normal", init.HeNormal)]
    ):  # fmt: skip
        cases += [
            (name, cls(), dense),
            (f"{name}_seeded", cls(seed=20 + i), conv),
            (f"{name}_axes", cls(seed=30 + i, input_axes=[0], output_axes=[1, 2]),
             split),
        ]  # fmt: skip
    return cases


def record():
    """Writes the fixture from the installed Keras (run in a fresh process)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    cases = [
        {"id": case_id, "shape": shape,
         "config": keras.initializers.serialize(initializer)}
        for case_id, initializer, shape in keras_cases(keras)
    ]  # fmt: skip
    lines = ",\n".join(f"  {json.dumps(case)}" for case in cases)  # one per line
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(
        f'{{"keras_version": "{keras.__version__}", "cases": [\n{lines}\n]}}\n'
    )


if __name__ == "__main__":  # re-record, before reading the fixture below
    record()
    sys.exit(0)

CASES = json.loads(FIXTURE.read_text())["cases"]
IDS = [case["id"] for case in CASES]


def seed_of(config):
    """The int seed of a Keras config (a SeedGenerator's first draw uses it too)."""
    seed = config["config"].get("seed")
    if isinstance(seed, dict):  # a serialized keras.random.SeedGenerator
        return seed["config"]["seed"]
    return seed


def keras_key(seed):
    # Keras's JAX backend draws an int seed s with the raw key [s, 0].
    return jnp.array([seed, 0], jnp.uint32)


def test_the_fixture_covers_every_keras_class():
    classes = {initlab.get(case["config"]["class_name"]).name for case in CASES}
    assert classes == set(initlab.KERAS_NAMES)
    for case in CASES:  # exactly what keras.initializers.serialize writes
        assert set(case["config"]) == {
            "module", "class_name", "config", "registered_name",
        }  # fmt: skip
    seeded = {
        initlab.get(c["config"]["class_name"]).name
        for c in CASES
        if seed_of(c["config"])
    }
    assert seeded == set(initlab.KERAS_NAMES) - {"zeros", "ones", "constant",
                                                 "identity"}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_get_accepts_every_recorded_config(case):
    config, shape = case["config"], tuple(case["shape"])
    init = initlab.get(config)
    name = init.name
    # Both dict spellings, and the plain (class_name, config) pair of Keras 2.
    other = initlab.get({"name": config["class_name"], "config": config["config"]})
    bare = initlab.get({"class_name": config["class_name"], "config": config["config"]})
    assert other == init == bare
    # Keras's hyper-parameters arrive as given (seed dropped, "normal" read as
    # the truncated normal, a lone input_axes ignored as Keras ignores it).
    hyper = {k: v for k, v in config["config"].items() if k != "seed"}
    if hyper.get("input_axes") is None or hyper.get("output_axes") is None:
        hyper.pop("input_axes", None)
        hyper.pop("output_axes", None)
    for arg, value in hyper.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert init.config[arg] == expected, (arg, init.config)
    x = init(jax.random.key(0), shape)
    assert x.shape == shape and x.dtype == jnp.float32
    assert name in initlab.KERAS_NAMES
    # to_config writes initlab's form, which get rebuilds to the same draw.
    again = initlab.get(json.loads(json.dumps(initlab.to_config(init))))
    np.testing.assert_array_equal(again(jax.random.key(0), shape), x)


def test_keras_axes_mean_what_keras_means():
    # input_axes/output_axes together: only those axes count (no receptive
    # field); the same shape with JAX's in_axis/out_axis multiplies the rest in.
    shape = (64, 8, 256)
    keras_form = initlab.get({"class_name": "HeNormal", "config": {
        "seed": None, "input_axes": [0], "output_axes": [1, 2]}})  # fmt: skip
    assert keras_form.config["input_axes"] == (0,)
    assert initlab.get({"class_name": "HeNormal", "config": {
        "input_axes": [1], "output_axes": None}}) == initlab.he_normal()  # fmt: skip
    w = np.asarray(keras_form(jax.random.key(1), shape), np.float64)
    # Var = 2 / fan_in = 2 / 64; n = 131072 truncated normals: relative std of
    # the sample variance sqrt((kurtosis - 1) / n) = sqrt(1.36 / n) = 0.0032;
    # 5 standard errors.
    assert abs(w.var() * 64 / 2 - 1) < 5 * math.sqrt(1.36 / w.size)
    jax_form = initlab.he_normal(in_axis=0, out_axis=(1, 2), batch_axis=())
    assert initlab.fans(shape, 0, (1, 2)) == (64, 8 * 256)  # nothing left over
    np.testing.assert_array_equal(jax_form(jax.random.key(1), shape), w)
    conv = (3, 3, 16, 32)  # Keras counts only the named axes: fan_in 16, not 144
    k = initlab.he_uniform(input_axes=[2], output_axes=[3])
    assert float(jnp.abs(k(jax.random.key(2), conv)).max()) > 0.9 * math.sqrt(6 / 16)
    with pytest.raises(ValueError, match="both input_axes and output_axes"):
        initlab.glorot_uniform(input_axes=[0])
    with pytest.raises(ValueError, match="not both"):
        initlab.glorot_uniform(in_axis=0, input_axes=[0], output_axes=[1])
    with pytest.raises(ValueError, match="different axes"):
        initlab.glorot_uniform(input_axes=[0], output_axes=[0])(KEY, (4, 4))


# ----- against Keras itself ---------------------------------------------------------


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip(f"Keras runs on {keras.backend.backend()}, not JAX")
    return keras


def test_the_fixture_is_what_this_keras_writes(keras):
    # A recorded config is a fixed point of the installed Keras's
    # deserialize -> serialize, and the recorded cases are the ones built here.
    for case in CASES:
        again = keras.initializers.serialize(
            keras.initializers.deserialize(case["config"])
        )
        assert again == case["config"], (case["id"], "re-record the fixture")
    built = {case_id: keras.initializers.serialize(obj)
             for case_id, obj, _ in keras_cases(keras)}  # fmt: skip
    for case in CASES:
        if case["id"] != "orthogonal_seed_generator":  # its name is auto-numbered
            assert built[case["id"]] == case["config"], case["id"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_or_statistics_match_keras(keras, case):
    config, shape = case["config"], tuple(case["shape"])
    ours = initlab.get(config)
    keras_init = keras.initializers.deserialize(config)

    def theirs(shape):
        # Keras's Orthogonal broadcasts sign(diag R) by rank promotion, which
        # this suite's conftest makes an error.
        with jax.numpy_rank_promotion("allow"):
            return np.asarray(keras_init(shape, dtype="float32"))

    seed = seed_of(config)
    if seed is not None or config["class_name"] in ("Zeros", "Ones", "Constant",
                                                     "Identity"):  # fmt: skip
        # Seeded (or deterministic): the same draw. Keras's JAX backend draws
        # seed s with the raw key [s, 0] and the same jax.random sampler, QR and
        # sign fix, and computes the scalar factors in the same float64 order:
        # bit for bit.
        key = keras_key(0 if seed is None else seed)
        expected = theirs(shape)
        got = np.asarray(ours(key, shape))
        np.testing.assert_array_equal(got, expected)
        return
    # Unseeded: Keras draws from a random seed, so compare the distributions.
    # Both samples have n >= 32768 entries; the sample variance has relative
    # std <= sqrt((kurtosis - 1) / n) <= sqrt(2 / n), so the ratio of two has
    # relative std <= 2 / sqrt(n); the difference of the means has std
    # sigma * sqrt(2 / n). 5 standard errors of each.
    a = np.asarray(ours(jax.random.key(5), shape), np.float64).ravel()
    b = theirs(shape).astype(np.float64).ravel()
    n = a.size
    assert abs(a.mean() - b.mean()) < 5 * b.std() * math.sqrt(2 / n)
    assert abs(a.var() / b.var() - 1) < 5 * 2 / math.sqrt(n)
    if config["class_name"] == "Orthogonal":
        m = a.reshape(-1, shape[-1])
        np.testing.assert_allclose(m.T @ m, np.eye(shape[-1]), atol=1e-5)
    elif config["class_name"] != "RandomNormal":
        # Bounded (uniform, or normal cut at 2 std): the same bound. Each
        # sample comes within 2 % of it: a draw lands in that last 2 % with
        # probability >= 0.0045 (the truncated normal's density at the cut),
        # so missing it n times has probability < exp(-0.0045 n) ~ 1e-64.
        np.testing.assert_allclose(np.abs(a).max(), np.abs(b).max(), rtol=0.02)
