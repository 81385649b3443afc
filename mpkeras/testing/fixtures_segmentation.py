"""Fixtures of the segmentation models."""

from mpkeras.testing.fixtures import Fixture, fixture  # noqa: F401
