"""`mpkeras mesh`: marching cubes of an exported field, read from the SavedModel alone."""

import numpy as np
import pytest
import tensorflow as tf

import trimesh  # the 3-D extra, installed by the dev extra: a missing install fails here, it is not skipped

from mpkeras import cli
from mpkeras.export.mesh import mesh_savedmodel


class SphereFields(tf.Module):
    """Exact fields of a sphere of radius 0.5: an SDF, an occupancy, and an occupancy centred on a cloud's mean."""

    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32, name="points")])
    def sdf(self, points):
        return {"sdf": tf.norm(points, axis=-1) - 0.5}

    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32, name="points")])
    def density(self, points):
        return {"sigma": 20.0 * tf.cast(tf.norm(points, axis=-1) < 0.5, tf.float32)}


class CodedOccupancy(tf.Module):
    """occupancy_net's endpoint layout: encode(cloud) -> code (the cloud's mean); occupancy(points, code)."""

    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.float32, name="cloud")])
    def encode(self, cloud):
        return {"code": tf.reduce_mean(cloud, axis=1)}

    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.float32, name="points"),
                                  tf.TensorSpec((None, 3), tf.float32, name="code")])
    def occupancy(self, points, code):
        distance = tf.norm(points - code[:, None], axis=-1)
        return {"occupancy": tf.sigmoid(40.0 * (0.4 - distance))}


def _save(module, path, names):
    tf.saved_model.save(module, str(path), signatures={name: getattr(module, name) for name in names})
    return str(path)


def test_meshes_an_exported_sdf_and_writes_the_file_whole(tmp_path):
    path = _save(SphereFields(), tmp_path / "sdf", ["sdf", "density"])
    out = tmp_path / "meshes" / "sphere.ply"
    assert cli.main(["mesh", path, "--out", str(out), "--resolution", "48"]) == 0
    mesh = trimesh.load(out)
    np.testing.assert_allclose(np.linalg.norm(mesh.vertices, axis=-1), 0.5, atol=2e-3)
    assert mesh.is_watertight and mesh.volume > 0  # outward faces: a positive enclosed volume
    assert sorted(p.name for p in out.parent.iterdir()) == ["sphere.ply"]  # no partial file left
    with pytest.raises(ValueError, match="--level"):
        mesh_savedmodel(path, str(tmp_path / "d.obj"), endpoint="density")
    dense = mesh_savedmodel(path, str(tmp_path / "d.obj"), endpoint="density", level=10.0, resolution=32)
    assert dense.volume > 0 and np.all(np.linalg.norm(dense.vertices, axis=-1) < 0.5 + 2 / 31)


def test_meshes_a_coded_occupancy_from_a_point_cloud(tmp_path):
    path = _save(CodedOccupancy(), tmp_path / "onet", ["encode", "occupancy"])
    cloud = np.random.default_rng(0).normal(size=(256, 3)).astype(np.float32) * 0.05 + [0.2, 0.0, -0.1]
    np.save(tmp_path / "cloud.npy", cloud)
    with pytest.raises(ValueError, match="--cloud"):
        mesh_savedmodel(path, str(tmp_path / "x.ply"))
    assert cli.main(["mesh", path, "--out", str(tmp_path / "x.obj"), "--cloud", str(tmp_path / "cloud.npy"),
                     "--resolution", "48"]) == 0
    mesh = trimesh.load(tmp_path / "x.obj")
    radius = np.linalg.norm(mesh.vertices - cloud.mean(0), axis=-1)
    np.testing.assert_allclose(radius, 0.4, atol=5e-3)
    assert mesh.volume > 0  # inside-high occupancy is negated: the faces wind like an SDF's


def test_clear_errors_for_missing_models_fields_and_clouds(tmp_path):
    with pytest.raises(FileNotFoundError, match="No SavedModel"):
        mesh_savedmodel(str(tmp_path / "none"), str(tmp_path / "x.ply"))
    path = _save(CodedOccupancy(), tmp_path / "enc", ["encode"])
    with pytest.raises(ValueError, match=r"no field endpoint.*\['encode'\]"):
        mesh_savedmodel(path, str(tmp_path / "x.ply"))
    (tmp_path / "bad.xyz").write_text("0 0\n1 1\n")
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        cli.main(["mesh", path, "--out", str(tmp_path / "x.ply"), "--cloud", str(tmp_path / "bad.xyz")])
    assert not (tmp_path / "x.ply").exists()
