"""Image GANs (dcgan, cgan, wgan_gp on images): networks, pixel ranges, own-variable updates, the conditioning,
input errors, the FD-mnist5k references and the recipes' smoke runs."""

import json
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.models import CGAN, DCGAN, GAN, WGANGP
from mpkeras.models.dcgan import dcgan_discriminator


def _tiny(cls, **kwargs):
    keras.utils.set_random_seed(0)
    if cls is WGANGP:
        kwargs["architecture"] = "dcgan"
    model = cls(input_shape=(28, 28, 1), latent_dim=6, filters=(4, 8), seed=1, **kwargs)
    model.build_from_data(None)
    return model


def _layer_types(network):
    return [type(layer).__name__ for layer in network.layers]


@pytest.mark.parametrize("cls", [DCGAN, WGANGP, CGAN])
def test_generator_gives_images_in_unit_range_and_discriminator_sees_the_tanh_scale(cls):
    model = _tiny(cls)
    z = 10.0 * np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)  # large z: saturate the tanh
    out = model.generate(z, np.arange(5, dtype=np.int32)) if cls is CGAN else model.generate(z)
    images = np.asarray(out["samples"])
    assert images.shape == (5, 28, 28, 1)
    assert images.min() >= 0.0 and images.max() <= 1.0 and images.max() - images.min() > 0.1
    first = model.discriminator.layers[0]  # the [0, 1] -> [-1, 1] map in front of D's first conv
    np.testing.assert_allclose(np.asarray(first(tf.constant([0.0, 0.5, 1.0]))), [-1.0, 0.0, 1.0])


def test_dcgan_networks_follow_the_architecture_rules():
    model = _tiny(DCGAN)
    g, d = _layer_types(model.generator), _layer_types(model.discriminator)
    assert g.count("Conv2DTranspose") == 2 and g.count("Dense") == 1 and "BatchNormalization" in g
    assert d.count("Conv2D") == 2 and d.count("Dense") == 1 and "MaxPooling2D" not in d
    # batch norm in D, but not after its first conv
    assert d.count("BatchNormalization") == 1 and d.index("BatchNormalization") > d.index("Conv2D") + 1
    assert model.generator.layers[-2].activation is keras.activations.tanh
    critic = _layer_types(_tiny(WGANGP).discriminator)
    assert "BatchNormalization" not in critic and critic.count("Conv2D") == 2  # per-example critic for the penalty
    layer_norm = _layer_types(dcgan_discriminator((28, 28, 1), (4, 8), normalization="layer"))
    assert "LayerNormalization" in layer_norm


def _snapshot(variables):
    return [np.array(v) for v in variables]


def _changed(before, variables):
    return [not np.array_equal(b, np.array(v)) for b, v in zip(before, variables)]


@pytest.mark.parametrize("cls", [DCGAN, WGANGP, CGAN])
def test_each_update_changes_only_its_own_network(cls):
    model = _tiny(cls)
    model.compile(generator_optimizer=keras.optimizers.Adam(1e-2), discriminator_optimizer=keras.optimizers.Adam(1e-2))
    real = np.random.default_rng(0).uniform(size=(8, 28, 28, 1)).astype(np.float32)
    labels = np.arange(8, dtype=np.int32) % 10
    g_vars, d_vars = model.generator.trainable_variables, model.discriminator.trainable_variables
    assert g_vars and d_vars

    g_before, d_before = _snapshot(g_vars), _snapshot(d_vars)
    model.discriminator_step(real, labels) if cls is CGAN else model.discriminator_step(real)
    # all but the critic's output bias for WGAN-GP: E[C(G(z))] - E[C(x)] and the penalty do not depend on it
    assert sum(_changed(d_before, d_vars)) >= len(d_vars) - (cls is WGANGP), "the D update missed weights"
    assert not any(_changed(g_before, g_vars)), "the discriminator update changed generator weights"

    g_before, d_before = _snapshot(g_vars), _snapshot(d_vars)
    model.generator_step(labels) if cls is CGAN else model.generator_step(8)
    assert all(_changed(g_before, g_vars)), "the generator update missed weights"
    assert not any(_changed(d_before, d_vars)), "the generator update changed discriminator weights"


