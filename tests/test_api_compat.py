"""The JAX / Flax / optax APIs initlab relies on exist and behave as it uses them.

CI runs one JAX (0.10); a current GPU image ships a newer one (0.11, and PyPI
has 0.12). These tests are cheap (tiny shapes, seconds) and name the API that
moved, so a version bump fails here, on one line, instead of deep inside a
training run. Each test mirrors a call the package makes (the file is named
beside it); grep the package for the API before removing a test.
"""

import inspect

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx


def test_mesh_with_auto_axes_and_named_shardings():
    # engine/devices.py: the restart mesh; engine/train.py: data and restarts.
    mesh = jax.sharding.Mesh(
        np.asarray(jax.devices()[:1]),
        ("restarts",),
        axis_types=(jax.sharding.AxisType.Auto,),
    )
    sharded = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("restarts"))
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    x = jax.device_put(jnp.arange(4.0), sharded)
    data = jax.device_put(jnp.arange(3.0), replicated)
    out = jax.jit(lambda a, b: a[:, None] * b[None])(x, data)
    np.testing.assert_array_equal(out, np.arange(4.0)[:, None] * np.arange(3.0))
    # indexing a replicated array with sharded indices (DESIGN: Auto axes work)
    idx = jax.device_put(jnp.array([0, 2, 1, 0]), sharded)
    np.testing.assert_array_equal(jax.jit(lambda d, i: d[i])(data, idx), [0, 2, 1, 0])


def test_jaxprs_in_params_finds_nested_programs():
    # engine/plan.py (_traced_bytes) and bench/workloads.py (count_flops).
    from jax.extend.core import jaxprs_in_params

    def f(x):
        return jax.lax.scan(lambda c, _: (c * 2.0, c), x, None, length=3)[0]

    eqns = jax.make_jaxpr(f)(jnp.ones(2)).jaxpr.eqns
    scans = [e for e in eqns if e.primitive.name == "scan"]
    assert scans and scans[0].params["length"] == 3
    bodies = list(jaxprs_in_params(scans[0].params))
    assert bodies
    names = [e.primitive.name for b in bodies for e in getattr(b, "jaxpr", b).eqns]
    assert "mul" in names


def test_fori_loop_with_a_traced_trip_count_compiles_once():
    # engine/core.py: segments of any length share one compiled program.
    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(n, x):
        return jax.lax.fori_loop(jnp.int32(0), n, lambda i, c: c + 1.0, x)

    assert float(run(jnp.int32(3), 0.0)) == 3.0
    assert float(run(jnp.int32(7), 0.0)) == 7.0


def test_lax_map_batch_size_and_eval_shape():
    # engine/execute.py: restart blocks; engine/plan.py: shapes without compute.
    out = jax.lax.map(lambda r: r * 2, jnp.arange(6.0), batch_size=2)
    np.testing.assert_array_equal(out, np.arange(6.0) * 2)
    shape = jax.eval_shape(lambda k: jax.random.normal(k, (3, 2)), jax.random.key(0))
    assert shape.shape == (3, 2) and shape.dtype == jnp.float32


def test_typed_keys_and_prng_dtype():
    # initializers/_core.py and models/pure.py tell keys from data by dtype.
    key = jax.random.key(0)
    assert jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    assert not jax.dtypes.issubdtype(jnp.float32, jax.dtypes.prng_key)
    a = jax.random.fold_in(key, 3)
    assert jax.random.split(a, 2).shape == (2,)
    assert sorted(np.asarray(jax.random.permutation(a, 5)).tolist()) == [0, 1, 2, 3, 4]


def test_custom_vmap_and_jax_initializers():
    # initializers/structured.py (batched QR), initializers compared with jax's.
    @jax.custom_batching.custom_vmap
    def double(x):
        return 2 * x

    @double.def_vmap
    def _rule(axis_size, in_batched, x):
        return 2 * x, in_batched[0]

    np.testing.assert_array_equal(jax.vmap(double)(jnp.ones(3)), 2 * np.ones(3))
    init = jax.nn.initializers.variance_scaling(
        2.0, "fan_in", "truncated_normal", in_axis=-2, out_axis=-1, batch_axis=()
    )
    assert init(jax.random.key(0), (4, 3)).shape == (4, 3)


def test_monitoring_reports_compile_events():
    # bench/jax_contenders.py: compile time apart, from these events.
    seen = []

    def listen(name, seconds, **_):
        seen.append(name)

    jax.monitoring.register_event_duration_secs_listener(listen)
    jax.jit(lambda x: x * 3.0 + 1.0)(jnp.ones(5)).block_until_ready()
    assert any(n.startswith("/jax/core/compile/") for n in seen), sorted(set(seen))


def test_config_options_initlab_sets():
    # engine/devices.py (jax_num_cpu_devices), bench (the compilation cache).
    for name in ("jax_num_cpu_devices", "jax_compilation_cache_dir",
                 "jax_persistent_cache_min_compile_time_secs",
                 "jax_persistent_cache_min_entry_size_bytes"):  # fmt: skip
        assert hasattr(jax.config, name), name
    stats = jax.devices()[0].memory_stats()  # engine/plan.py: None on CPU
    assert stats is None or isinstance(stats, dict)
    assert callable(jax.distributed.initialize)


