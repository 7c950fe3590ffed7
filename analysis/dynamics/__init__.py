"""Optimization dynamics of factorizations: gradient descent on a network's tensors (theory §7).

A network whose contraction is a matrix or tensor (a deep linear network, a tensor train, a ConvAC)
is trained by plain gradient descent on its factors for a loss of its contracted output; the
gradients come from :func:`tn.gradients.value_and_grad` (all environments in one sweep). The
history records the loss, the singular values of the end-to-end matrix and, for deep linear
networks, the balancedness ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F of every pair of layers.

Beside it, the **end-to-end update rule** of balanced deep linear networks is applied to W_e
directly:

    W_e <- W_e - eta * sum_{j=1..N} [W_e W_e^T]^{(j-1)/N} grad L(W_e) [W_e^T W_e]^{(N-j)/N},

with fractional powers of the positive semi-definite Gram matrices by symmetric eigendecomposition
(tiny negative eigenvalues from rounding clipped to zero, and P^0 = I). Factor-space descent from a
balanced initialization and this rule agree to O(eta^2) per step, and the singular values of W_e
move as d sigma_r / dt = -N (sigma_r^2)^{1 - 1/N} <grad L(W_e), u_r v_r^T>.

Baselines for implicit acceleration: AdaGrad and AdaDelta on the end-to-end matrix (:func:`rule_descent`).
Descent from tiny initializations can take an adaptive step (``max_move``) that follows the gradient-flow
path across the long plateau near the origin.

Also: losses (squared loss with an optional observation mask, as in matrix completion; l_p
regression), the effective rank of Roy & Vetterli, and the nuclear-norm baseline of matrix
completion by soft-impute with a decreasing penalty, each stage run to convergence.

Bad input (mismatched shapes, a non-finite loss, a diverging step size) raises
:class:`tn.errors.DynamicsError`; the history up to the failure is attached as ``.history``.
"""

from .completion import effective_rank, nuclear_norm_completion, observation_mask, random_low_rank, soft_impute
from .descent import History, balancedness, chain_layers, gradient_descent
from .linear import end_to_end_descent, end_to_end_direction, fractional_power, singular_value_velocity
from .losses import Loss, lp_regression_loss, squared_loss
from .optimizers import UPDATE_RULES, rule_descent

__all__ = ["History", "Loss", "squared_loss", "lp_regression_loss", "chain_layers", "balancedness",
           "gradient_descent", "fractional_power", "end_to_end_direction", "end_to_end_descent",
           "singular_value_velocity", "effective_rank", "random_low_rank", "observation_mask", "soft_impute",
           "nuclear_norm_completion", "UPDATE_RULES", "rule_descent"]