"""Docs: the README table is current, every public function has a docstring."""

import importlib.util
import inspect
from pathlib import Path

import initlab

ROOT = Path(__file__).resolve().parents[1]


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_is_current_and_lists_every_initializer():
    text = (ROOT / "README.md").read_text()
    script = load_script("readme_table")
    assert script.render(text) == text, "run: python scripts/readme_table.py"
    for name in initlab.names():
        assert f"| `{name}` |" in text


def test_every_public_function_has_a_docstring():
    missing = []
    for name in initlab.__all__:
        obj = getattr(initlab, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            if not (obj.__doc__ or "").strip():
                missing.append(name)
    assert not missing, missing


def test_initializer_docstrings_cite_and_show():
    # Every registered factory states an example and (literature, Keras,
    # PyTorch) a reference.
    for name, factory in initlab.registry.REGISTRY.items():
        doc = factory.__doc__ or ""
        assert "Example" in doc, name
        if name not in ("zeros", "ones", "constant"):
            assert "References" in doc, name
