# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Signal propagation: which depths still train?
#
# **Claims.** (1) At initialization the size of the signal in layer *l* of a
# deep network depends on the initializer and the activation: with the
# right variance it stays put, with the wrong one it vanishes or explodes
# geometrically in depth (LeCun/Glorot for tanh, He for ReLU; orthogonal
# keeps the Jacobian well conditioned). (2) So the wrong pairing stops deep
# networks from training. (3) The seed's reader asks: *should we initialize
# more randomly as we go deeper?* We test depth-dependent scales.

# %%
import os
import time

SMALL = os.environ.get("INITLAB_SMALL") == "1"  # the test suite's small mode
import initlab

if not SMALL:
    initlab.use_cpu_devices()  # one XLA CPU device per core (~1.7x on 2 cores)
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

# %config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.8)})
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)
T_START = time.perf_counter()

# %% [markdown]
# ## 1 · The signal at initialization
#
# `initlab.diagnostics.depth_sweep`: square MLPs with `D` hidden layers of
# `WIDTH` units (zero biases) plus a linear readout, on a batch of
# standard-normal inputs; `NUM_KEYS` networks per cell with the same keys for
# every initializer (common random numbers). Statistics per layer:
# `second_moment` = mean of the squared pre-activation (mean-field *q*),
# `grad_norm` = norm of dLoss/dW for a squared loss on zero targets.
# Initializers: LeCun normal (Var = 1/fan_in), Glorot normal (2/(fan_in +
# fan_out), equal to LeCun here since the layers are square), He normal
# (2/fan_in), orthogonal (gain 1).

# %%
WIDTH, DEPTHS, NUM_KEYS = (32, (2, 8), 2) if SMALL else (256, (2, 4, 8, 16, 32, 64), 8)
INITS = {
    "lecun_normal": initlab.lecun_normal(),
    "glorot_normal": initlab.glorot_normal(),
    "he_normal": initlab.he_normal(),
    "orthogonal": initlab.orthogonal(),
}
sweep = initlab.diagnostics.depth_sweep(
    INITS,
    activations=("tanh", "relu"),
    depths=DEPTHS,
    width=WIDTH,
    batch_size=WIDTH,
    num_keys=NUM_KEYS,
    seed=0,
)
mean = sweep.groupby(
    ["initializer", "activation", "depth", "layer", "statistic"], as_index=False
).value.mean()
D = max(DEPTHS)
fig, axes = plt.subplots(2, 2, figsize=(11, 7), layout="constrained")
for j, act in enumerate(("tanh", "relu")):
    for i, stat in enumerate(("second_moment", "grad_norm")):
        sub = mean[(mean.activation == act) & (mean.depth == D)]
        initlab.plots.plot_layer_stats(sub, stat, ax=axes[i, j], logy=True)
        axes[i, j].set_title(f"{act}, {D} hidden layers: {stat.replace('_', ' ')}")
plt.show()

# %% [markdown]
# The same at the last hidden layer, for every depth (mean over the networks):

# %%
last = mean[(mean.layer == mean.depth) & (mean.statistic == "second_moment")]
q_last = last.pivot_table(
    index=["activation", "initializer"], columns="depth", values="value"
)
jac = mean[
    mean.statistic.isin(["jacobian_sv_max", "jacobian_sv_min"]) & (mean.depth == D)
].pivot_table(index=["activation", "initializer"], columns="statistic", values="value")
print("second moment q of the last hidden layer's pre-activation, by depth:")
display(q_last)
print(f"input-output Jacobian singular values at depth {D} (mean over networks):")
jac

# %% [markdown]
# ## 2 · Which depths still train?
#
# MLPs on digits with `D` hidden layers of 64 units (tanh, or ReLU), a
# 10-way softmax readout, zero biases; SGD lr 0.05, batch 128, `STEPS`
# steps, `R` restarts per initializer (paired design). Besides the four
# initializers, two **depth schedules** (section 3) ride along in the same
# compiled loop. A restart that diverges (non-finite loss) is counted and
# left out of the mean.

# %%
TRAIN_DEPTHS = (3,) if SMALL else (2, 8, 24)
R, STEPS = (2, 20) if SMALL else (8, 400)
digits = initlab.get_task("digits")


class PerLayer:
    """One initializer per kernel, first layer first (a marker)."""

    def __init__(self, name, inits):
        self.__name__, self.inits = name, list(inits)

    def __call__(self, key, shape, dtype=jnp.float32):  # a plain init: layer 0's
        return self.inits[0](key, shape, dtype)


def scheduled_mlp(depth, activation):
    """initlab's MLP whose init also accepts a PerLayer initializer."""
    base = initlab.models.mlp((64,) * depth, 64, 10, activation)

    def init(key, kernel_init=None, bias_init=None):
        if isinstance(kernel_init, PerLayer):
            rules = [
                (f"^layers/{i}/kernel$", f) for i, f in enumerate(kernel_init.inits)
            ]
            return initlab.reinit(base.init(key), rules, key)
        return base.init(key, kernel_init, bias_init)

    return initlab.PureModel(base.name + "-" + activation, init, base.apply)


