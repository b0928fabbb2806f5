"""Aligning hidden units: the permutation symmetry of an MLP, undone.

Permuting the hidden units of a layer (its kernel's columns and bias, and the
next kernel's rows) leaves the network's function unchanged, so two restarts
that learned the same units in another order look far apart in parameter
space. :func:`weight_matching` finds, layer by layer, the permutation of
restart b's units that best matches restart a's weights (Ainsworth, Hayase &
Srinivasa 2023, "weight matching"); :func:`permute_hidden` applies one.

Supported: plain MLPs, :func:`initlab.models.mlp` (parameter paths
``layers/<i>/kernel`` of shape (in, out) and ``layers/<i>/bias``, an
elementwise activation between layers). :func:`check_permutable` refuses
anything else with the reason: convolutions permute channels, residual
connections tie the permutations of the layers they join, normalisation
layers carry statistics; those need their own permutation spec.

References:
  Ainsworth, Hayase & Srinivasa (2023), "Git Re-Basin: merging models modulo
  permutation symmetries", ICLR (weight matching, their Algorithm 1).
  Entezari, Sedghi, Saukh & Neyshabur (2022), "The role of permutation
  invariance in linear mode connectivity of neural networks", ICLR.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.optimize

from initlab import _checks
from initlab.stats import RNG, as_rng
from initlab.tree_paths import leaves_with_paths, map_with_paths

_PATH = re.compile(r"^layers/(\d+)/(kernel|bias)$")

SUPPORTED = (
    "weight matching aligns the hidden units of a plain MLP "
    "(initlab.models.mlp: Dense layers 'layers/<i>/kernel' (in, out) and "
    "'layers/<i>/bias' with an elementwise activation between them)"
)
OTHERS = (
    "Other architectures need their own permutation spec (convolutions "
    "permute channels, residual connections tie the permutations of the "
    "layers they join, normalisation layers carry statistics): align them "
    "yourself and pass the aligned parameters to "
    "initlab.restarts.interpolation_curves (or run without alignment)."
)


def mlp_layers(params: Any) -> list[tuple[Any, Any | None]]:
    """The ``(kernel, bias)`` of each layer of an MLP parameter tree, in order.

    Args:
      params: one model's parameters (no restart axis), paths
        ``layers/<i>/kernel|bias``.

    Returns:
      ``[(W_0, b_0), ..., (W_{L-1}, b_{L-1})]``, kernels (in, out), biases
      (out,) or None.

    Raises:
      ValueError: a tree that is not a plain MLP's (the message says what is
        supported).

    Example:
      >>> params = initlab.models.mlp((8,), 4, 2).init(jax.random.key(0))
      >>> [w.shape for w, _ in mlp_layers(params)]
      [(4, 8), (8, 2)]
    """
    found: dict[int, dict[str, Any]] = {}
    for path, leaf in leaves_with_paths(params):
        match = _PATH.match(path)
        if match is None:
            raise ValueError(f"{SUPPORTED}; this tree has a leaf {path!r}. {OTHERS}")
        found.setdefault(int(match.group(1)), {})[match.group(2)] = leaf
    if not found or sorted(found) != list(range(len(found))):
        raise ValueError(
            f"{SUPPORTED}; this tree's layers are {sorted(found)} (expected 0..L-1)."
        )
    layers = []
    for i in range(len(found)):
        kernel, bias = found[i].get("kernel"), found[i].get("bias")
        if kernel is None or np.ndim(kernel) != 2:
            raise ValueError(
                f"{SUPPORTED}; layer {i} has no 2-D kernel (got shape "
                f"{None if kernel is None else np.shape(kernel)}). Pass one model's "
                "parameters, without the restart axis."
            )
        if bias is not None and np.shape(bias) != (np.shape(kernel)[1],):
            raise ValueError(f"{SUPPORTED}; layer {i}'s bias does not fit its kernel.")
        if layers and np.shape(layers[-1][0])[1] != np.shape(kernel)[0]:
            raise ValueError(
                f"{SUPPORTED}; layer {i}'s kernel does not follow layer {i - 1}'s."
            )
        layers.append((kernel, bias))
    return layers


def hidden_widths(params: Any) -> tuple[int, ...]:
    """The widths of the hidden layers (what :func:`permute_hidden` permutes).

    Example:
      >>> hidden_widths(initlab.models.mlp((8, 16), 4, 2).init(jax.random.key(0)))
      (8, 16)
    """
    return tuple(int(np.shape(w)[1]) for w, _ in mlp_layers(params)[:-1])


def _check_perms(perms: Sequence[Any], widths: tuple[int, ...], where: str):
    if len(perms) != len(widths):
        raise ValueError(
            f"{where}: give one permutation per hidden layer ({len(widths)}); "
            f"got {len(perms)}."
        )
    out = []
    for i, (p, n) in enumerate(zip(perms, widths, strict=True)):
        p = np.asarray(p)
        if p.shape != (n,) or not np.array_equal(np.sort(p), np.arange(n)):
            raise ValueError(
                f"{where}: permutation {i} must be a permutation of 0..{n - 1}."
            )
        out.append(p.astype(np.int64))
    return out


def permute_hidden(params: Any, perms: Sequence[Any]) -> Any:
    """The same network with its hidden units reordered: the same function.

    Unit i of hidden layer l becomes the old unit ``perms[l][i]``: kernel l's
    columns and bias l's entries are taken in that order, and kernel l+1's
    rows too. Inputs and outputs keep their order. Only indexing: the
    values are bit for bit the old ones.

    Args:
      params: one MLP's parameters (see :func:`mlp_layers`).
      perms: one permutation per hidden layer (:func:`hidden_widths`).

    Returns:
      A tree of the same structure.

    Raises:
      ValueError: not an MLP tree, or perms that do not fit.

    Example:
      >>> params = initlab.models.mlp((8,), 4, 2).init(jax.random.key(0))
      >>> swapped = permute_hidden(params, [np.array([1, 0, 2, 3, 4, 5, 6, 7])])
    """
    widths = hidden_widths(params)
    perms = _check_perms(perms, widths, "permute_hidden")
    last = len(widths)

    def take(path: str, leaf: Any) -> Any:
        i, kind = _PATH.match(path).groups()
        i = int(i)
        a = np.asarray(leaf)
        if kind == "bias":
            return a[perms[i]] if i < last else a
        if i > 0:
            a = a[perms[i - 1], :]
        return a[:, perms[i]] if i < last else a

    return map_with_paths(take, params)


def _similarity(layers_a, layers_b, perms, layer):
    """S[i, j]: how well b's unit j (its neighbours aligned) matches a's unit i."""
    wa, ba = layers_a[layer]
    wb, bb = layers_b[layer]
    wb_in = wb if layer == 0 else wb[perms[layer - 1], :]
    s = wa.T @ wb_in
    if ba is not None and bb is not None:
        s = s + np.outer(ba, bb)
    wa_out = layers_a[layer + 1][0]
    wb_out = layers_b[layer + 1][0]
    if layer + 1 < len(perms):
        wb_out = wb_out[:, perms[layer + 1]]
    return s + wa_out @ wb_out.T


def weight_matching(
    params_a: Any,
    params_b: Any,
    *,
    max_passes: int = 50,
    rng: RNG = 0,
) -> tuple[list[np.ndarray], Any]:
    """Permutes restart b's hidden units to match restart a's weights.

    Maximises ``sum_l <W_l^a, P_l W_l^b P_{l-1}^T>`` (+ the biases) over
    permutations ``P_l`` of each hidden layer by coordinate ascent: in a
    random order of the layers, the best ``P_l`` with the others fixed is a
    linear assignment problem on the similarity of a's and b's units through
    their incoming and outgoing weights
    (``scipy.optimize.linear_sum_assignment``); passes repeat until none
    changes a permutation (Ainsworth et al. 2023, Algorithm 1). Computed in
    float64 on the host.

    Args:
      params_a: the reference restart's parameters (one model).
      params_b: the restart to align.
      max_passes: the most passes over the layers (default 50).
      rng: seed or Generator of the layer order.

    Returns:
      ``(perms, aligned_b)``: one permutation per hidden layer and
      ``permute_hidden(params_b, perms)``, the same function as b.

    Raises:
      ValueError: trees that are not MLPs of the same widths.

    Example:
      >>> model = initlab.models.mlp((8,), 4, 2)
      >>> params_a = model.init(jax.random.key(0))
      >>> params_b = model.init(jax.random.key(1))
      >>> perms, aligned = weight_matching(params_a, params_b)

    References:
      Ainsworth, Hayase & Srinivasa (2023), "Git Re-Basin", ICLR.
    """
    max_passes = _checks.positive_int(max_passes, "max_passes", where="weight_matching")
    gen = as_rng(rng)
    as64 = lambda layers: [  # noqa: E731
        (np.asarray(w, np.float64), None if b is None else np.asarray(b, np.float64))
        for w, b in layers
    ]
    la, lb = as64(mlp_layers(params_a)), as64(mlp_layers(params_b))
    if [w.shape for w, _ in la] != [w.shape for w, _ in lb]:
        raise ValueError(
            "weight_matching: the two networks differ in shape: "
            f"{[w.shape for w, _ in la]} vs {[w.shape for w, _ in lb]}."
        )
    widths = tuple(w.shape[1] for w, _ in la[:-1])
    perms = [np.arange(n) for n in widths]
    for _ in range(max_passes):
        changed = False
        for layer in gen.permutation(len(widths)):
            s = _similarity(la, lb, perms, int(layer))
            _, col = scipy.optimize.linear_sum_assignment(s, maximize=True)
            if not np.array_equal(col, perms[layer]):
                # only a strict gain counts, so ties cannot cycle forever
                old = np.trace(s[:, perms[layer]])
                if np.trace(s[:, col]) > old + 1e-12 * max(1.0, abs(old)):
                    perms[layer] = col
                    changed = True
        if not changed:
            break
    return perms, permute_hidden(params_b, perms)


def check_permutable(model: Any, params: Any, x: Any, *, rtol: float = 1e-4) -> None:
    """Refuses a model whose function changes when its hidden units are permuted.

    The parameter tree must be a plain MLP's (:func:`mlp_layers`), and
    permuting every hidden layer by a random permutation must leave
    ``model.apply(params, x)`` unchanged (to ``rtol`` of the outputs' scale):
    a residual connection or a normalisation layer with an MLP-like tree
    fails here instead of giving silently wrong alignments.

    Args:
      model: the :class:`initlab.models.PureModel`.
      params: one model's parameters.
      x: a few inputs (batch, ...).
      rtol: tolerance relative to the largest output.

    Raises:
      ValueError: what is supported and why this model is not.

    Example:
      >>> model = initlab.models.mlp((16,), 4, 2)
      >>> check_permutable(model, model.init(jax.random.key(0)), np.ones((3, 4)))
    """
    name = getattr(model, "name", type(model).__name__)
    try:
        widths = hidden_widths(params)
    except ValueError as err:
        raise ValueError(f"model {name!r}: {err}") from None
    gen = np.random.default_rng(0)
    perms = [gen.permutation(n) for n in widths]
    before = np.asarray(model.apply(params, x), np.float64)
    after = np.asarray(model.apply(permute_hidden(params, perms), x), np.float64)
    scale = max(float(np.max(np.abs(before))), 1e-12)
    if not np.allclose(before, after, rtol=0, atol=rtol * scale):
        raise ValueError(
            f"{SUPPORTED}; model {name!r} computes another function when its "
            "hidden units are permuted layer by layer (largest change "
            f"{float(np.max(np.abs(before - after))):.3g} of outputs up to "
            f"{scale:.3g}). {OTHERS}"
        )