class _Net(nnx.Module):
    def __init__(self, rngs):
        self.dense = nnx.Linear(3, 2, rngs=rngs)
        self.layers = nnx.List([nnx.Linear(2, 2, rngs=rngs)])

    def __call__(self, x):
        h = self.dense(x)
        # models/modules.py (_sow_preactivation): sow only under nnx.capture,
        # which marks the module with __captures__ (a plain sow warns in 0.12)
        if hasattr(self, "__captures__"):
            self.sow(nnx.Intermediate, "preactivations", h)
        return self.layers[0](h)


def test_nnx_split_merge_capture_and_state():
    # models/pure.py: from_nnx's pure init / apply / sown intermediates.
    abstract = nnx.eval_shape(lambda: _Net(nnx.Rngs(0)))
    graphdef, params, rest = nnx.split(abstract, nnx.Param, ...)
    assert nnx.graphdef(abstract) is not None
    _, params, rest = nnx.split(_Net(nnx.Rngs(0)), nnx.Param, ...)
    assert isinstance(params, nnx.State)
    leaves = jax.tree.leaves(params)
    assert sorted(x.shape for x in leaves) == [(2,), (2,), (2, 2), (3, 2)]
    x = jnp.ones((4, 3))
    out = nnx.merge(graphdef, params, rest)(x)
    assert out.shape == (4, 2)
    module = nnx.merge(graphdef, params, rest)
    out2, values = nnx.capture(module, nnx.Intermediate)(x)
    np.testing.assert_allclose(out2, out)
    pure = nnx.to_pure_dict(values)
    assert jax.tree.leaves(pure)[0].shape == (4, 2)  # the capture marked it
    # vmapped over stacked params, as the engine trains them
    stacked = jax.tree.map(lambda p: jnp.stack([p, p]), params)

    def apply(p):
        return nnx.merge(graphdef, p, rest)(x)

    assert jax.vmap(apply)(stacked).shape == (2, 4, 2)


def test_nnx_layers_and_rng_state():
    # models/modules.py and models/mnist1d.py build these.
    rngs = nnx.Rngs(0)
    assert nnx.Conv(1, 4, (3,), strides=2, padding=[(1, 1)], rngs=rngs)(
        jnp.ones((2, 8, 1))
    ).shape == (2, 4, 4)
    for cell in (nnx.GRUCell(1, 5, rngs=rngs), nnx.OptimizedLSTMCell(1, 5, rngs=rngs)):
        rnn = nnx.RNN(cell, rngs=False)
        zeros = jnp.zeros((2, 5))
        carry = (zeros, zeros) if isinstance(cell, nnx.OptimizedLSTMCell) else zeros
        assert rnn(jnp.ones((2, 7, 1)), initial_carry=carry).shape == (2, 7, 5)
    assert nnx.Einsum("ab,bc->ac", (3, 2), rngs=rngs)(jnp.ones((4, 3))).shape == (4, 2)
    assert issubclass(nnx.RngState, nnx.Variable)


def test_linen_init_apply_with_mutable_state():
    # models/linen.py: from_linen.
    import flax.linen as nn

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x, train):
            x = nn.Dense(3)(x)
            return nn.BatchNorm(use_running_average=not train)(x)

    net = Net()
    variables = dict(net.init({"params": jax.random.key(0)}, jnp.ones((2, 4)), False))
    assert set(variables) == {"params", "batch_stats"}
    out, updates = net.apply(variables, jnp.ones((2, 4)), True,
                             mutable=["batch_stats"])  # fmt: skip
    assert out.shape == (2, 3) and "batch_stats" in updates


def test_optax_names_initlab_offers():
    # engine/specs.py: OPTIMIZERS by name, learning_rate their first argument.
    from initlab.engine.specs import OPTIMIZERS

    for name in OPTIMIZERS:
        factory = getattr(optax, name)
        assert "learning_rate" in inspect.signature(factory).parameters, name
        opt = factory(0.1)
        assert isinstance(opt, optax.GradientTransformation), name
    params = {"w": jnp.ones(3)}
    opt = optax.adam(0.1)
    updates, _ = opt.update(jax.tree.map(jnp.ones_like, params), opt.init(params),
                            params)  # fmt: skip
    assert optax.apply_updates(params, updates)["w"].shape == (3,)
    loss = optax.softmax_cross_entropy_with_integer_labels(
        jnp.zeros((2, 4)), jnp.array([0, 3])
    )
    np.testing.assert_allclose(loss, np.log(4.0) * np.ones(2), rtol=1e-6)


def test_tree_paths_api():
    # tree_paths.py, reinit.py, diagnostics: key paths of parameter trees.
    tree = {"a": [1.0, 2.0]}
    flat, treedef = jax.tree_util.tree_flatten_with_path(tree)
    assert [type(k).__name__ for k in flat[0][0]] == ["DictKey", "SequenceKey"]
    assert jax.tree_util.tree_unflatten(treedef, [v for _, v in flat]) == tree
    assert hasattr(jax.tree_util, "GetAttrKey")
    doubled = jax.tree_util.tree_map_with_path(lambda p, x: 2 * x, tree)
    assert doubled == {"a": [2.0, 4.0]}
    leaves, structure = jax.tree.flatten(tree)
    assert jax.tree.unflatten(jax.tree.structure(tree), leaves) == tree
    assert structure.num_leaves == 2


@pytest.mark.parametrize("name", ["DTypeLike", "ArrayLike"])
def test_typing_names(name):
    # _types.py and initializers: type hints.
    assert hasattr(jax.typing, name)
