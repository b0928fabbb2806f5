"""Registry: names, Keras class names and configs, round trips, helpful errors."""

import ast
import json
from pathlib import Path

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


def test_one_registration_fills_every_table():
    # The decorator on a factory's definition is the only place it is listed:
    # from it come the name table, the formula table and both __all__ lists.
    factories = initlab.registry.REGISTRY
    assert len(factories) >= 34
    for name, factory in factories.items():
        assert initlab.registry.FORMULAS[name], name
        assert getattr(initlab.initializers, factory.__name__) is factory
        assert getattr(initlab, factory.__name__) is factory
        assert factory.__name__ in initlab.initializers.__all__
        assert factory.__name__ in initlab.__all__
    for name in initlab.initializers.__all__:  # every export exists
        assert getattr(initlab, name) is getattr(initlab.initializers, name)
    assert set(initlab.KERAS_NAMES) <= set(factories)


def test_register_as_a_decorator():
    @initlab.register("my_decorated_for_test", formula="U(±width)")
    def my_decorated(width: float = 0.2):
        """U(-width, width)."""
        return initlab.random_uniform(-width, width)

    def with_config(config: float = 0.1):
        """A factory whose own argument is called config."""
        return initlab.constant(config)

    initlab.register("with_config_for_test", with_config)
    try:
        assert initlab.registry.REGISTRY["my_decorated_for_test"] is my_decorated
        assert initlab.registry.FORMULAS["my_decorated_for_test"] == "U(±width)"
        init = initlab.get({"name": "my_decorated_for_test", "width": 0.5})
        assert init.config == {"minval": -0.5, "maxval": 0.5}
        # A user's registration is a name, not a new export of the package.
        assert "my_decorated" not in initlab.__all__
        # {"name": ..., "config": ...} is Keras's form unless the factory takes
        # an argument called config.
        assert initlab.get({"name": "with_config_for_test", "config": 0.3}).config == {
            "value": 0.3
        }
    finally:
        for name in ("my_decorated_for_test", "with_config_for_test"):
            del initlab.registry.REGISTRY[name]
            del initlab.registry.FORMULAS[name]
    with pytest.raises(ValueError, match="already"):
        initlab.register("he_normal", formula="taken")  # before any decoration
    with pytest.raises(TypeError, match="formula"):
        initlab.register("fresh_name_for_test", my_decorated, formula=3)


def import_graph():
    """module -> the initlab modules it imports (statically, from the source)."""
    root = Path(initlab.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = ("initlab", *path.relative_to(root).with_suffix("").parts)
        name = ".".join(parts).removesuffix(".__init__")
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                subs = {f"{base}.{a.name}" for a in node.names} & modules.keys()
                targets |= subs or {base}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[name] = (targets & modules.keys()) - {name}
    return graph


def test_initializers_registry_and_tree_paths_are_in_no_import_cycle():
    graph = import_graph()

    def reaches(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    ours = [m for m in graph if m.startswith("initlab.initializers")]
    ours += ["initlab.registry", "initlab.reinit", "initlab.tree_paths"]
    for module in ours:
        assert module not in reaches(module), module
    # The name table sits below every factory: it imports none of them.
    assert graph["initlab.initializers.registry"] <= {
        "initlab._checks", "initlab.initializers._core",
    }  # fmt: skip
