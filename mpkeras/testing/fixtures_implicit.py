"""Fixtures of the neural implicit models (point clouds of mpkeras.data.shapes)."""

from mpkeras.testing.fixtures import Fixture, fixture  # noqa: F401


@fixture("igr_sdf")
def _igr_sdf():
    from mpkeras.data.shapes import point_cloud

    points, _ = point_cloud("capsule", 64, seed=0)  # (64, 3) surface points; fit without normals
    return Fixture(kwargs=dict(hidden_units=(16, 16)), x=points, output_shapes=(64,), learn_steps=40,
                   learning_rate=1e-2)
