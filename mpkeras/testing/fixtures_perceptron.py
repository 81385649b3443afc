"""Fixtures of the perceptron models."""

from mpkeras.testing.fixtures import Fixture, fixture  # noqa: F401
