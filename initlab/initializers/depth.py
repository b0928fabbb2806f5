"""Depth scaling: Fixup, GPT-2 residual scaling and per-layer depth schedules."""

from __future__ import annotations

import math
from typing import Any, Literal

from initlab import _checks
from initlab.initializers._compose import _describe, _resolve, _scaled
from initlab.initializers._core import InitFn
from initlab.initializers.basic import random_normal
from initlab.initializers.registry import register

ScheduleKind = Literal["increasing", "decreasing", "constant"]
SCHEDULE_KINDS = ("increasing", "decreasing", "constant")
SPACINGS = ("linear", "geometric")


@register("depth_scaled", formula="scale · init(key, shape) (init and scale required)")
def depth_scaled(init: Any, scale: float) -> InitFn:
    """Another initializer's draw multiplied by a constant: ``scale * init(...)``.

    The building block of depth-aware schemes (Fixup, GPT-2, schedules): the
    same key, shape and dtype give exactly ``scale`` times the base draw (the
    product is computed in float32 for 16-bit dtypes, then cast).

    Args:
      init: the base initializer (an initializer, a registered name or a
        config dict).
      scale: a finite multiplier >= 0 (0 gives zeros, as Fixup's last layer).

    Returns:
      ``init(key, shape, dtype)``.

    Raises:
      TypeError: ``init`` is not an initializer, name or config.
      ValueError: a negative or non-finite scale.

    Example:
      >>> init = initlab.depth_scaled(initlab.he_normal(), 0.5)
      >>> w = init(jax.random.key(0), (64, 64))   # == 0.5 * he_normal()(key, ...)

    References:
      Zhang, Dauphin & Ma, "Fixup Initialization", ICLR 2019; Radford et al.,
      "Language Models are Unsupervised Multitask Learners", 2019.
    """
    name = "depth_scaled"
    base = _resolve(init, "init", name)
    scale = _checks.number(scale, "scale", where=name)
    if scale < 0:
        raise ValueError(
            f"{name}: scale must be >= 0; got {scale}. Flip signs in the base "
            "initializer instead."
        )
    return _scaled(name, {"init": _describe(base), "scale": scale}, base, scale)


def fixup_scale(num_branches: int, branch_layers: int) -> float:
    """Fixup's multiplier ``L^{-1/(2m-2)}`` for layers inside residual branches.

    Args:
      num_branches: ``L``, the number of residual branches (>= 1).
      branch_layers: ``m``, the number of weight layers per branch (>= 2; with
        one layer per branch the exponent is undefined).

    Returns:
      The multiplier as a float.

    Raises:
      ValueError: counts out of range.

    Example:
      >>> initlab.fixup_scale(16, 2)   # 16 ** -0.5
      0.25

    References:
      Zhang, Dauphin & Ma, "Fixup Initialization: Residual Learning Without
      Normalization", ICLR 2019.
    """
    num_branches = _checks.integer(
        num_branches, "num_branches", low=1, where="fixup_scale"
    )
    branch_layers = _checks.integer(
        branch_layers, "branch_layers", low=2, where="fixup_scale"
    )
    return float(num_branches ** (-1.0 / (2 * branch_layers - 2)))


@register(
    "fixup",
    formula="L^{-1/(2m-2)} · init, L residual branches of m layers (init, "
    "num_branches required; m=2)",
)
def fixup(init: Any, num_branches: int, branch_layers: int = 2) -> InitFn:
    """Fixup: a standard init scaled by ``L^{-1/(2m-2)}`` inside residual branches.

    Use it for every weight layer inside a residual branch except the last,
    which Fixup initializes to zero (as the classification layer); add the
    scalar multipliers and biases of the paper in the model.

    Args:
      init: the base initializer, e.g. ``initlab.he_normal()``.
      num_branches: ``L``, the number of residual branches.
      branch_layers: ``m``, weight layers per branch (default 2).

    Returns:
      ``init(key, shape, dtype)`` equal to ``fixup_scale(L, m) * init(...)``.

    Raises:
      ValueError: counts out of range (see :func:`fixup_scale`).

    Example:
      >>> conv_init = initlab.fixup(initlab.he_normal(), num_branches=16)

    References:
      Zhang, Dauphin & Ma, "Fixup Initialization: Residual Learning Without
      Normalization", ICLR 2019.
    """
    base = _resolve(init, "init", "fixup")
    scale = fixup_scale(num_branches, branch_layers)
    config = {
        "init": _describe(base),
        "num_branches": num_branches,
        "branch_layers": branch_layers,
    }
    return _scaled("fixup", config, base, scale)


def gpt2_scale(num_blocks: int) -> float:
    """GPT-2's multiplier ``1 / sqrt(2 L)`` for residual projections.

    Each of the ``L`` transformer blocks adds two residual branches (attention
    and MLP), so ``N = 2 L`` residual layers each get ``1 / sqrt(N)``.

    Args:
      num_blocks: ``L``, the number of transformer blocks (>= 1).

    Returns:
      The multiplier as a float.

    Example:
      >>> initlab.gpt2_scale(12)   # 1 / sqrt(24)
      0.2041241452319315

    References:
      Radford et al., "Language Models are Unsupervised Multitask Learners",
      OpenAI 2019.
    """
    num_blocks = _checks.positive_int(num_blocks, "num_blocks", where="gpt2_scale")
    return 1.0 / math.sqrt(2 * num_blocks)


