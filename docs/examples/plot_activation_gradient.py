"""
An activation and its gradient
==============================

Training multiplies every delta by theta'(s), so an activation is only as good as its
derivative. Here ELU is drawn beside its derivative, and the derivative the network uses is
checked against a central finite difference of theta itself.
"""
import numpy as np

import fastmlp as fm
from fastmlp import plot

elu = fm.activation("elu", alpha=0.5)
fig = plot.activations(elu, "tanh")

# %%
# The derivative that backpropagation uses, against (theta(s + h) - theta(s - h)) / 2h,
# away from s = 0, where ELU with alpha != 1 has a kink (slope alpha on the left, 1 on the
# right) and no derivative:
s = np.linspace(-3, 3, 12)
h = 1e-6
exact = np.array([elu.theta_prime(v, elu.theta(v)) for v in s])
numeric = np.array([(elu.theta(v + h) - elu.theta(v - h)) / (2 * h) for v in s])
print(f"largest difference: {np.abs(exact - numeric).max():.1e}")
