"""Occupancy networks and shapes3d: occupancy in [0, 1], trimesh labels vs the SDF sign, permutation invariance,
volumetric IoU, level-set meshing, errors, recipe smoke."""

import numpy as np
import pytest
import tensorflow as tf

import trimesh  # noqa: F401  the 3-D extra, installed by the dev extra: a missing install fails here, not skipped

from mpkeras.data import shapes3d
from mpkeras.models.implicit import OccupancyNetwork, extract_mesh
from mpkeras.testing.fixtures_implicit import sphere_batch
from mpkeras.metrics import binary_iou


def _model():
    return OccupancyNetwork(code_dim=16, encoder_units=16, decoder_units=16, encoder_blocks=3, decoder_blocks=2)


def test_occupancy_lies_in_unit_interval_also_on_wild_inputs():
    model = _model()
    x, _ = sphere_batch(n=4)
    code = model.encode(x["cloud"])["code"]
    for scale in (1.0, 1e3, 1e6):  # far outside the box the logits are huge: sigmoid must still stay in [0, 1]
        out = model.occupancy(scale * x["points"], 1e3 * code)
        occ = out["occupancy"].numpy()
        assert occ.shape == (4, 64) and np.all((occ >= 0) & (occ <= 1)), (scale, occ.min(), occ.max())
        np.testing.assert_allclose(occ, tf.sigmoid(out["logits"]).numpy())
    served = model.predict_occupancy(x["cloud"], x["points"])["occupancy"].numpy()
    np.testing.assert_allclose(served, model.occupancy(x["points"], code)["occupancy"].numpy(), rtol=1e-6)


def test_encoder_is_invariant_to_the_order_of_the_cloud():
    model = _model()
    x, _ = sphere_batch(n=3)
    perm = np.random.default_rng(0).permutation(x["cloud"].shape[1])
    np.testing.assert_allclose(model.encode(x["cloud"][:, perm])["code"].numpy(),
                               model.encode(x["cloud"])["code"].numpy(), rtol=1e-5, atol=1e-6)
    shifted = model.encode(x["cloud"] + 0.1)["code"].numpy()  # but not blind to the cloud
    assert np.abs(shifted - model.encode(x["cloud"])["code"].numpy()).max() > 1e-4


def test_trimesh_labels_agree_with_the_analytic_sdf_away_from_the_surface():
    seen = set()
    for split, index in [("train", n) for n in range(12)] + [("test", 0), ("test", 1)]:
        features, sdf, mesh = shapes3d.example(split, index)
        seen.add(features["category"])
        d = sdf(features["query"].astype(np.float64))
        far = np.abs(d) > 0.02  # marching cubes moves the surface by well under a grid step (1.1 / 63)
        assert far.mean() > 0.5
        np.testing.assert_array_equal(features["occupancy"][far], d[far] < 0, err_msg=f"{split} {index}")
        assert np.abs(mesh.vertices).max() <= 0.5 + 0.02 and mesh.is_watertight
        assert np.abs(sdf(features["points"].astype(np.float64))).max() < 0.03  # the cloud lies on the surface
    assert len(seen) >= 5, seen


def test_shapes3d_is_deterministic_with_disjoint_splits_and_clear_errors():
    a, _, _ = shapes3d.example("test", 3)
    b, _, _ = shapes3d.example("test", 3)
    c, _, _ = shapes3d.example("train", 3)
    np.testing.assert_array_equal(a["points"], b["points"])
    np.testing.assert_array_equal(a["occupancy"], b["occupancy"])
    assert not np.allclose(a["query"], c["query"])
    with pytest.raises(ValueError, match="splits are"):
        shapes3d.example("validation", 0)
    with pytest.raises(ValueError, match="0..199"):
        shapes3d.example("test", 200)


def test_volumetric_iou_on_hand_made_cases():
    truth = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]])
    pred = np.array([[0.9, 0.6, 0.4, 0.1],   # exact -> 1
                     [0.5, 0.5, 0.0, 0.0],   # threshold 0.5 counts as inside: 1 / 2
                     [0.1, 0.2, 0.3, 0.4],   # both empty -> 1
                     [0.0, 0.0, 0.0, 0.9]])  # 1 / 4
    np.testing.assert_allclose(binary_iou(pred >= 0.5, truth, axis=1), [1.0, 0.5, 1.0, 0.25])
    assert binary_iou(pred >= 0.5, truth) == pytest.approx(4 / 8)  # pooled over all points
    with pytest.raises(ValueError, match="same shape"):
        binary_iou(pred[0], truth)


def test_bad_inputs_get_clear_errors():
    model = _model()
    x, _ = sphere_batch(n=2)
    model(x)  # built, so that the bad call below fails in call() and not while building
    with pytest.raises(ValueError, match="'points'"):
        model({"cloud": x["cloud"]})
    with pytest.raises(ValueError, match="cloud has shape"):
        model.encode(x["cloud"][..., :2])
    with pytest.raises(ValueError, match="code has shape"):
        model.occupancy(x["points"], np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="labels"):
        model.compute_loss(x=x, y=None, y_pred=model(x))


def test_extract_mesh_at_the_occupancy_level():
    def ball(points):  # a smooth occupancy of the sphere of radius 0.3: 0.5 on the surface
        return tf.sigmoid(50.0 * (0.3 - tf.norm(points, axis=-1)))

    mesh = extract_mesh(ball, resolution=32, bounds=0.55, level=0.5)
    np.testing.assert_allclose(np.linalg.norm(mesh.vertices, axis=-1), 0.3, atol=0.01)
    with pytest.raises(ValueError, match="level 0.5"):
        extract_mesh(lambda p: np.zeros(len(p)), resolution=8, bounds=0.5, level=0.5)


def test_recipe_smoke_end_to_end(tmp_path):
    from mpkeras import cli, data

    info = data.info("shapes3d/small", data_dir=str(tmp_path / "tfds"))
    assert {k: v.num_examples for k, v in info.splits.items()} == shapes3d.SMALL_SIZES
    report = cli.load_recipe("occupancy_net").main(["--smoke", "--out", str(tmp_path), "--verbose", "0",
                                                    "--dataset", "shapes3d/small", "--data-dir", str(tmp_path / "tfds"),
                                                    "--batch-size", "8", "--num-meshes", "2", "--units", "16"])
    metrics = report["test"]
    assert 0.0 <= metrics["iou"] <= 1.0 and metrics["meshed_shapes"] + metrics["empty_meshes"] == 2
    assert (tmp_path / "runs" / "occupancy_net" / "metrics.json").exists()
    stored = next(data.load("shapes3d/small", "test", data_dir=str(tmp_path / "tfds"), as_supervised=False)
                  .as_numpy_iterator())
    np.testing.assert_array_equal(stored["occupancy"], shapes3d.example("test", 0)[0]["occupancy"])  # a prefix
