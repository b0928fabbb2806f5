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
# # 01 · Why not start from zeros?
#
# **Claim.** If every hidden unit of a layer starts with the same incoming
# weights, every unit computes the same function, receives the same gradient
# and stays the same as every other unit for ever: the layer is as good as
# one unit wide. All-zero and constant starts therefore never break the
# symmetry between hidden units, and the network stays stuck; small random
# starts break it. The biases need no randomness once the kernels are random:
# zero biases are fine. (And the converse: do random biases rescue zero
# kernels?)
#
# We measure this with `initlab.train(..., keep_params=True)` and
# `initlab.diagnostics.distinct_units`, which counts the groups of equal
# units (kernel column plus bias, equal within 1e-6) of a layer.

# %%
import os
import time

SMALL = os.environ.get("INITLAB_SMALL") == "1"  # the test suite's small mode
import initlab

if not SMALL:
    initlab.use_cpu_devices()  # one XLA CPU device per core (~1.7x on 2 cores)
import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

# %config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 80, "figure.figsize": (6.4, 3.8)})
pd.set_option("display.precision", 4)
T_START = time.perf_counter()

# %% [markdown]
# ## Setup
#
# * **Task:** scikit-learn digits (8×8 images, 1257 train / 540 test,
#   standardised per pixel with the train statistics), 10 classes.
# * **Model:** MLP 64-32-32-10, tanh hidden units, softmax cross-entropy.
# * **Training:** plain SGD, learning rate 0.1, minibatch 128, 500 steps
#   (small mode 60), evaluated every 50 steps (small 30).
# * **Restarts:** 32 per start (small mode 4), paired design (restart *i*
#   uses init key *i* and data-order key *i* for every start), seed 0.
# * **Starts** (kernels / biases):
#   1. zeros / zeros;
#   2. constant 0.1 / zeros;
#   3. Glorot uniform (Keras's default) / zeros (Keras's default);
#   4. zeros / U(−0.1, 0.1);
#   5. Glorot uniform / U(−0.1, 0.1).

# %%
RESTARTS = 4 if SMALL else 32
STEPS = 60 if SMALL else 500
EVAL_EVERY = 30 if SMALL else 50
task = initlab.get_task("digits")
model = initlab.models.mlp((32, 32), 64, 10, "tanh")
common = dict(
    model=model,
    num_restarts=RESTARTS,
    steps=STEPS,
    batch_size=128,
    learning_rate=0.1,
    eval_every=EVAL_EVERY,
    seed=0,
    keep_params=True,
    progress=False,
)
zero_bias = initlab.train(
    task,
    {
        "zeros / zeros": initlab.zeros(),
        "constant 0.1 / zeros": initlab.constant(0.1),
        "glorot_uniform / zeros": initlab.glorot_uniform(),
    },
    **common,
)
random_bias = initlab.train(
    task,
    {
        "zeros / U(-0.1, 0.1)": initlab.zeros(),
        "glorot_uniform / U(-0.1, 0.1)": initlab.glorot_uniform(),
    },
    bias_init=initlab.random_uniform(-0.1, 0.1),
    **common,
)
out = initlab.Outcomes.concatenate([zero_bias, random_bias])
LABELS = out.labels
seconds = zero_bias.metadata["wall_time_s"] + random_bias.metadata["wall_time_s"]
print(f"{len(out)} restarts trained in {seconds:.0f} s")


# %% [markdown]
# ## Symmetry: distinct hidden units at the start and at the end
#
# For each restart and hidden layer we count distinct units (of 32) in the
# initial and the final parameters, and measure the *spread*: the largest
# difference between any two units' weights (0 means exactly equal).


# %%
def hidden_layers(params):
    """[(kernel, bias), ...] of the hidden layers, restart axis first."""
    layers = params["layers"]
    return [
        (np.asarray(layers[i]["kernel"][...]), np.asarray(layers[i]["bias"][...]))
        for i in range(len(layers) - 1)
    ]


count = jax.jit(jax.vmap(initlab.diagnostics.distinct_units))


def symmetry(params):
    rows = []
    for layer, (kernel, bias) in enumerate(hidden_layers(params)):
        units = np.concatenate([kernel, bias[:, None, :]], axis=1)  # (R, in+1, 32)
        spread = (units.max(-1) - units.min(-1)).max(-1)  # (R,)
        rows.append((layer, np.asarray(count(kernel, bias)), spread))
    return rows


records = []
for when in ("init", "final"):
    for part in (zero_bias, random_bias):
        params = part.initial_params if when == "init" else part.final_params
        for layer, n_distinct, spread in symmetry(params):
            for label in part.labels:
                rows = part.initializer == label
                records.append(
                    dict(
                        start=label,
                        layer=f"hidden {layer + 1}",
                        when=when,
                        distinct_min=n_distinct[rows].min(),
                        distinct_max=n_distinct[rows].max(),
                        max_spread=spread[rows].max(),
                    )
                )
sym = pd.DataFrame(records)
table = sym.pivot_table(
    index=["start", "layer"],
    columns="when",
    values=["distinct_min", "distinct_max", "max_spread"],
    aggfunc="first",
    sort=False,
)
display(table)

# %% [markdown]
# ## Skill: test accuracy after training
#
# Mean, median and IQM over restarts with 95 % percentile-bootstrap intervals
# (`initlab.stats.summarize`, 2000 resamples). "Chance" is the share of the
# most common class in the test set.