def schedules(base, depth, lo=0.5, hi=2.0):
    """Increasing and decreasing geometric multipliers, depth + 1 kernels."""
    n = depth + 1
    out = {}
    for kind in ("increasing", "decreasing"):
        a, b = (lo, hi) if kind == "increasing" else (hi, lo)
        out[f"{kind} {a:g}->{b:g}"] = PerLayer(
            kind, [initlab.depth_schedule(base, i, n, kind, lo, hi) for i in range(n)]
        )
    return out


BASE = {"tanh": initlab.lecun_normal(), "relu": initlab.he_normal()}
runs = {}
for act in ("tanh", "relu"):
    for depth in TRAIN_DEPTHS:
        inits = dict(INITS) | schedules(BASE[act], depth)
        runs[act, depth] = initlab.train(
            digits,
            inits,
            model=scheduled_mlp(depth, act),
            num_restarts=R,
            steps=STEPS,
            batch_size=128,
            optimizer="sgd",
            learning_rate=0.05,
            eval_every=STEPS,
            seed=0,
            progress=False,
        )
        wall = runs[act, depth].metadata["wall_time_s"]
        print(f"{act} depth {depth}: {wall:.0f} s")

# %%
rows = []
for (act, depth), o in runs.items():
    t = initlab.stats.summary_table(o, "test_accuracy", rng=0)
    t.insert(0, "activation", act)
    t.insert(1, "depth", depth)
    rows.append(t)
acc = pd.concat(rows, ignore_index=True)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained", sharey=True)
palette = initlab.plots.colors(acc.initializer.unique())
for ax, act in zip(axes, ("tanh", "relu"), strict=True):
    for label, g in acc[acc.activation == act].groupby("initializer", sort=False):
        ok = g.n > 0
        m = g["mean"][ok]
        ax.errorbar(
            g.depth[ok],
            m,
            yerr=[m - g.mean_low[ok], g.mean_high[ok] - m],
            marker="o",
            capsize=3,
            color=palette[label],
            label=label,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("hidden layers")
    ax.set_title(f"{act}: final test accuracy (mean, 95% CI)")
axes[0].set_ylabel("test accuracy")
axes[1].legend(fontsize="small")
plt.show()
acc["mean [95% CI]"] = [
    f"{m:.3f} [{lo:.3f}, {hi:.3f}]" if n > 0 else "all diverged"
    for m, lo, hi, n in zip(
        acc["mean"], acc.mean_low, acc.mean_high, acc.n, strict=True
    )
]
acc.pivot(index=["activation", "initializer"], columns="depth", values="mean [95% CI]")

# %%
print("diverged restarts (of R each):")
acc.pivot_table(index=["activation", "initializer"], columns="depth", values="diverged")

# %% [markdown]
# ## 3 · "Initialize more randomly as we go deeper?"
#
# Layer *l* of *L = D + 1* kernels draws the base initializer (LeCun for
# tanh, He for ReLU) times a multiplier that grows geometrically from 0.5 at
# the first layer to 2 at the readout ("increasing", more random deeper),
# or the reverse ("decreasing"); the base alone is the constant schedule.
# A geometric schedule from 0.5 to 2 multiplies to 1 over the whole
# network, so for ReLU (positively homogeneous, zero biases) **the function
# at init is exactly the constant schedule's** — only the per-layer balance,
# and hence the gradients, differ. Below: the signal at init (deepest
# trained depth, `WIDTH`-wide square nets as in section 1), then the accuracy
# comparison as a probability of improvement over the constant schedule.

# %%
DS = max(TRAIN_DEPTHS)
keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(1), i))(
    jnp.arange(NUM_KEYS)
)
x = jax.random.normal(jax.random.key(0), (WIDTH, WIDTH))
frames = []
for act in ("tanh", "relu"):
    arms = {"constant": PerLayer("constant", [BASE[act]] * (DS + 1))}
    arms |= schedules(BASE[act], DS)
    for label, per_layer in arms.items():

        def draw(key, per_layer=per_layer):
            # An MLP's params tree, layer i drawn by its own initializer.
            shape = (WIDTH, WIDTH)
            layers = {
                i: {"kernel": f(jax.random.fold_in(key, i), shape),
                    "bias": jnp.zeros(WIDTH)}
                for i, f in enumerate(per_layer.inits)
            }  # fmt: skip
            return {"layers": layers}

        def one(k, act=act, draw=draw):
            return initlab.diagnostics.signal_stats(draw(k), x, act, jacobian=False)

        stats = jax.jit(jax.vmap(one))(keys)
        frames.append(initlab.diagnostics.stats_frame(stats, label, act, DS))
