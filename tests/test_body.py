"""Body models: Rodrigues, rigid transforms and LBS invariants, the generated SMPL-format file, loading errors,
fitting, and the recipe's smoke run."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.spatial.transform import Rotation

from mpkeras.data.body_model import PARENTS, generate_body_model, rest_joints, write_body_model
from mpkeras.models.body import SMPL, lbs, load_body_model, rigid_transforms, rodrigues, sample_bodies


@pytest.fixture(scope="module")
def body():
    return SMPL(fit_steps=10)


def test_rodrigues_is_a_rotation_and_matches_scipy():
    r = np.random.default_rng(0).normal(size=(50, 3)) * 1.5
    r[0] = 0.0  # the zero rotation is safe
    r[1] = 1e-5
    R = rodrigues(tf.constant(r, tf.float64)).numpy()
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-10)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-10)
    np.testing.assert_allclose(R, Rotation.from_rotvec(r).as_matrix(), atol=1e-10)
    x = tf.zeros([2, 3])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(rodrigues(x) * tf.random.normal([2, 3, 3], seed=1))
    assert np.all(np.isfinite(tape.gradient(y, x).numpy()))


def test_generated_file_has_smpl_keys_shapes_and_weights_summing_to_one(tmp_path):
    arrays = load_body_model(write_body_model(str(tmp_path / "body.npz")))
    v = arrays["v_template"].shape[0]
    assert 200 <= v <= 1000
    expected = {"v_template": (v, 3), "shapedirs": (v, 3, 10), "posedirs": (v, 3, 207), "J_regressor": (24, v),
                "weights": (v, 24), "kintree_table": (2, 24)}
    assert {k: arrays[k].shape for k in expected} == expected
    assert arrays["kintree_table"][0, 0] == 4294967295 and arrays["f"].shape[1] == 3
    np.testing.assert_allclose(arrays["weights"].sum(1), 1.0, atol=1e-12)
    assert arrays["weights"].min() >= 0
    np.testing.assert_allclose(arrays["J_regressor"] @ arrays["v_template"], rest_joints(), atol=1e-12)
    assert np.array_equal(generate_body_model()["posedirs"], arrays["posedirs"])  # deterministic


def test_zero_pose_returns_the_shaped_template(body):
    betas = np.random.default_rng(1).normal(size=(3, 10)).astype(np.float32)
    out = body.forward(betas, np.zeros((3, 72), np.float32))
    shaped = body.v_template.numpy() + np.einsum("vcb,nb->nvc", body.shapedirs.numpy(), betas)
    np.testing.assert_allclose(out["vertices"].numpy(), shaped, atol=1e-5)
    np.testing.assert_allclose(out["joints"].numpy(), np.einsum("kv,nvc->nkc", body.j_regressor.numpy(), shaped),
                               atol=1e-5)


def test_elbow_bend_rotates_the_forearm(tmp_path):
    arrays = generate_body_model()
    joints = rest_joints()
    rotvec = np.zeros((1, 24, 3))
    rotvec[0, 18] = (0.0, 0.0, np.pi / 2)  # left elbow, 90 degrees about z
    G = rigid_transforms(rodrigues(tf.constant(rotvec)), tf.constant(joints[None]), PARENTS)
    posed = lbs(tf.constant(arrays["v_template"][None]), tf.constant(arrays["weights"]), G).numpy()[0]
    forearm = arrays["weights"][:, 18] == 1.0
    assert forearm.sum() >= 6
    R = Rotation.from_rotvec(rotvec[0, 18]).as_matrix()
    expected = (arrays["v_template"][forearm] - joints[18]) @ R.T + joints[18]
    np.testing.assert_allclose(posed[forearm], expected, atol=1e-9)
    assert np.all(posed[forearm, 1] > joints[18, 1] - 1e-9)  # the forearm now points up
    untouched = arrays["weights"][:, [18, 20, 22]].sum(1) == 0.0  # no weight on the elbow or its descendants
    np.testing.assert_allclose(posed[untouched], arrays["v_template"][untouched], atol=1e-9)
    # The SMPL layer gives the same with its pose correctives zeroed, loaded from a file.
    path = str(tmp_path / "no_correctives.npz")
    np.savez(path, **{**arrays, "posedirs": np.zeros_like(arrays["posedirs"])})
    out = SMPL(model_path=path).forward(np.zeros((1, 10), np.float32), rotvec.reshape(1, 72).astype(np.float32))
    np.testing.assert_allclose(out["vertices"].numpy()[0], posed, atol=1e-5)


def test_loading_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        SMPL(model_path=str(tmp_path / "SMPL_NEUTRAL.npz"))
    arrays = generate_body_model()
    missing = str(tmp_path / "missing.npz")
    np.savez(missing, **{k: v for k, v in arrays.items() if k != "J_regressor"})
    with pytest.raises(KeyError, match="J_regressor"):
        load_body_model(missing)
    wrong = str(tmp_path / "wrong.npz")
    np.savez(wrong, **{**arrays, "posedirs": arrays["posedirs"][..., :200]})
    with pytest.raises(ValueError, match=r"'posedirs' has shape \(672, 3, 200\), expected \(672, 3, 207\)"):
        load_body_model(wrong)
    pkl = tmp_path / "model.pkl"
    pkl.write_bytes(b"not read")
    with pytest.raises(ValueError, match="allow_pickle=True"):
        load_body_model(str(pkl))
    import pickle

    pkl.write_bytes(pickle.dumps(arrays))  # with the opt-in, a published-style pickle loads
    np.testing.assert_array_equal(load_body_model(str(pkl), allow_pickle=True)["weights"], arrays["weights"])


def test_a_mano_format_hand_loads_with_its_own_sizes(tmp_path):
    """16 joints, 15 x 9 = 135 pose-corrective columns: sizes come from the key shapes."""
    arrays = generate_body_model()
    keep = [0, 3, 6, 9, 13, 16, 18, 20, 22, 14, 17, 19, 21, 23, 12, 15]  # a 16-joint subtree, parents first
    remap = {k: i for i, k in enumerate(keep)}
    parents = [remap[PARENTS[k]] if k else -1 for k in keep]
    weights = arrays["weights"][:, keep]
    verts = weights.sum(1) > 0.999  # vertices skinned only to kept joints
    vid = np.flatnonzero(verts)
    faces = arrays["f"][np.all(np.isin(arrays["f"], vid), 1)]
    hand = {"v_template": arrays["v_template"][verts], "shapedirs": arrays["shapedirs"][verts],
            "posedirs": np.zeros((len(vid), 3, 135)), "J_regressor": np.eye(len(vid))[:16],
            "weights": weights[verts], "kintree_table": np.stack([parents, np.arange(16)]),
            "f": np.searchsorted(vid, faces)}
    path = str(tmp_path / "hand.npz")
    np.savez(path, **hand)
    model = SMPL(model_path=path, num_betas=10)
    assert (model.num_joints, model.pose_dim) == (16, 48)
    out = model.forward(np.zeros((2, 10), np.float32), np.zeros((2, 48), np.float32))
    assert out["joints"].shape == (2, 16, 3) and out["vertices"].shape == (2, len(vid), 3)


def test_fitting_reduces_joint_error(body):
    targets = sample_bodies(body, 16, seed=5)["joints"]
    start = np.linalg.norm(body.posed_joints(tf.zeros([16, 10]), tf.zeros([16, 72])) - targets, axis=-1).mean()
    fit = body.fit_joints(targets)
    assert fit["error"].numpy().mean() < 0.6 * start
    assert fit["betas"].shape == (16, 10) and fit["pose"].shape == (16, 72)


def test_recipe_smoke_end_to_end(tmp_path):
    from mpkeras import cli

    report = cli.load_recipe("smpl").main(["--smoke", "--out", str(tmp_path), "--verbose", "0", "--fit-steps", "3",
                                           "--hidden-units", "16", "--batch-size", "32"])
    test = report["test"]
    assert np.isfinite(test["learned_gd_joint_error_mm"]) and np.isfinite(test["plain_gd_joint_error_mm"])
    assert (tmp_path / "runs" / "smpl" / "figures" / "fitting.png").exists()
    assert (tmp_path / "exported" / "smpl" / "1" / "saved_model.pb").exists()


def test_lbs_weights_sum_to_one_and_true_weights_reproduce_plain_skinning():
    from mpkeras.models.body import LBS

    model = LBS()
    arrays = generate_body_model()
    model.weight_logits.assign(np.log(np.maximum(arrays["weights"], 1e-12)).astype(np.float32))
    np.testing.assert_allclose(model.skinning_weights().numpy().sum(1), 1.0, atol=1e-5)
    pose = (np.random.default_rng(2).normal(size=(2, 72)) * 0.3).astype(np.float32)
    G = rigid_transforms(rodrigues(tf.constant(pose.reshape(2, 24, 3))), tf.constant(np.repeat(
        rest_joints()[None], 2, 0), tf.float32), PARENTS)
    expected = lbs(tf.constant(np.repeat(arrays["v_template"][None], 2, 0), tf.float32),
                   tf.constant(arrays["weights"], tf.float32), G).numpy()
    np.testing.assert_allclose(model.skin(pose)["vertices"].numpy(), expected, atol=1e-4)


def test_lbs_recipe_smoke_end_to_end(tmp_path):
    from mpkeras import cli

    report = cli.load_recipe("lbs").main(["--smoke", "--out", str(tmp_path), "--verbose", "0", "--batch-size", "32"])
    test = report["test"]
    assert test["test_vertex_error_mm"] < test["uniform_weights_vertex_error_mm"]
    assert test["weight_rows_sum_max_deviation"] < 1e-5
    assert (tmp_path / "runs" / "lbs" / "figures" / "lbs.png").exists()
    assert (tmp_path / "exported" / "lbs" / "1" / "saved_model.pb").exists()
