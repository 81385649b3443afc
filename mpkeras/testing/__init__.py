"""The conformance kit: checks every registered model passes, and their fixtures."""

from mpkeras.testing.conformance import (
    build,
    check_config_roundtrip,
    check_contract,
    check_keras_roundtrip,
    check_learns,
    check_missing_fixtures,
    check_savedmodels,
    check_shapes_and_gradients,
    export_all,
    get_fixture,
)
from mpkeras.testing.fixtures import FIXTURES, Fixture

__all__ = [
    "FIXTURES",
    "Fixture",
    "build",
    "check_config_roundtrip",
    "check_contract",
    "check_keras_roundtrip",
    "check_learns",
    "check_missing_fixtures",
    "check_savedmodels",
    "check_shapes_and_gradients",
    "export_all",
    "get_fixture",
]
