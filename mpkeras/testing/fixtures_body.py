"""Fixtures of the body models (the generated SMPL-format body)."""

from mpkeras.testing.fixtures import Fixture, fixture  # noqa: F401


@fixture("smpl")
def _smpl():
    from mpkeras.models.body import SMPL, sample_bodies

    kwargs = dict(fit_steps=3, fit_learning_rate=1.0, hidden_units=(16,))
    x = sample_bodies(SMPL(**kwargs), 8, seed=3)["joints"]  # target joints (8, 24, 3)
    return Fixture(
        kwargs=kwargs,
        x=x,
        output_shapes={"betas": (8, 10), "pose": (8, 72), "joints": (8, 24, 3), "error": (8,), "trajectory_loss": (8,)},
        learn_steps=40,
        learning_rate=1e-2,
    )


@fixture("lbs")
def _lbs():
    from mpkeras.models.body import SMPL, sample_bodies

    body = SMPL(hidden_units=(4,))
    poses = sample_bodies(body, 8, seed=4)
    x = poses["pose"]  # (8, 72)
    y = body.forward(poses["betas"] * 0, x)["vertices"].numpy()  # (8, V, 3): the generated body, mean shape
    return Fixture(kwargs={}, x=x, y=y, output_shapes=(8, body.num_vertices, 3), learn_steps=40, learning_rate=0.1)
