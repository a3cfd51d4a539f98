"""
A Nielsen session
=================

Scripts written for Michael Nielsen's ``network.py`` run with one changed import. His data
format stays: lists of ``(x, y)`` pairs of column vectors, one-hot targets for training and
integer labels for testing. Here the shipped 8x8 digits stand in for MNIST.
"""
import random

import numpy as np

from fastmlp.compat.nielsen import Network
from fastmlp.datasets import load_digits

X, y = load_digits()
X = X / 16


def one_hot(label):
    column = np.zeros((10, 1))
    column[label] = 1.0
    return column


pairs = [(x.reshape(64, 1), label) for x, label in zip(X, y)]
training_data = [(x, one_hot(label)) for x, label in pairs[:1400]]
test_data = pairs[1400:]

random.seed(0)
np.random.seed(0)
net = Network([64, 30, 10])
net.SGD(training_data, 5, 10, 3.0, test_data=test_data)
