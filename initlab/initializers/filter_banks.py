"""First-layer dictionaries: Gabor, DCT and Haar filter banks."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from initlab import _checks
from initlab.initializers._compose import _describe, _resolve
from initlab.initializers._core import InitFn, sample_dtype
from initlab.initializers.registry import register


def _dct_matrix(k: int) -> np.ndarray:
    """Orthonormal DCT-II basis, rows by increasing frequency: (k, k)."""
    n = np.arange(k)
    basis = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * k))
    basis *= np.sqrt(2.0 / k)
    basis[0] /= np.sqrt(2.0)
    return basis


def _haar_matrix(k: int) -> np.ndarray:
    """Orthonormal Haar basis, rows coarse to fine: (k, k), k a power of 2."""
    h = np.ones((1, 1))
    while h.shape[0] < k:
        n = h.shape[0]
        h = np.vstack([np.kron(h, [1.0, 1.0]), np.kron(np.eye(n), [1.0, -1.0])])
        h /= np.sqrt(2.0)
    return h


def _separable(basis_of: Callable[[int], np.ndarray], spatial) -> np.ndarray:
    """(P, *spatial) products of 1-D bases, P = prod(spatial), lowest index sum
    (coarsest / lowest frequency) first."""
    bases = [basis_of(k) for k in spatial]
    order = sorted(itertools.product(*[range(k) for k in spatial]),
                   key=lambda idx: (sum(idx), idx))  # fmt: skip
    patterns = []
    for idx in order:
        p = np.ones(())
        for b, i in zip(bases, idx, strict=True):
            p = np.multiply.outer(p, b[i])
        patterns.append(p)
    return np.stack(patterns)


def _place(patterns: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Filter o = pattern (o mod P) on input channel (o div P) mod in."""
    *spatial, n_in, n_out = shape
    num = patterns.shape[0]
    w = np.zeros(shape, np.float64)
    for o in range(n_out):
        w[..., (o // num) % n_in, o] = patterns[o % num]
    return w


def _bank(name, config, patterns_of, noise, gain, check) -> InitFn:
    def draw(key, shape, dtype):
        w = gain * _place(patterns_of(tuple(shape[:-2])), shape)
        out = jnp.asarray(w, sample_dtype(dtype))
        if noise is not None:
            out = out + noise(key, shape, dtype).astype(out.dtype)
        return out.astype(dtype)

    return InitFn(name, config, draw, check_shape=check)


def _conv_check(
    name: str,
    extra: Callable[[tuple[int, ...]], None] | None = None,
    ranks: tuple[int, ...] = (3, 4, 5),
):
    def check(shape):
        if len(shape) not in ranks:
            kinds = "1-D (k, in, out) or 2-D (kh, kw, in, out)"
            if 5 in ranks:
                kinds += " or 3-D (kd, kh, kw, in, out)"
            raise ValueError(
                f"{name}: needs a {kinds} conv kernel shape in Flax's layout; got "
                f"{shape}. A dense (in, out) kernel has no spatial filters."
            )
        if extra is not None:
            extra(shape)

    return check


def _bank_args(noise, gain, name):
    noise = None if noise is None else _resolve(noise, "noise", name)
    return noise, _checks.number(gain, "gain", where=name)


@register(
    "dct", formula="orthonormal DCT-II filter bank, low frequency first; conv kernels"
)
def dct(noise: Any = None, gain: float = 1.0) -> InitFn:
    """A DCT-II filter bank for a first conv layer, plus optional noise.

    Pattern ``u`` of a 1-D kernel of size ``k`` is ``a_u cos(pi (2n+1) u /
    (2k))`` with ``a_0 = sqrt(1/k)``, ``a_u = sqrt(2/k)``: unit norm, lowest
    frequency first. 2-D and 3-D kernels use the separable products
    ``b_u (x) b_v (x) ...`` ordered by ``u + v + ...``. Output channel ``o``
    holds pattern ``o mod P`` (``P = prod(kernel size)``) on input channel
    ``(o div P) mod in``, zero on the others. Hence the kernel reshaped to
    ``(prod(k) * in, out)`` has orthonormal columns whenever ``out <= P *
    in``, and is an orthonormal basis when ``out == P * in`` (e.g. ``out`` =
    kernel size with one input channel); with more outputs the patterns
    repeat, and ``noise`` breaks the tie.

    Args:
      noise: optional initializer added to the bank (e.g.
        ``initlab.random_normal(stddev=0.01)``); the key is ignored without it.
      gain: multiplier of the bank (default 1.0).

    Returns:
      ``init(key, shape, dtype)`` for (k, in, out), (kh, kw, in, out) or
      (kd, kh, kw, in, out).

    Raises:
      ValueError: a shape that is not a 1-, 2- or 3-D conv kernel.

    Example:
      >>> w = initlab.dct()(jax.random.key(0), (8, 1, 8))   # orthonormal basis

    References:
      Ahmed, Natarajan & Rao, "Discrete Cosine Transform", IEEE Trans.
      Computers 1974; Ulicny, Krylov & Dahyot, "Harmonic Networks: Integrating
      Spectral Information into CNNs", 2018.
    """
    name = "dct"
    noise, gain = _bank_args(noise, gain, name)
    config = {"noise": None if noise is None else _describe(noise), "gain": gain}
    return _bank(
        name,
        config,
        lambda sp: _separable(_dct_matrix, sp),
        noise,
        gain,
        _conv_check(name),
    )


@register(
    "haar", formula="orthonormal Haar wavelet filter bank; conv kernels, sizes 2^n"
)
def haar(noise: Any = None, gain: float = 1.0) -> InitFn:
    """A Haar wavelet filter bank for a first conv layer, plus optional noise.

    The 1-D basis for a kernel of size ``k = 2^n``: the constant ``1/sqrt(k)``
    then the Haar wavelets from coarse to fine (each ``+-2^{-j/2}`` on its
    support), orthonormal. 2-D and 3-D kernels use separable products ordered
    by index sum. Placement over channels and the orthonormality statement are
    those of :func:`dct`: orthonormal columns when ``out <= prod(k) * in``, a
    basis when equal.

    Args:
      noise: optional initializer added to the bank.
      gain: multiplier of the bank (default 1.0).

    Returns:
      ``init(key, shape, dtype)`` for 1-, 2- or 3-D conv kernels.

    Raises:
      ValueError: a spatial size that is not a power of 2, or a shape that is
        not a 1-, 2- or 3-D conv kernel.

    Example:
      >>> w = initlab.haar()(jax.random.key(0), (4, 4, 3, 48))   # a basis

    References:
      Haar, "Zur Theorie der orthogonalen Funktionensysteme", Math. Annalen
      1910; Mallat, "A theory for multiresolution signal decomposition", 1989.
    """
    name = "haar"
    noise, gain = _bank_args(noise, gain, name)

    def powers_of_two(shape):
        spatial = shape[:-2]
        if any(k < 1 or k & (k - 1) for k in spatial):
            raise ValueError(
                f"{name}: spatial sizes must be powers of 2 (1, 2, 4, 8, ...); got "
                f"{spatial} from shape {shape}. Use dct() for other sizes."
            )

    config = {"noise": None if noise is None else _describe(noise), "gain": gain}
    return _bank(
        name,
        config,
        lambda sp: _separable(_haar_matrix, sp),
        noise,
        gain,
        _conv_check(name, powers_of_two),
    )


@register(
    "gabor",
    formula="unit-norm Gabor filters, (freq × orientation × phase) bank; 1-/2-D "
    "conv ((0.125, 0.25), 4, σ=0.56/f, phases (0, π/2))",
)
def gabor(
    frequencies: Sequence[float] = (0.125, 0.25),
    num_orientations: int = 4,
    sigma: float | None = None,
    phases: Sequence[float] = (0.0, math.pi / 2),
    noise: Any = None,
    gain: float = 1.0,
) -> InitFn:
    """A Gabor filter bank for a first conv layer, plus optional noise.

    With coordinates centred on the kernel (``x = n - (k-1)/2``), each filter
    is ``exp(-(x^2 + y^2) / (2 sigma^2)) cos(2 pi f x' + phase)``, ``x' = x cos
    theta + y sin theta``, normalised to unit L2 norm; 1-D kernels drop ``y``
    and ``theta``. The bank is every (frequency, orientation ``theta = pi i /
    num_orientations``, phase) in that order, and output channel ``o`` holds
    filter ``o mod P`` on input channel ``(o div P) mod in``. The discrete
    Fourier transform of a filter peaks at frequency ``f`` cycles per sample
    (in direction theta), up to the DFT's resolution ``1/k``.

    Args:
      frequencies: spatial frequencies in cycles per sample, each in
        ``(0, 0.5]`` (Nyquist) (default (0.125, 0.25)).
      num_orientations: number of orientations for 2-D kernels (default 4).
      sigma: envelope std in samples; default ``0.56 / f`` per frequency (a
        one-octave bandwidth, as in V1 simple cells).
      phases: phases in radians (default (0, pi/2): even and odd filters).
      noise: optional initializer added to the bank.
      gain: multiplier of the bank (default 1.0).

    Returns:
      ``init(key, shape, dtype)`` for (k, in, out) or (kh, kw, in, out).

    Raises:
      ValueError: a frequency outside (0, 0.5], a non-positive sigma or
        orientation count, empty lists, or (when called) a filter that
        vanishes on the kernel (e.g. an odd filter on a 1-tap kernel).

    Example:
      >>> w = initlab.gabor((0.25,), 4)(jax.random.key(0), (7, 7, 3, 24))

    References:
      Gabor, "Theory of communication", 1946; Daugman, "Uncertainty relation
      for resolution in space, spatial frequency, and orientation", JOSA 1985;
      Krizhevsky, Sutskever & Hinton, ImageNet CNNs learn Gabor-like first
      layers, NeurIPS 2012.
    """
    name = "gabor"
    freqs = tuple(_checks.number(f, "frequency", where=name) for f in frequencies)
    if not freqs or any(not 0 < f <= 0.5 for f in freqs):
        raise ValueError(
            f"{name}: frequencies must be a non-empty list of cycles per sample in "
            f"(0, 0.5]; got {tuple(frequencies)}."
        )
    num_orientations = _checks.positive_int(
        num_orientations, "num_orientations", where=name
    )
    sig = (
        None
        if sigma is None
        else _checks.number(sigma, "sigma", where=name, positive=True)
    )
    phs = tuple(_checks.number(p, "phase", where=name) for p in phases)
    if not phs:
        raise ValueError(f"{name}: phases must not be empty; e.g. (0.0, pi/2).")
    noise, gain = _bank_args(noise, gain, name)

    def patterns_of(spatial):
        grids = np.meshgrid(
            *[np.arange(k) - (k - 1) / 2 for k in spatial], indexing="ij"
        )
        angles = (
            [0.0] if len(spatial) == 1 else
            [math.pi * i / num_orientations for i in range(num_orientations)]
        )  # fmt: skip
        out = []
        for f in freqs:
            s = 0.56 / f if sig is None else sig
            envelope = np.exp(-sum(g**2 for g in grids) / (2 * s**2))
            for theta in angles:
                along = grids[0] if len(spatial) == 1 else (
                    grids[1] * math.cos(theta) + grids[0] * math.sin(theta)
                )  # fmt: skip
                for phase in phs:
                    p = envelope * np.cos(2 * math.pi * f * along + phase)
                    norm = np.linalg.norm(p)
                    if norm < 1e-8:
                        raise ValueError(
                            f"{name}: the filter (f={f}, theta={theta:.3f}, phase="
                            f"{phase:.3f}) vanishes on a {spatial} kernel; use a "
                            "larger kernel or drop that phase."
                        )
                    out.append(p / norm)
        return np.stack(out)

    config = dict(
        frequencies=freqs,
        num_orientations=num_orientations,
        sigma=sig,
        phases=phs,
        noise=None if noise is None else _describe(noise),
        gain=gain,
    )
    return _bank(
        name, config, patterns_of, noise, gain, _conv_check(name, ranks=(3, 4))
    )
