"""Every docstring example runs: none can name an undefined variable.

Each ``Example:`` block of every module of the package is run as code (the
``>>>`` / ``...`` lines; expected outputs are documentation, not compared: they
hold arrays and timings) in a namespace with the module's own names and the
usual imports (initlab, jax, jnp, np, dataclasses), from the repository root,
in a temporary working directory for files they write.
"""

import ast
import importlib
import inspect
import os
import pkgutil
import re
import warnings
from pathlib import Path

import pytest

import initlab

ROOT = Path(__file__).resolve().parents[1]
PROMPT = re.compile(r"^\s*(>>>|\.\.\.) ?(.*)$")


def modules():
    names = ["initlab"]
    for info in pkgutil.walk_packages(initlab.__path__, "initlab."):
        if ".bench.contenders" in info.name:  # a worker script, stdlib only
            continue
        names.append(info.name)
    return names


def examples():
    """(id, module name, code) of every example in the package."""
    seen = set()
    for name in modules():
        module = importlib.import_module(name)
        objects = [module, *[obj for _, obj in inspect.getmembers(module)]]
        for obj in objects:
            holders = [obj]
            if inspect.isclass(obj):
                holders += [m for _, m in inspect.getmembers(obj)]
            for holder in holders:
                doc = getattr(holder, "__doc__", None)
                owner = getattr(holder, "__module__", name)
                if not isinstance(doc, str) or ">>>" not in doc or owner != name:
                    continue
                key = (name, id(doc), doc)
                if key in seen:
                    continue
                seen.add(key)
                code = "\n".join(
                    m.group(2) for line in doc.splitlines()
                    if (m := PROMPT.match(line))
                )  # fmt: skip
                label = getattr(holder, "__qualname__", name)
                yield pytest.param(name, code, id=f"{name}:{label}")


EXAMPLES = list(examples())


@pytest.mark.parametrize("module_name, code", EXAMPLES)
def test_example_runs(module_name, code, tmp_path, monkeypatch):
    ast.parse(code)  # a syntax error is a broken example too
    module = importlib.import_module(module_name)
    import dataclasses

    import jax
    import jax.numpy as jnp
    import numpy as np

    namespace = {**vars(module), "initlab": initlab, "jax": jax, "jnp": jnp,
                 "np": np, "dataclasses": dataclasses}  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.setenv("INITLAB_SMALL", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # examples show use, not warnings policy
        exec(compile(code, f"<example {module_name}>", "exec"), namespace)


def test_every_example_block_was_collected():
    # Guards the collector itself: a refactor that hides docstrings from it
    # would make the test above pass vacuously.
    assert len(EXAMPLES) > 150
    assert os.path.exists(ROOT / "examples")
