"""Re-initialize a parameter pytree by rules: path pattern -> initializer.

Paths are those of :mod:`initlab.tree_paths`: a leaf's keys from the root joined
by ``/`` (``"layers/0/kernel"``; an NNX ``Variable``'s trailing ``.value``
dropped; a linen tree gives ``params/Dense_0/kernel``). Rules are regular
expressions *searched* in the path (``re.search``): anchor them
(``"^layers/0/"``, ``"kernel$"``) to be precise. ``leaf_path`` and ``paths`` are
importable from here as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from initlab._types import InitializerLike, PRNGKey, PyTree
from initlab.initializers import fans, torch_default_bias
from initlab.registry import get as _get_initializer
from initlab.tree_paths import leaf_path, path_key, paths

__all__ = ["leaf_path", "paths", "reinit"]

# Sibling leaf names taken as "the kernel" of a bias, in order of preference.
_KERNEL_NAMES = ("kernel", "weight", "w")
_FAN_IN_FROM_SIBLING = "torch_default_bias"


def _rule_list(rules: Any) -> list[tuple[str, Any]]:
    if isinstance(rules, Mapping):
        items = list(rules.items())
    elif isinstance(rules, Iterable) and not isinstance(rules, str | bytes):
        items = list(rules)
    else:
        raise TypeError(
            f"reinit: rules must be a mapping or a list of (pattern, initializer) "
            f"pairs; got {type(rules).__name__}. Example: "
            "{'kernel$': 'he_normal', 'bias$': 'zeros'}."
        )
    out = []
    for item in items:
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise TypeError(
                f"reinit: every rule must be a (pattern, initializer) pair; got "
                f"{item!r:.80}."
            )
        pattern, init = item
        if not isinstance(pattern, str):
            raise TypeError(
                f"reinit: a rule pattern must be a regular-expression string; got "
                f"{type(pattern).__name__} {pattern!r:.60}."
            )
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValueError(
                f"reinit: rule pattern {pattern!r} is not a valid regular "
                f"expression ({err})."
            ) from None
        out.append((pattern, init))
    return out


def needs_kernel_fan_in(init: Any) -> bool:
    """Whether ``init`` is PyTorch's default bias without a fan-in of its own.

    Such a bias takes its fan-in from the kernel beside it (``reinit`` reads it
    from the sibling leaf).

    Example:
      >>> needs_kernel_fan_in("torch_default_bias")
      True
    """
    return _needs_kernel_fan_in(init)


def _needs_kernel_fan_in(init: Any) -> bool:
    """``"torch_default_bias"`` with no fan_in: take it from the sibling kernel."""
    if init is torch_default_bias:  # the factory itself, not an initializer
        return True
    if isinstance(init, str):
        return init == _FAN_IN_FROM_SIBLING
    if isinstance(init, dict):
        return init.get("name") == _FAN_IN_FROM_SIBLING and set(init) == {"name"}
    return False


def _sibling_fan_in(path: str, leaves: Mapping[str, Any]) -> int:
    parent = path.rpartition("/")[0]
    for name in _KERNEL_NAMES:
        kernel_path = f"{parent}/{name}" if parent else name
        if kernel_path in leaves:
            shape = jnp.shape(leaves[kernel_path])
            if len(shape) < 2:
                raise ValueError(
                    f"reinit: torch_default_bias for {path!r} needs the fan-in of "
                    f"its kernel {kernel_path!r}, but that has shape {shape}. "
                    "Give the initializer explicitly: "
                    "initlab.torch_default_bias(fan_in=...)."
                )
            return int(fans(shape)[0])
    raise ValueError(
        f"reinit: torch_default_bias for {path!r} takes its fan-in from a sibling "
        f"kernel ({', '.join(_KERNEL_NAMES)} under {parent or 'the root'!r}), and "
        "there is none. Give it explicitly: initlab.torch_default_bias(fan_in=...)."
    )


def reinit(
    params: PyTree,
    rules: Mapping[str, InitializerLike] | Iterable[tuple[str, InitializerLike]],
    key: PRNGKey,
) -> PyTree:
    """Redraws the leaves of ``params`` whose path matches a rule.

    For each leaf, the first rule whose pattern is found in its path (see the
    module docstring for the path format) gives the initializer; the leaf is
    redrawn with its own shape and dtype and the key
    ``initlab.tree_paths.path_key(key, path)`` (``fold_in(key, crc32(path))``),
    so a leaf's values depend only on ``key``, its path, shape, dtype and
    initializer, never on the other rules.
    Leaves no rule matches are returned as they are (the same objects).

    ``torch_default_bias`` needs its kernel's fan-in: given by name
    (``"torch_default_bias"``, ``{"name": "torch_default_bias"}`` or the factory
    ``initlab.torch_default_bias`` itself), the fan-in is read from the sibling
    kernel in the same module (the leaf ``kernel``, ``weight`` or ``w`` next to
    the bias). ``initlab.torch_default_bias(fan_in=64)`` is used as given.

    Pure: works under ``jax.jit`` (the rules are static Python) and
    ``jax.vmap`` over keys or parameter stacks.

    Args:
      params: any pytree: an ``nnx.State``, a linen ``{"params": ...}`` dict, a
        plain dict or list.
      rules: ``{pattern: initializer}`` or ``[(pattern, initializer), ...]``;
        an initializer is anything ``initlab.get`` accepts (name, config dict,
        callable).
      key: a JAX key.

    Returns:
      a pytree of the same structure, shapes and dtypes.

    Raises:
      ValueError: a rule that matches no leaf (the message lists the paths), an
        invalid pattern, or torch_default_bias without a sibling kernel.
      TypeError: malformed rules.

    Example:
      >>> params = initlab.models.mlp((64,), 2, 1).init(jax.random.key(0))
      >>> params = initlab.reinit(params, {"kernel$": "orthogonal",
      ...                                  "bias$": "torch_default_bias"},
      ...                         jax.random.key(1))
    """
    rule_list = _rule_list(rules)
    flat, treedef = jax.tree_util.tree_flatten_with_path(params)
    leaf_paths = [leaf_path(p) for p, _ in flat]
    by_path = dict(zip(leaf_paths, (leaf for _, leaf in flat), strict=True))
    resolved: dict[int, Callable] = {}
    used = [False] * len(rule_list)
    new_leaves = []
    for path, (_, leaf) in zip(leaf_paths, flat, strict=True):
        for i, (pattern, init) in enumerate(rule_list):
            if re.search(pattern, path):
                used[i] = True
                if needs_kernel_fan_in(init):
                    fn = torch_default_bias(fan_in=_sibling_fan_in(path, by_path))
                else:
                    if i not in resolved:
                        resolved[i] = _get_initializer(init)
                    fn = resolved[i]
                shape, dtype = jnp.shape(leaf), jnp.result_type(leaf)
                new = fn(path_key(key, path), shape, dtype)
                if new.shape != shape or new.dtype != dtype:
                    raise ValueError(
                        f"reinit: the initializer of rule {pattern!r} returned "
                        f"{new.dtype}{list(new.shape)} for {path!r}, which is "
                        f"{dtype}{list(shape)}."
                    )
                new_leaves.append(new)
                break
        else:
            new_leaves.append(leaf)
    unused = [pattern for (pattern, _), u in zip(rule_list, used, strict=True) if not u]
    if unused:
        raise ValueError(
            f"reinit: rule(s) {unused} match no parameter (or only ones an earlier "
            f"rule took: the first match wins). Paths are '/'-joined and searched "
            f"with re.search; available: {leaf_paths}."
        )
    return jax.tree_util.tree_unflatten(treedef, new_leaves)