@register(
    "gpt2_residual",
    formula="init / √(2L), L blocks (init=N(0, 0.02²); num_blocks required)",
)
def gpt2_residual(num_blocks: int, init: Any = None) -> InitFn:
    """GPT-2's residual-projection init: ``init`` scaled by ``1 / sqrt(2 L)``.

    Args:
      num_blocks: ``L``, the number of transformer blocks.
      init: the base initializer (default ``N(0, 0.02^2)``, GPT-2's).

    Returns:
      ``init(key, shape, dtype)``; with the default, ``N(0, (0.02/sqrt(2L))^2)``.

    Example:
      >>> proj_init = initlab.gpt2_residual(12)   # std 0.02 / sqrt(24)

    References:
      Radford et al., "Language Models are Unsupervised Multitask Learners",
      OpenAI 2019.
    """
    base = (
        random_normal(0.0, 0.02)
        if init is None
        else _resolve(init, "init", "gpt2_residual")
    )
    scale = gpt2_scale(num_blocks)
    config = {"num_blocks": num_blocks, "init": _describe(base)}
    return _scaled("gpt2_residual", config, base, scale)


def schedule_scale(
    layer: int,
    depth: int,
    kind: ScheduleKind = "increasing",
    min_scale: float = 0.5,
    max_scale: float = 2.0,
    spacing: Literal["linear", "geometric"] = "geometric",
) -> float:
    """The multiplier of layer ``layer`` (0-based) of ``depth`` in a schedule.

    With ``t = layer / (depth - 1)`` (``t = 0`` when ``depth == 1``):
    "increasing" goes from ``min_scale`` (first layer) to ``max_scale`` (last),
    "decreasing" the other way, "constant" is 1 everywhere (the control arm).
    "geometric" spacing interpolates ``log(scale)`` linearly (each layer a
    constant factor more random), "linear" the scale itself.

    Args:
      layer: 0-based layer index, ``0 <= layer < depth``.
      depth: number of layers in the schedule (>= 1).
      kind: "increasing" (default), "decreasing" or "constant".
      min_scale: smallest multiplier, > 0 (default 0.5).
      max_scale: largest multiplier, >= min_scale (default 2.0).
      spacing: "geometric" (default) or "linear".

    Returns:
      The multiplier as a float.

    Raises:
      ValueError: a layer outside ``[0, depth)``, unknown kind or spacing,
        ``min_scale > max_scale``.

    Example:
      >>> initlab.schedule_scale(2, 3, "increasing", 0.5, 2.0)
      2.0
    """
    name = "depth_schedule"
    depth = _checks.positive_int(depth, "depth", where=name)
    layer = _checks.integer(layer, "layer", low=0, where=name)
    if layer >= depth:
        raise ValueError(
            f"{name}: layer is 0-based and must be < depth={depth}; got {layer}."
        )
    kind = _checks.choice(kind, SCHEDULE_KINDS, "kind", where=name)
    spacing = _checks.choice(spacing, SPACINGS, "spacing", where=name)
    lo = _checks.number(min_scale, "min_scale", where=name, positive=True)
    hi = _checks.number(max_scale, "max_scale", where=name, positive=True)
    if lo > hi:
        raise ValueError(
            f"{name}: min_scale ({lo}) must be <= max_scale ({hi}); for a "
            "decreasing schedule use kind='decreasing'."
        )
    if kind == "constant":
        return 1.0
    t = layer / (depth - 1) if depth > 1 else 0.0
    if kind == "decreasing":
        t = 1.0 - t
    if spacing == "linear":
        return lo + (hi - lo) * t
    return float(math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * t))


@register(
    "depth_schedule",
    formula="s_l · init, s_l from min_scale to max_scale over depth (increasing, "
    "0.5, 2.0, geometric; init, layer, depth required)",
)
def depth_schedule(
    init: Any,
    layer: int,
    depth: int,
    kind: ScheduleKind = "increasing",
    min_scale: float = 0.5,
    max_scale: float = 2.0,
    spacing: Literal["linear", "geometric"] = "geometric",
) -> InitFn:
    """A base init scaled by layer: "more random as we go deeper" experiments.

    Layer ``layer`` of ``depth`` draws ``schedule_scale(layer, depth, kind,
    min_scale, max_scale, spacing) * init(key, shape, dtype)``; see
    :func:`schedule_scale` for the schedule.

    Args:
      init: the base initializer, e.g. ``initlab.lecun_normal()``.
      layer, depth, kind, min_scale, max_scale, spacing: see
        :func:`schedule_scale` (defaults "increasing", 0.5, 2.0, "geometric").

    Returns:
      ``init(key, shape, dtype)`` for that layer.

    Example:
      >>> inits = [initlab.depth_schedule(initlab.he_normal(), l, 8)
      ...          for l in range(8)]   # x0.5 at layer 0 ... x2 at layer 7

    References:
      The depth-dependent scalings of Fixup (Zhang et al., ICLR 2019) and
      GPT-2 (Radford et al., 2019), generalised to a schedule.
    """
    base = _resolve(init, "init", "depth_schedule")
    scale = schedule_scale(layer, depth, kind, min_scale, max_scale, spacing)
    config = dict(
        init=_describe(base),
        layer=layer,
        depth=depth,
        kind=kind,
        min_scale=float(min_scale),
        max_scale=float(max_scale),
        spacing=spacing,
    )
    return _scaled("depth_schedule", config, base, scale)
