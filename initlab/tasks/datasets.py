"""The built-in offline tasks (xor, spirals, digits, mnist1d, teacher) by name."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import random
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from initlab import _checks
from initlab.models import mlp, residual_mlp
from initlab.tasks.augment import gaussian_noise, shift_images
from initlab.tasks.losses import _classification_metrics, half_sse
from initlab.tasks.task import Task, make_task


def xor() -> Task:
    """The four XOR points; a 2-2-1 sigmoid net; ``loss = 1/2 sum_4 (y - t)^2``.

    Train = test = {(0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0}. The default model
    has sigmoid hidden *and* output units; the loss is half the *sum* (not the
    mean) of squared errors over the four examples; defaults are full-batch
    (batch_size 4) gradient descent (optimizer "sgd") at learning rate 0.5 for
    10 000 steps. Metrics: loss, accuracy (outputs on the correct side of 0.5)
    and solved (1.0 when all four are). These are the settings of the classic
    restart figures (about 17 % stuck for weights and biases from U(-1, 1));
    zero biases or a mean instead of the sum change the rates a lot.

    Example:
      >>> task = initlab.get_task("xor")
      >>> model = task.default_model()
      >>> key = jax.random.key(0)
      >>> params = model.init(key, initlab.random_uniform(-1.0, 1.0),
      ...                     initlab.random_uniform(-1.0, 1.0))

    References:
      Rumelhart, Hinton & Williams, "Learning internal representations by error
      propagation", 1986.
    """
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0], np.int32)
    task = make_task(
        "xor",
        x,
        y,
        x,
        y,
        kind="classification",
        loss="half_sse",
        model=lambda: mlp((2,), 2, 1, "sigmoid", "sigmoid"),
        defaults=dict(
            batch_size=4,
            steps=10_000,
            learning_rate=0.5,
            eval_every=100,
            eval_schedule="geometric",
        ),
    )
    return dataclasses.replace(
        task, metrics=_classification_metrics(half_sse, solved=True)
    )


def _positive(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive int; got {value!r}.")
    return value


def _nonnegative(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{where}: {what} must be a number >= 0; got {value!r}.")
    return float(value)


def spirals(
    n_points: int = 200,
    noise: float = 0.05,
    turns: float = 1.5,
    seed: int = 0,
    augment: float | None = None,
) -> Task:
    """Two interleaved spirals (binary classification in 2-D).

    Each class is one arm: angle ``theta = turns * 2 pi * sqrt(u)``, ``u ~
    U(0, 1)``, radius ``theta / (turns * 2 pi)``, class 1 rotated by pi, plus
    Gaussian noise of std ``noise``. Train and test have ``n_points`` per class
    each, drawn from ``np.random.default_rng(seed)``.

    Args:
      n_points: points per class in each split.
      noise: std of the added Gaussian noise.
      turns: turns of each arm.
      seed: numpy seed (the data is fixed by it).
      augment: None, or the std of Gaussian noise added to every training
        point at every step (:func:`initlab.tasks.augment.gaussian_noise`).

    Returns:
      the task: x float32 (2 n_points, 2), labels int32; default model MLP
      2-64-64-2 ReLU with cross-entropy.

    Raises:
      ValueError: non-positive n_points or turns, negative noise.

    Example:
      >>> task = initlab.get_task("spirals", n_points=100, noise=0.1)
    """
    _positive(n_points, "n_points", "spirals")
    noise = _nonnegative(noise, "noise", "spirals")
    if _nonnegative(turns, "turns", "spirals") == 0:
        raise ValueError("spirals: turns must be > 0.")
    rng = np.random.default_rng(seed)

    def draw() -> tuple[np.ndarray, np.ndarray]:
        theta = turns * 2 * np.pi * np.sqrt(rng.uniform(size=(2, n_points)))
        radius = theta / (turns * 2 * np.pi)
        phase = np.pi * np.arange(2)[:, None]
        x = np.stack(
            [radius * np.cos(theta + phase), radius * np.sin(theta + phase)], -1
        ).reshape(-1, 2)
        x = x + noise * rng.standard_normal(x.shape)
        return x, np.repeat(np.arange(2), n_points)

    (x_tr, y_tr), (x_te, y_te) = draw(), draw()
    return make_task(
        "spirals",
        x_tr,
        y_tr,
        x_te,
        y_te,
        kind="classification",
        model=lambda: mlp((64, 64), 2, 2),
        defaults=dict(
            batch_size=64,
            steps=3000,
            learning_rate=0.1,
            eval_every=100,
            eval_schedule="geometric",
        ),
        augment=None if augment is None else gaussian_noise(augment),
    )


@functools.lru_cache(maxsize=2)
def _digits_arrays(test_size: float, seed: int):
    from sklearn.datasets import load_digits  # lazy: sklearn is slow to import
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed
    )
    mean, std = x_tr.mean(0), x_tr.std(0)
    std = np.where(std > 0, std, 1.0)  # border pixels are always 0 in train
    return (x_tr - mean) / std, y_tr, (x_te - mean) / std, y_te, mean, std


def digits(test_size: float = 0.3, seed: int = 0, augment: str | None = None) -> Task:
    """scikit-learn's 8x8 digits (1797 images, bundled, no download).

    A stratified split (``train_test_split(test_size, stratify=y,
    random_state=seed)``), standardized per pixel with the *train* mean and std
    (pixels constant in train are only centred). Inputs float32 (N, 64), labels
    int32 in 0..9; default model MLP 64-128-128-10 ReLU with softmax
    cross-entropy; defaults batch 128, lr 0.1, SGD, 1000 steps.

    Args:
      test_size: fraction held out, in (0, 1).
      seed: the split's random_state.
      augment: None, or "shift": every training image moved by up to one
        pixel in each direction (a new random shift per image and step; see
        :func:`initlab.tasks.augment.shift_images`).

    Raises:
      ValueError: test_size outside (0, 1), or an unknown augment.

    Example:
      >>> task = initlab.get_task("digits")
      >>> task.x_train.shape
      (1257, 64)

    References:
      Alpaydin & Kaynak, UCI optical recognition of handwritten digits, 1998.
    """
    if not (isinstance(test_size, float) and 0 < test_size < 1):
        raise ValueError(
            f"digits: test_size must be a float in (0, 1); got {test_size!r}."
        )
    if augment is not None:
        _checks.choice(augment, ("shift",), "augment", where="digits")
    x_tr, y_tr, x_te, y_te, mean, std = _digits_arrays(test_size, seed)
    return make_task(
        "digits",
        x_tr,
        y_tr,
        x_te,
        y_te,
        kind="classification",
        model=lambda: mlp((128, 128), 64, 10),
        defaults=dict(
            batch_size=128,
            steps=1000,
            learning_rate=0.1,
            eval_every=100,
            eval_schedule="geometric",
        ),
        augment=None if augment is None else shift_images(8, 8, mean, std),
    )


@functools.lru_cache(maxsize=2)
def _mnist1d_arrays(num_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # Lazy: importing mnist1d pulls in matplotlib and requests.
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = num_samples, seed
    # make_dataset reseeds NumPy's and Python's global RNGs: put them back.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.concatenate([data["x"], data["x_test"]])
    y = np.concatenate([data["y"], data["y_test"]])
    return x, y


MNIST1D_PRESETS = ("initlab", "reference")


def mnist1d(
    n_train: int = 4000,
    n_test: int = 1000,
    seed: int = 42,
    channels: bool = False,
    preset: str = "initlab",
    augment: float | None = None,
) -> Task:
    """MNIST-1D (Greydanus 2020), regenerated locally with ``mnist1d.make_dataset``.

    ``n_train + n_test`` examples (rounded up to a multiple of 10: one tenth per
    class) are generated with the package's default arguments and ``seed``; the
    first ``n_train`` (in the package's shuffled order) are the training set,
    the next ``n_test`` the test set. The defaults reproduce the package's own
    4000 / 1000 split; other sizes are a different draw, not a subset (the
    generator's sequence depends on the number of samples). Length-40 signals,
    standardized by the package; labels int32 0..9. The arrays are cached;
    NumPy's and Python's global random states are left as they were.

    Two presets of the training defaults and default model:

    * ``"initlab"`` (default): MLP 40-100-100-10 ReLU; SGD, lr 0.1, batch 100,
      3000 steps, evaluation every 100. Quick, and *short of training* for
      convolutional models (the MNIST-1D CNN is far from converged there).
    * ``"reference"``: the MNIST-1D repository's training (its quickstart's
      baselines: ``train_model`` with ``total_steps = 6000``): Adam, lr 1e-2
      (no weight decay), batch 100, 6000 steps, evaluation every 250, and its
      residual MLP (``MLPBase``, :func:`initlab.models.residual_mlp`) as the
      default model. Train ``"mnist1d_conv"`` (ConvBase) or ``"mnist1d_gru"``
      (GRUBase) to reproduce its CNN (about 92 %) and GRU baselines. One
      difference stays: the repository walks the training set in its stored
      order, batch ``i`` being examples ``[100 i mod 4000, + 100)``, the same
      every epoch, while initlab reshuffles every epoch with each restart's
      data key (``TrainConfig(data_order="sequential")`` walks it in order).

    Args:
      n_train, n_test: split sizes.
      seed: the generator's seed (the package's default is 42).
      channels: x as (N, 40, 1) for CNN1D / RNN models instead of (N, 40).
      preset: "initlab" or "reference" (see above).
      augment: None, or the std of Gaussian noise added to every training
        signal at every step (:func:`initlab.tasks.augment.gaussian_noise`).

    Raises:
      ValueError: non-positive sizes or an unknown preset.

    Example:
      >>> task = initlab.get_task("mnist1d", channels=True)
      >>> model = initlab.models.cnn1d(40, 1, (32, 32), 10)
      >>> reference = initlab.get_task("mnist1d", preset="reference")
      >>> reference.defaults["optimizer"], reference.defaults["steps"]
      ('adam', 6000)

    References:
      Greydanus & Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024.
    """
    _positive(n_train, "n_train", "mnist1d")
    _positive(n_test, "n_test", "mnist1d")
    preset = _checks.choice(preset, MNIST1D_PRESETS, "preset", where="mnist1d")
    total = -(-(n_train + n_test) // 10) * 10
    x, y = _mnist1d_arrays(total, seed)
    if channels:
        x = x[..., None]
    if preset == "reference":
        # github.com/greydanus/mnist1d: train.py's get_model_args (Adam, lr
        # 1e-2, weight_decay 0, batch 100, eval_every 250); the quickstart's
        # baselines set total_steps = 6000.
        model, defaults = residual_mlp, dict(
            batch_size=100, steps=6000, learning_rate=1e-2, eval_every=250,
            optimizer="adam", eval_schedule="geometric",
        )  # fmt: skip
    else:
        model = functools.partial(mlp, (100, 100), 40, 10)
        defaults = dict(
            batch_size=100,
            steps=3000,
            learning_rate=0.1,
            eval_every=100,
            eval_schedule="geometric",
        )
    return make_task(
        "mnist1d",
        x[:n_train],
        y[:n_train],
        x[n_train : n_train + n_test],
        y[n_train : n_train + n_test],
        kind="classification",
        model=model,
        defaults=defaults,
        augment=None if augment is None else gaussian_noise(augment),
    )


def teacher(
    in_features: int = 10,
    hidden: int = 32,
    n_train: int = 1000,
    n_test: int = 1000,
    noise: float = 0.1,
    seed: int = 0,
) -> Task:
    """Regression on a planted random teacher: a one-hidden-layer tanh MLP.

    ``x ~ N(0, I)``; teacher weights ``W1 ~ N(0, 1/in_features)``, ``W2 ~
    N(0, 1/hidden)``, biases 0; the teacher's outputs are scaled to unit std on
    the training set, then ``noise * N(0, 1)`` is added (so the best reachable
    r2 is about ``1 / (1 + noise^2)``). Targets float32 (N, 1); loss MSE;
    metrics loss and r2; default student MLP in-64-64-1 tanh.

    Args:
      in_features, hidden: teacher sizes.
      n_train, n_test: split sizes.
      noise: label noise std (relative to the unit-std signal).
      seed: numpy seed fixing teacher and data.

    Raises:
      ValueError: non-positive sizes or negative noise.

    Example:
      >>> task = initlab.get_task("teacher", noise=0.0)
    """
    for what, v in (("in_features", in_features), ("hidden", hidden),
                    ("n_train", n_train), ("n_test", n_test)):  # fmt: skip
        _positive(v, what, "teacher")
    noise = _nonnegative(noise, "noise", "teacher")
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((in_features, hidden)) / np.sqrt(in_features)
    w2 = rng.standard_normal((hidden, 1)) / np.sqrt(hidden)
    x = rng.standard_normal((n_train + n_test, in_features))
    signal = np.tanh(x @ w1) @ w2
    signal = signal / signal[:n_train].std()
    y = signal + noise * rng.standard_normal(signal.shape)
    return make_task(
        "teacher",
        x[:n_train],
        y[:n_train],
        x[n_train:],
        y[n_train:],
        kind="regression",
        model=lambda: mlp((64, 64), in_features, 1, "tanh"),
        defaults=dict(
            batch_size=64,
            steps=2000,
            learning_rate=0.05,
            eval_every=100,
            eval_schedule="geometric",
        ),
    )


TASKS: Mapping[str, Callable[..., Task]] = {
    "xor": xor,
    "spirals": spirals,
    "digits": digits,
    "mnist1d": mnist1d,
    "teacher": teacher,
}


def get_task(name: str, **options: Any) -> Task:
    """A built-in task by name, with its options.

    Args:
      name: one of ``TASKS`` ("xor", "spirals", "digits", "mnist1d", "teacher").
      **options: keyword arguments of that task's function.

    Returns:
      the task.

    Raises:
      ValueError: an unknown name (with the closest match) or option.

    Example:
      >>> task = initlab.get_task("mnist1d", n_train=1000, n_test=500)
    """
    if name not in TASKS:
        close = difflib.get_close_matches(str(name), list(TASKS), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown task {name!r}.{hint} Valid names: {', '.join(TASKS)}. "
            "For your own data use initlab.make_task(...)."
        )
    allowed = inspect.signature(TASKS[name]).parameters
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"get_task({name!r}): unknown option(s) {unknown}; allowed: "
            f"{list(allowed) or 'none'}."
        )
    return TASKS[name](**options)
