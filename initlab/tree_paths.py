"""Paths in a parameter tree: one name per leaf, one key per path, layers by path.

A *path* names one leaf: its keys from the root joined by ``/``. Dict keys and
sequence indices give their text (``"layers/0/kernel"``), attributes their name;
the trailing ``.value`` of an NNX ``Variable`` is dropped, so an ``nnx.State`` of
an :class:`initlab.models.MLP` has paths ``layers/0/kernel``, ``layers/0/bias``,
... and a linen tree ``{"params": {"Dense_0": {"kernel": ...}}}`` has
``params/Dense_0/kernel``.

Everything in initlab that walks a parameter tree by name uses this module:
``initlab.reinit`` (rules are searched in these paths), ``initlab.perturbed``
(per-leaf noise), and the per-layer views of diagnostics and studies. The one
path -> key derivation, :func:`path_key`, gives a leaf the same key wherever it
is drawn: ``reinit(params, {path: init}, key)`` and ``perturbed(params, init)
(key)`` draw ``init`` for that leaf with the same key.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

from initlab._types import PRNGKey, PyTree


def _key_text(entry: Any) -> str:
    for attr in ("key", "idx", "name"):  # DictKey, SequenceKey, GetAttrKey
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def leaf_path(path: tuple[Any, ...]) -> str:
    """The ``/``-joined path of a key path from ``jax.tree_util``.

    Args:
      path: a key path, as in ``jax.tree_util.tree_flatten_with_path``.

    Returns:
      e.g. ``"layers/0/kernel"``; an NNX ``Variable``'s trailing ``.value``
      attribute is dropped.

    Raises:
      TypeError: ``path`` is not a sequence of key entries.

    Example:
      >>> [leaf_path(p) for p, _ in
      ...  jax.tree_util.tree_flatten_with_path({"a": [1, 2]})[0]]
      ['a/0', 'a/1']
    """
    if isinstance(path, str) or not isinstance(path, tuple | list):
        raise TypeError(
            f"leaf_path: path must be a key path (a tuple of key entries, as from "
            f"jax.tree_util.tree_flatten_with_path); got {type(path).__name__} "
            f"{path!r:.60}."
        )
    entries = list(path)
    if entries and isinstance(entries[-1], jax.tree_util.GetAttrKey):
        if entries[-1].name == "value":
            entries = entries[:-1]
    return "/".join(_key_text(e) for e in entries)


def leaves_with_paths(tree: PyTree) -> list[tuple[str, Any]]:
    """``(path, leaf)`` for every leaf of ``tree``, in tree order.

    Example:
      >>> leaves_with_paths({"b": 2, "a": [1]})
      [('a/0', 1), ('b', 2)]
    """
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(leaf_path(p), leaf) for p, leaf in flat]


def paths(tree: PyTree) -> list[str]:
    """Every leaf path of ``tree``, in tree order (what reinit's rules match).

    Example:
      >>> w, b = jnp.ones((8, 4)), jnp.zeros(4)
      >>> paths({"params": {"Dense_0": {"bias": b, "kernel": w}}})
      ['params/Dense_0/bias', 'params/Dense_0/kernel']
    """
    return [path for path, _ in leaves_with_paths(tree)]


def map_with_paths(fn: Callable[[str, Any], Any], tree: PyTree) -> PyTree:
    """``fn(path, leaf)`` for every leaf, in a tree of the same structure.

    Args:
      fn: called with each leaf's path (as :func:`leaf_path`) and the leaf.
      tree: any pytree.

    Returns:
      the tree of ``fn``'s results.

    Raises:
      TypeError: ``fn`` is not callable.

    Example:
      >>> params = initlab.models.mlp((16,), 8, 4).init(jax.random.key(0))
      >>> map_with_paths(lambda path, x: x if path.endswith("bias") else 0 * x,
      ...                params)
    """
    if not callable(fn):
        raise TypeError(f"map_with_paths: fn must be callable; got {fn!r:.60}.")
    return jax.tree_util.tree_map_with_path(lambda p, x: fn(leaf_path(p), x), tree)


def path_key(key: PRNGKey, path: str) -> PRNGKey:
    """The key of the leaf at ``path``: ``fold_in(key, uint32(crc32(path)))``.

    A leaf's key depends only on ``key`` and its own path, never on the other
    leaves (adding, removing or reordering them changes nothing), and is the
    same in every process (crc32, not Python's salted ``hash``).

    Args:
      key: a JAX key.
      path: the leaf's path, as :func:`leaf_path` writes it.

    Returns:
      a key of the same kind as ``key``.

    Raises:
      TypeError: ``path`` is not a str.

    Example:
      >>> k = path_key(jax.random.key(0), "layers/0/kernel")
    """
    if not isinstance(path, str):
        raise TypeError(
            f"path_key: path must be a '/'-joined str such as 'layers/0/kernel' "
            f"(see leaf_path); got {type(path).__name__} {path!r:.60}."
        )
    return jax.random.fold_in(key, np.uint32(zlib.crc32(path.encode("utf-8"))))


class Layer(NamedTuple):
    """One module of a parameter tree: its kernel and the bias beside it.

    ``path`` is the module's path (``"layers/0"``; ``""`` at the root);
    ``kernel_path`` and ``bias_path`` are the leaves' paths (``bias`` and
    ``bias_path`` are None when the module has no bias).
    """

    path: str
    kernel: Any
    bias: Any | None
    kernel_path: str
    bias_path: str | None


def layers(tree: PyTree, kernel: str = "kernel", bias: str = "bias") -> list[Layer]:
    """Every module of ``tree`` that has a kernel, with its sibling bias.

    A module is the parent path of a leaf named ``kernel``; its bias is the leaf
    named ``bias`` under the same parent (None if there is none). Leaves keep
    whatever leading axes they have (a restart stack stays a stack).

    Args:
      tree: a parameter tree (``nnx.State``, linen ``{"params": ...}``, dict).
      kernel: the leaf name of kernels (default Flax's "kernel").
      bias: the leaf name of biases (default "bias").

    Returns:
      one :class:`Layer` per module, in the tree order of the kernels.

    Raises:
      TypeError: ``kernel`` or ``bias`` is not a str.

    Example:
      >>> key = jax.random.key(0)
      >>> [l.path for l in layers(initlab.models.mlp((16,), 8, 4).init(key))]
      ['layers/0', 'layers/1']
    """
    for what, value in (("kernel", kernel), ("bias", bias)):
        if not isinstance(value, str):
            raise TypeError(
                f"layers: {what} must be a leaf name such as {what!r}; got "
                f"{type(value).__name__} {value!r:.60}."
            )
    by_path = dict(leaves_with_paths(tree))
    out = []
    for path, leaf in by_path.items():
        parent, _, name = path.rpartition("/")
        if name != kernel:
            continue
        bias_path = f"{parent}/{bias}" if parent else bias
        found = bias_path in by_path
        out.append(
            Layer(
                parent,
                leaf,
                by_path[bias_path] if found else None,
                path,
                bias_path if found else None,
            )
        )
    return out