def test_cgan_label_changes_the_sample_for_the_same_z_and_sample_is_reproducible():
    model = _tiny(CGAN)
    z = np.random.default_rng(0).normal(size=(1, 6)).astype(np.float32)
    a = np.asarray(model.generate(z, np.array([3], np.int32))["samples"])
    b = np.asarray(model.generate(z, np.array([7], np.int32))["samples"])
    assert np.abs(a - b).max() > 1e-3
    labels = np.array([0, 1, 9], np.int32)
    first, second = model.sample(labels, np.array([1, 2], np.int32)), model.sample(labels, np.array([1, 2], np.int32))
    assert first["samples"].shape == (3, 28, 28, 1) and first["z"].shape == (3, 6)
    np.testing.assert_array_equal(first["samples"], second["samples"])


def test_bad_inputs_get_clear_errors():
    model = _tiny(CGAN)
    z = np.zeros((2, 6), np.float32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be class ids in \[0, 10\)"):
        model.generate(z, np.array([0, 10], np.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be class ids"):
        model.sample(np.array([-1], np.int32), np.array([1, 2], np.int32))
    with pytest.raises(ValueError, match=r"labels has shape \(2, 1\), expected \(batch, \)"):
        model.generate(z, np.zeros((2, 1), np.int32))
    with pytest.raises(TypeError, match="labels has dtype float32, expected int32"):
        model.discriminate(np.zeros((2, 28, 28, 1), np.float32), tf.zeros([2]))
    with pytest.raises(ValueError, match=r"takes \{'z'"):
        model(tf.zeros([2, 6]))
    with pytest.raises(ValueError, match="trains on \\(images, labels\\) pairs"):
        model.compute_loss(x=np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match=r"x has shape \(2, 28, 28\), expected \(batch, 28, 28, 1\)"):
        _tiny(DCGAN).discriminate(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match="divisible by 2\\*\\*len\\(filters\\) = 4"):
        DCGAN(input_shape=(30, 30, 1), filters=(4, 8))
    with pytest.raises(ValueError, match="Unknown architecture"):
        GAN(architecture="resnet")
    with pytest.raises(ValueError, match="Unknown discriminator_normalization"):
        DCGAN(discriminator_normalization="group")


def test_dcgan_reads_real_images_from_x_or_from_the_targets():
    model = _tiny(DCGAN)
    images = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype(np.float32)
    z = np.zeros((4, 6), np.float32)
    for data in (images, (images,), (images, np.arange(4)), (z, images)):
        np.testing.assert_array_equal(np.asarray(model._real(data)), images)


# --- Recipes ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lenet_path(tmp_path_factory):
    """A tiny LeNet trained for 2 epochs on 2,000 mnist5k train images (a few seconds): a real feature space."""
    from mpkeras.data import load, to_float
    from mpkeras.models import LeNet

    keras.utils.set_random_seed(0)
    ds = load("mnist5k", "train").take(2000).map(lambda x, y: (to_float(x), y)).batch(100)
    model = LeNet(filters=(4, 8), units=(24, 16), input_shape=(28, 28, 1), num_classes=10, input_mean=0.13,
                  input_std=0.31)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(ds, epochs=2, verbose=0).history
    assert history["accuracy"][-1] > 0.5  # it learnt something, so its features tell digits from blobs
    path = str(tmp_path_factory.mktemp("clf") / "lenet.keras")
    model.save(path)
    return path


def _smoke(name, flags, lenet_path, out):
    from mpkeras import cli

    return cli.load_recipe(name).main(["--smoke", "--out", str(out), "--verbose", "0", "--classifier", lenet_path,
                                       "--filters", "4,8", "--latent-dim", "8", *flags])


def _check_image_report(report, out, name):
    test = report["test"]
    assert test["num_samples"] == 200 and np.isfinite(test["test_d_loss"])
    for key in ("fd_mnist5k", "fd_mnist5k_untrained", "fd_mnist5k_train_floor"):
        assert np.isfinite(test[key]) and test[key] >= -1e-6, key
    # the references come out ordered: 1,000 real train digits are far closer to the test digits than the
    # untrained generator's samples
    assert test["fd_mnist5k_train_floor"] < 0.2 * test["fd_mnist5k_untrained"]
    assert 1.0 <= test["classifier_score"] <= 10.0
    assert test["classifier_score_test"] > test["classifier_score_untrained"]
    figures = out / "runs" / name / "figures"
    for png in ("samples.png", "training.png", "training/epoch_000.png", "training/epoch_002.png"):
        assert (figures / png).exists(), png
    return test


def test_dcgan_recipe_smoke(lenet_path, tmp_path):
    report = _smoke("dcgan", ["--no-export"], lenet_path, tmp_path)
    _check_image_report(report, tmp_path, "dcgan")
    assert report["history"]["g_loss"][0] != 0.0


def test_cgan_recipe_smoke_reports_label_accuracy_and_exports(lenet_path, tmp_path):
    report = _smoke("cgan", [], lenet_path, tmp_path)
    test = _check_image_report(report, tmp_path, "cgan")
    assert 0.0 <= test["label_accuracy"] <= 1.0 and test["label_accuracy_test"] > 0.5
    assert (tmp_path / "exported" / "cgan" / "1" / "saved_model.pb").exists()


def test_wgan_gp_recipe_on_images_uses_the_conv_networks_and_image_defaults(lenet_path, tmp_path):
    report = _smoke("wgan_gp", ["--dataset", "mnist5k", "--discriminator-steps", "2", "--no-export"], lenet_path,
                    tmp_path)
    _check_image_report(report, tmp_path, "wgan_gp")
    assert report["args"]["batch_size"] == 64 and report["args"]["learning_rate"] == 5e-4  # the image defaults
    with zipfile.ZipFile(tmp_path / "runs" / "wgan_gp" / "model.keras") as archive:
        config = json.loads(archive.read("config.json"))["config"]
    assert config["architecture"] == "dcgan" and list(config["input_shape"]) == [28, 28, 1]


def test_wgan_gp_flags_keep_ring8_defaults_and_given_values():
    from mpkeras import cli

    recipe = cli.load_recipe("wgan_gp")
    args = recipe.parse_args([])
    assert (args.epochs, args.batch_size, args.learning_rate, args.latent_dim) == (80, 256, 1e-3, 8)  # ring8
    args = recipe.parse_args(["--dataset", "mnist5k", "--epochs", "3"])
    assert (args.epochs, args.batch_size) == (3, 64)  # the given flag is kept, the other takes the image default


# --- Data shapes and feature spaces -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_networks_build_from_the_data_shape(shape):
    keras.utils.set_random_seed(0)
    model = DCGAN(input_shape=shape, latent_dim=4, filters=(4, 8))
    model.build_from_data(None)
    assert model.generator.output_shape[1:] == shape and model.discriminator.input_shape[1:] == shape
    assert np.asarray(model.sample(2, np.array([0, 1], np.int32))["samples"]).shape == (2, *shape)


def test_filters_the_image_size_cannot_take_are_refused_naming_the_fix():
    import argparse

    from mpkeras.errors import UsageError
    from mpkeras.train import gan_images
    from mpkeras.train.recipe import Data

    with pytest.raises(ValueError, match="28x28 images allow at most 2 entries in filters"):
        DCGAN(input_shape=(28, 28, 1), filters=(4, 8, 16))
    args = argparse.Namespace(dataset="mnist", filters=(4, 8, 16), latent_dim=4, discriminator_steps=1, seed=0)
    data = Data(None, None, None, {}, extras={"test_images": np.zeros((2, 28, 28, 1), np.float32)})
    with pytest.raises(UsageError, match="--filters 4,8,16: .* the mnist images are 28x28x1; give at most 2 widths"):
        gan_images.model_kwargs(args, data)
    data.extras["test_images"] = np.zeros((2, 64, 64, 3), np.float32)
    assert gan_images.model_kwargs(args, data)["input_shape"] == (64, 64, 3)  # 64 = 2**6: three stride-2 layers fit


def test_feature_space_fits_the_data():
    from mpkeras.train.gan_images import feature_space

    assert [feature_space(d) for d in ("mnist5k", "mnist", "fashion_mnist", "cifar10", "celeb_a")] == [
        "mnist5k", "mnist5k", "fashion_mnist", "cifar10", "random_conv"]


def test_random_conv_features_are_fixed_by_their_seed_whatever_the_global_seed():
    from mpkeras.metrics import RandomConvFeatures

    x = np.random.default_rng(0).uniform(size=(3, 64, 64, 3)).astype(np.float32)
    keras.utils.set_random_seed(1)
    a = RandomConvFeatures((64, 64, 3)).features(x)
    keras.utils.set_random_seed(2)
    b = RandomConvFeatures((64, 64, 3)).features(x)
    assert a.shape == (3, 32 + 64 + 128 + 256) and np.isfinite(a).all() and a.std() > 0
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - RandomConvFeatures((64, 64, 3), seed=1).features(x)).max() > 1e-3
    with pytest.raises(ValueError, match=r"built for \(64, 64, 3\)"):
        RandomConvFeatures((64, 64, 3)).features(np.zeros((2, 32, 32, 3), np.float32))


def _colour_run(shape, dataset, num_classes, seed=0):
    """A tiny untrained DCGAN and Data of random colour images, as a recipe's evaluate sees them."""
    import argparse

    from mpkeras.train import gan_images
    from mpkeras.train.recipe import Data

    rng = np.random.default_rng(seed)
    images = rng.uniform(size=(40, *shape)).astype(np.float32)
    labels = (np.arange(40) % 10).astype(np.int32) if num_classes else np.full(40, -1, np.int32)
    args = argparse.Namespace(dataset=dataset, filters=(4, 8), latent_dim=4, discriminator_steps=1, seed=0, smoke=True,
                              classifier=None, data_dir=None)
    test = tf.data.Dataset.from_tensor_slices(images).batch(8)
    data = Data(None, None, test, {}, extras={"test_images": images[:20], "test_labels": labels[:20],
                                              "train_images": images[20:], "train_labels": labels[20:],
                                              "num_classes": num_classes})

    def make_model(args, data):
        return DCGAN(**gan_images.model_kwargs(args, data))

    keras.utils.set_random_seed(0)
    model = make_model(args, data)
    model.build_from_data(None)
    model.compile()
    return model, data, args, make_model


def test_colour_data_is_scored_in_its_own_feature_space_and_titled_by_its_name(tmp_path, monkeypatch):
    from mpkeras.train import figures as figs
    from mpkeras.train import gan_images

    model, data, args, make_model = _colour_run((64, 64, 3), "celeb_a", None)
    metrics = gan_images.evaluate(model, data, args, make_model)
    assert set(metrics) == {"fd_random_conv", "fd_random_conv_untrained", "fd_random_conv_train_floor", "num_samples",
                            "test_d_loss"}  # no classifier, so no classifier score; nothing says mnist5k
    model, data, args, make_model = _colour_run((32, 32, 3), "cifar10", 10)
    metrics = gan_images.evaluate(model, data, args, make_model)
    assert {"fd_cifar10", "fd_cifar10_untrained", "fd_cifar10_train_floor", "classifier_score"} <= set(metrics)
    assert not any("mnist5k" in key for key in metrics)
    titles = []
    monkeypatch.setattr(figs, "image_grid", lambda images, path, title=None, **kw: titles.append(title) or path)
    gan_images.figures(model, data, args, str(tmp_path))
    assert "cifar10 test images" in titles and not any("mnist5k" in t for t in titles)


def test_a_classifier_of_other_images_is_refused(lenet_path):
    from mpkeras.errors import UsageError
    from mpkeras.train import gan_images

    model, data, args, make_model = _colour_run((32, 32, 3), "cifar10", 10)
    args.classifier = lenet_path  # an mnist5k LeNet: (28, 28, 1)
    with pytest.raises(UsageError, match=r"takes \(28, 28, 1\) images, and the cifar10 images are \(32, 32, 3\)"):
        gan_images.evaluate(model, data, args, make_model)