# %%
chance = np.bincount(task.y_test).max() / len(task.y_test)
rows = []
for label in LABELS:
    acc = out.values("test_accuracy", label)
    s = initlab.stats.summarize(acc, rng=0)
    loss = out.values("train_loss", label)
    rows.append(
        dict(
            start=label,
            n=s["n"],
            mean=s["mean"],
            mean_ci=f"[{s['mean_low']:.3f}, {s['mean_high']:.3f}]",
            iqm=s["iqm"],
            iqm_ci=f"[{s['iqm_low']:.3f}, {s['iqm_high']:.3f}]",
            min=s["min"],
            max=s["max"],
            final_train_loss=float(np.median(loss)),
            diverged=int(out.diverged[out.initializer == label].sum()),
        )
    )
skill = pd.DataFrame(rows).set_index("start")
print(f"chance (most common class) = {chance:.3f}")
display(skill)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
initlab.plots.plot_curves(out, "test_accuracy", ax=axes[0])
axes[0].axhline(chance, color="grey", ls=":", lw=1)
axes[0].set_title("test accuracy: median and IQR over restarts")
initlab.plots.plot_curves(out, "train_loss", ax=axes[1])
axes[1].set_title("train loss")
for ax in axes:
    ax.legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Zero kernels with random biases: a plateau, not a dead end
#
# With random biases the units of zero kernels *are* distinct, yet after
# 500 steps that start is still at chance. All kernels are zero, so every
# hidden activation is the same for every input and each kernel's gradient
# is a product of other zero (or input-independent) factors: the start is a
# saddle. We train the same start 10× longer (5000 steps, small mode 120;
# other settings as above) and record when test accuracy first reaches 50 %.

# %%
LONG = 120 if SMALL else 5_000
escape = initlab.train(
    task,
    {"zeros / U(-0.1, 0.1)": initlab.zeros()},
    bias_init=initlab.random_uniform(-0.1, 0.1),
    target=0.5,
    **{
        **common,
        "steps": LONG,
        "keep_params": False,
        "eval_every": 30 if SMALL else 100,
    },
)
reached = escape.steps_to_target >= 0
print(
    f"{reached.sum()} of {len(escape)} restarts reached 50% test accuracy "
    f"within {LONG} steps"
)
if reached.sum() >= 2:
    steps_hit = escape.steps_to_target[reached].astype(float)
    low, high = initlab.stats.bootstrap_ci(steps_hit, np.median, rng=0)
    print(
        f"step at which they did: median {np.median(steps_hit):.0f} "
        f"[95% bootstrap {low:.0f}, {high:.0f}], range {steps_hit.min():.0f}"
        f"-{steps_hit.max():.0f}"
    )
s = initlab.stats.summarize(escape.values("test_accuracy"), rng=0)
print(
    f"test accuracy after {LONG} steps: mean {s['mean']:.4f} "
    f"[{s['mean_low']:.4f}, {s['mean_high']:.4f}]"
)
fig, ax = initlab.plots.plot_curves(escape, "test_accuracy")
ax.axhline(chance, color="grey", ls=":", lw=1)
ax.set_title("zero kernels, random biases: a long plateau")
plt.show()

# %% [markdown]
# ## Conclusion
#
# **Zeros and constants never break the symmetry.** Started from all zeros,
# both hidden layers have 1 distinct unit (of 32) at the start and after 500
# steps, with a spread of exactly 0; test accuracy is 0.101 [95 % CI 0.101,
# 0.102] over 32 restarts, i.e. chance (0.102), and the train loss stays at
# 2.3025 ≈ ln 10: only the output biases learn the class frequencies. A
# constant 0.1 start also keeps 1 distinct unit per layer, so it trains as
# a network one unit wide: 0.204 [0.201, 0.207].
#
# **Random kernels do, and zero biases are fine.** Glorot-uniform kernels
# give 32 distinct units of 32 at the start and the end, and 0.9655 [0.964,
# 0.967] with zero biases against 0.9653 [0.964, 0.967] with biases from
# U(−0.1, 0.1): no difference.
#
# **Random biases alone are not enough.** Zero kernels with random biases
# have 32 distinct units, but every hidden activation is the same for every
# input. That start is a saddle: still at chance (0.101) after 500 steps.
# Trained 10× longer, all 32 restarts got out. They reached 50 % test
# accuracy at a median step of 3050 [2900, 3350] (range 2200–4100) and
# ended at 0.944 [0.941, 0.947] after 5000 steps. That is still below what
# Glorot reaches in 500.
#
# **What surprised us.** (1) After 500 SGD steps, the units of the constant
# start are still *bit-for-bit* equal (spread exactly 0.0): float rounding
# does not break the symmetry. XLA computes every column with the same
# operations, so only a real random difference can. (2) Distinct is not
# the same as useful. Biases are enough to make units different, but signal
# does not flow through zero kernels, and the plateau costs about six times
# the whole training budget of a random start. Symmetry breaking is
# necessary, not sufficient. (In the curves, the two Glorot starts and the
# two zero-kernel starts lie on top of each other.)

# %%
print(
    f"notebook ran in {time.perf_counter() - T_START:.0f} s "
    f"({'small' if SMALL else 'full'} mode, {jax.device_count()} device(s))"
)
