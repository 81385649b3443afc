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
from mpkeras.testing.flags import (
    FLAGS,
    check_declared_opt_outs,
    check_jit,
    check_mixed_precision,
    check_replicas,
    replica_strategy,
)

__all__ = [
    "FIXTURES",
    "FLAGS",
    "Fixture",
    "build",
    "check_config_roundtrip",
    "check_contract",
    "check_declared_opt_outs",
    "check_jit",
    "check_mixed_precision",
    "check_replicas",
    "replica_strategy",
    "check_keras_roundtrip",
    "check_learns",
    "check_missing_fixtures",
    "check_savedmodels",
    "check_shapes_and_gradients",
    "export_all",
    "get_fixture",
]
