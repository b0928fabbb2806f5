"""Every docstring example runs: none can name an undefined variable.

Each ``Example:`` block of every module of the package is code (the ``>>>`` /
``...`` lines; expected outputs are documentation, not compared: they hold
arrays and timings) for a namespace with the module's own names and the usual
imports (initlab, jax, jnp, np, dataclasses) and nothing else.

Two checks: every block is parsed and every name it reads is bound in it or
in that namespace (all blocks, milliseconds); and every block is run, in a
temporary working directory for files it writes, with the registry restored
after it. Blocks that train or benchmark (see ``TRAINS``) cost a compile of
seconds each, so CI runs the cheap ones and ``INITLAB_ALL_EXAMPLES=1`` runs
every one (do it before a release).
"""

import ast
import builtins
import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
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
        # A module imported into another (``import statistics``) is not one
        # of its examples: skip every member that is a module.
        members = [obj for _, obj in inspect.getmembers(module)]
        objects = [module, *[obj for obj in members if not inspect.ismodule(obj)]]
        for obj in objects:
            holders = [obj]
            if inspect.isclass(obj):
                holders += [m for _, m in inspect.getmembers(obj)]
            for holder in holders:
                if isinstance(holder, property):
                    holder = holder.fget
                # Values (an int default, a jax array) carry their type's
                # docstring: only the module, classes and functions are ours.
                is_code = inspect.isclass(holder) or inspect.isroutine(holder)
                if holder is not module and not is_code:
                    continue
                doc = getattr(holder, "__doc__", None)
                owner = getattr(holder, "__module__", None)
                owner = name if holder is module else owner
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
USUAL = {"initlab", "jax", "jnp", "np", "dataclasses"}
# Calls that train, run a study or a benchmark: seconds of compile each.
TRAINS = re.compile(
    r"\b(train|run_benchmark|run_gpu_benchmark|main|symmetry|zoo|xor|depth|variance"
    r"|lsuv_model|depth_sweep|run_study|spawn|width|coord_check"
    r"|signal_propagation|model_signal_propagation)\(|STUDIES\[.*\]\.run\("
)
ALL = os.environ.get("INITLAB_ALL_EXAMPLES") == "1"


def unbound_names(code: str, namespace: dict) -> list[str]:
    """Names the code reads that neither it nor the namespace binds."""
    bound, read = set(USUAL) | set(namespace) | set(dir(builtins)), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return sorted(read - bound)


@pytest.mark.parametrize("module_name, code", EXAMPLES)
def test_example_names_are_bound(module_name, code):
    module = importlib.import_module(module_name)
    assert unbound_names(code, vars(module)) == [], code


@pytest.mark.parametrize("module_name, code", EXAMPLES)
def test_example_runs(module_name, code, tmp_path, monkeypatch):
    if TRAINS.search(code) and not ALL:
        pytest.skip("trains: run with INITLAB_ALL_EXAMPLES=1")
    if "use_cpu_devices(" in code:  # must come before JAX starts: a new process
        run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                             text=True, timeout=300, cwd=tmp_path)  # fmt: skip
        assert run.returncode == 0, run.stderr
        return
    from initlab.initializers import registry

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
    monkeypatch.setattr(registry, "REGISTRY", dict(registry.REGISTRY))
    monkeypatch.setattr(registry, "FORMULAS", dict(registry.FORMULAS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # examples show use, not warnings policy
        exec(compile(code, f"<example {module_name}>", "exec"), namespace)


def test_every_example_block_was_collected():
    # Guards the collector itself: a refactor that hides docstrings from it
    # would make the test above pass vacuously.
    assert len(EXAMPLES) > 150
    assert unbound_names("y = f(x)", {"f": len}) == ["x"]
    assert unbound_names("x = 1\nfor i in range(x): print(i)", {}) == []
    assert os.path.exists(ROOT / "examples")
