"""The restarts themselves: where they land, what they share, what predicts them.

initlab trains many restarts and keeps each one's parameters and
predictions; this package asks the questions that come next.

* Ensembles and diversity (``predictions``, ``ensembles``, ``diversity``,
  ``calibration``): what averaging k restarts buys
  (:func:`ensemble_curve`, with intervals), how often two restarts disagree
  (:func:`pairwise_disagreement`, :func:`pairwise_churn`,
  :func:`error_consistency`, :func:`pair_mean`), whether they err on the
  same examples (:func:`agreement`, against the binomial), and calibration
  (:func:`expected_calibration_error`, :func:`reliability`).
* The landscape between restarts (``interpolation``, ``alignment``,
  ``spawn``): loss and accuracy along the straight line between two
  restarts (:func:`interpolation_curves`, :func:`barrier`), before and after
  aligning their hidden units (:func:`weight_matching`, plain MLPs), and
  between children of a shared early checkpoint (:func:`spawn`).
* Does the start predict the outcome? (``predictors``):
  :func:`init_features`, :func:`predictor_table`, :func:`held_out_check`.
* Perturbed starts (``perturbation``): restarts that share one start but
  for one weight (:func:`shared_start`, :func:`perturbation`).

How many restarts a comparison needs lives in :mod:`initlab.stats`
(:func:`initlab.stats.restarts_needed` and its neighbours).

Example:
  >>> rng = np.random.default_rng(0)   # 4 restarts' predictions of 50 examples
  >>> probs = rng.dirichlet(np.ones(3), size=(4, 50))
  >>> y = rng.integers(0, 3, 50)
  >>> preds = initlab.restarts.RestartPredictions(y, probs.argmax(-1),
  ...     np.take_along_axis(probs, y[None, :, None], -1)[..., 0], 3, probs)
  >>> initlab.restarts.ensemble_curve(preds, rng=0)   # or from_outcomes(run)
"""

from initlab.restarts.alignment import (
    check_permutable,
    hidden_widths,
    mlp_layers,
    permute_hidden,
    weight_matching,
)
from initlab.restarts.calibration import (
    N_BINS,
    expected_calibration_error,
    reliability,
)
from initlab.restarts.diversity import (
    agreement,
    error_consistency,
    pair_mean,
    pairwise_churn,
    pairwise_disagreement,
)
from initlab.restarts.ensembles import METRICS, ensemble_curve, ensemble_metrics
from initlab.restarts.interpolation import (
    barrier,
    barrier_summary,
    evaluator,
    interpolate,
    interpolation_curves,
)
from initlab.restarts.perturbation import (
    Perturbation,
    changed_entries,
    perturbation,
    shared_start,
)
from initlab.restarts.predictions import RestartPredictions, from_outcomes, predict
from initlab.restarts.predictors import (
    held_out_check,
    init_features,
    predictor_table,
)
from initlab.restarts.spawn import spawn, train_core

__all__ = [
    "METRICS", "N_BINS", "Perturbation", "RestartPredictions", "agreement",
    "barrier", "barrier_summary", "changed_entries", "check_permutable",
    "ensemble_curve", "ensemble_metrics", "error_consistency", "evaluator",
    "expected_calibration_error", "from_outcomes", "held_out_check",
    "hidden_widths", "init_features", "interpolate", "interpolation_curves",
    "mlp_layers", "pair_mean", "pairwise_churn", "pairwise_disagreement",
    "permute_hidden", "perturbation", "predict", "predictor_table",
    "reliability", "shared_start", "spawn", "train_core", "weight_matching",
]  # fmt: skip