sched = (
    pd.concat(frames)
    .groupby(["initializer", "activation", "layer", "statistic"], as_index=False)
    .value.mean()
)
fig, axes = plt.subplots(2, 2, figsize=(11, 7), layout="constrained")
for j, act in enumerate(("tanh", "relu")):
    for i, stat in enumerate(("second_moment", "grad_norm")):
        initlab.plots.plot_layer_stats(
            sched[sched.activation == act], stat, ax=axes[i, j], logy=True
        )
        axes[i, j].set_title(f"{act}, {DS} hidden layers, schedules: {stat}")
plt.show()

# %%
rows = []
for (act, depth), o in runs.items():
    base = "lecun_normal" if act == "tanh" else "he_normal"
    ref = o.values("test_accuracy", base)
    for label in o.labels:
        if not label.startswith(("increasing", "decreasing")):
            continue
        v = o.values("test_accuracy", label)
        p = lo = hi = np.nan
        if len(v) >= 2 and len(ref) >= 2:
            p, lo, hi = initlab.stats.probability_of_improvement(v, ref, rng=3)
        rows.append(
            {
                "activation": act,
                "depth": depth,
                "schedule": label,
                "vs": base,
                "mean": v.mean() if len(v) else np.nan,
                "mean_constant": ref.mean() if len(ref) else np.nan,
                "P(schedule > constant)": p,
                "low": lo,
                "high": hi,
            }
        )
pd.DataFrame(rows)

# %% [markdown]
# ## Conclusions
#
# What the full run above measured (signal: width 256, 8 networks per cell;
# training: digits, 64 units per layer, SGD lr 0.05, 400 steps, 8 restarts
# per initializer; 95 % bootstrap intervals of the mean):
#
# * **The signal at init does what mean-field theory says.** ReLU + He keeps
#   the second moment of the last hidden pre-activation near 2 at every depth
#   (1.58 at 64 layers); ReLU + LeCun/Glorot (equal on square layers) halves
#   it at every layer: 0.0074 at depth 8, 3e-10 at 32, 9e-20 at 64, and the
#   gradients vanish with it (~1e-17). Orthogonal with gain 1 is no better
#   for ReLU (1e-19 at 64): orthogonality keeps norms, ReLU still halves
#   them. Tanh + LeCun/Glorot/orthogonal decays slowly (0.074 at 8, 0.0089 at
#   64, the 1/(2l) law); tanh + He holds q at about 0.62 but is chaotic: the
#   input-output Jacobian's largest singular value is 222 at depth 64 (1.2 for
#   LeCun, 0.23 for orthogonal, whose spectrum is the narrowest: smallest
#   singular value 1e-4 against 1e-10 for LeCun).
# * **Which depths train.** At 2 and 8 hidden layers every initializer
#   trains (0.90-0.97). At 24: for ReLU only He still learns, 0.683 [0.516,
#   0.792], while LeCun 0.191 [0.164, 0.211], Glorot 0.191 and orthogonal
#   0.111 [0.101, 0.123] are near chance; for tanh, orthogonal 0.969 [0.967,
#   0.972], LeCun 0.949 and Glorot 0.950 still train and He (chaotic) falls to
#   0.886 [0.878, 0.892].
# * **"More random as we go deeper?"** A mild yes at shallow depth, a
#   clear no when deep. Increasing the scale from 0.5 (first layer) to 2
#   (readout) beat the constant schedule at depth 2 (tanh: 0.969 vs 0.959,
#   P = 0.93 [0.78, 1.00]; ReLU: 0.964 vs 0.952, P = 0.89 [0.67, 1.00]) and
#   for ReLU at depth 8 (0.951 vs 0.932, P = 1.00 [1.00, 1.00]); at depth 24
#   it failed: tanh 0.504 [0.389, 0.624] vs 0.949 (P = 0.00), and for ReLU all
#   8 restarts diverged. The reverse, decreasing 2 → 0.5, was worse than
#   constant everywhere (tanh P = 0.00 at every depth; ReLU depth 24: 0.472
#   [0.328, 0.618] vs 0.683, P = 0.20 [0.00, 0.48]).
#
# **What surprised us.** For ReLU the three schedules compute *the same
# function* at init (the multipliers multiply to 1 and ReLU is positively
# homogeneous): the readout's second moment is identical, while the middle
# layers sit at 3e-4 (increasing) or 2e4 (decreasing). Yet they train very
# differently, from better than He at depth 8 to every restart diverging at
# depth 24: the schedule moves the gradient across layers (a layer scaled
# by c gets gradients scaled by 1/c), so SGD's effective step size differs
# per layer. Equal signal at init is not equal trainability. And orthogonal
# init, best for tanh at depth 24, was the worst for ReLU, only because of
# its gain of 1.

# %%
print(
    f"notebook ran in {time.perf_counter() - T_START:.0f} s "
    f"({'small' if SMALL else 'full'} mode, {jax.device_count()} device(s))"
)
