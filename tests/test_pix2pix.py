"""pix2pix: the mnist5k_inpaint pairs, PatchGAN's grid and receptive field, the losses by hand, own-variable
updates, gan_weight 0 as plain L1 training of the same U-Net, input errors and the recipe's smoke run."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from mpkeras import data
from mpkeras.data.embedded import Mnist5k, Mnist5kInpaint, _stratified_split
from mpkeras.models import Pix2Pix
from mpkeras.models.pix2pix import UNetGenerator, patch_receptive_field

SMALL = dict(input_shape=(28, 28, 1), filters=(4, 8, 8), convs_per_block=1, dropout=0.0,
             discriminator_filters=(8, 8), seed=1)


@pytest.fixture(scope="module")
def inpaint_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("tfds_inpaint"))
    data.info("mnist5k_inpaint", data_dir=path)
    return path


def _model(**kwargs):
    keras.utils.set_random_seed(0)
    model = Pix2Pix(**{**SMALL, **kwargs})
    model(tf.zeros([1, 28, 28, 1]))
    return model


def _batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=(n, 28, 28, 1)) < 0.2).astype(np.float32)
    x = y.copy()
    x[:, 8:22, 8:22] = 0.5
    return x, y


def test_inpaint_pairs_are_mnist5k_digits_with_their_seeded_square(inpaint_dir):
    digits, labels = Mnist5k._arrays()
    test_rows = _stratified_split(labels, Mnist5k.TEST_SIZE)["test"]
    row_of = {digits[r].tobytes(): r for r in test_rows}
    examples = list(data.load("mnist5k_inpaint", "test", data_dir=inpaint_dir, as_supervised=False).as_numpy_iterator())
    assert len(examples) == 1000
    for e in examples:
        row = row_of[e["target"][..., 0].tobytes()]  # the target is an untouched mnist5k test digit ...
        assert e["label"] == labels[row]
        np.testing.assert_array_equal(e["box"], Mnist5kInpaint.box(row))  # ... with the square its row seeds
        top, left, height, width = e["box"]
        assert 4 <= top <= 10 and 4 <= left <= 10 and height == width == 14
        hole = np.zeros((28, 28, 1), bool)
        hole[top:top + height, left:left + width] = True
        assert np.all(e["input"][hole] == 128) and np.array_equal(e["input"][~hole], e["target"][~hole])
    assert len({int(e["box"][0]) * 100 + int(e["box"][1]) for e in examples}) == 49  # every position is used
    np.testing.assert_array_equal(Mnist5kInpaint.box(17), Mnist5kInpaint.box(17))
    x, y = next(iter(data.load("mnist5k_inpaint", "train", data_dir=inpaint_dir)))  # supervised keys
    assert x.shape == y.shape == (28, 28, 1) and x.dtype == tf.uint8


def test_unknown_dataset_names_still_list_the_embedded_sets():
    with pytest.raises(data.UnknownDatasetError, match="mnist5k_inpaint"):
        data.load("mnist5k_inpaintt", "train")


def test_patchgan_gives_a_7x7_grid_of_18x18_patches():
    model = _model(discriminator_filters=(8, 8))
    assert model.receptive_field == patch_receptive_field(2) == 18
    x, y = _batch(3)
    assert model.discriminate(x, y)["logits"].shape == (3, 7, 7)
    pair = tf.Variable(np.concatenate([x, y], -1)[:1])
    with tf.GradientTape() as tape:
        logit = model.discriminator(pair)[0, 3, 3, 0]  # a central patch
    seen = np.argwhere(np.abs(tape.gradient(logit, pair).numpy()[0]).sum(-1) > 0)  # (pixels, 2)
    assert tuple(seen.max(0) - seen.min(0) + 1) == (18, 18)
    assert _model(discriminator_filters=(8,)).discriminate(x, y)["logits"].shape == (3, 14, 14)


def test_losses_match_a_hand_computation():
    model = _model(l1_weight=7.0, gan_weight=0.3)
    x, y = _batch(4)
    fake = np.clip(y + np.random.default_rng(1).normal(0, 0.3, y.shape), 0, 1).astype(np.float32)
    real_l, fake_l = (model.discriminate(x, t)["logits"].numpy().astype(np.float64) for t in (y, fake))

    def softplus(v):
        return np.log1p(np.exp(v))

    g_loss, adversarial, l1 = model.generator_losses(x, y, fake, training=False)
    np.testing.assert_allclose(l1, np.abs(y - fake).mean(), rtol=1e-5)
    np.testing.assert_allclose(adversarial, softplus(-fake_l).mean(), rtol=1e-5)  # -log D(x, G(x))
    np.testing.assert_allclose(g_loss, 0.3 * softplus(-fake_l).mean() + 7.0 * np.abs(y - fake).mean(), rtol=1e-5)
    d_loss = model.discriminator_loss(x, y, fake)
    np.testing.assert_allclose(d_loss, 0.5 * (softplus(-real_l).mean() + softplus(fake_l).mean()), rtol=1e-5)


def _snapshot(variables):
    return [np.array(v) for v in variables]


def _changed(before, variables):
    return [not np.array_equal(b, np.array(v)) for b, v in zip(before, variables)]


def test_each_update_changes_only_its_own_network():
    model = _model()
    model.compile(generator_optimizer=keras.optimizers.Adam(1e-2), discriminator_optimizer=keras.optimizers.Adam(1e-2))
    x, y = (tf.constant(a) for a in _batch())
    g_vars, d_vars = model.generator.trainable_variables, model.discriminator.trainable_variables
    g_before, d_before = _snapshot(g_vars), _snapshot(d_vars)
    model.discriminator_step(x, y)
    assert all(_changed(d_before, d_vars)), "the discriminator update missed weights"
    assert not any(_changed(g_before, g_vars)), "the discriminator update changed generator weights"
    g_before, d_before = _snapshot(g_vars), _snapshot(d_vars)
    model.generator_step(x, y)
    assert all(_changed(g_before, g_vars)), "the generator update missed weights"
    assert not any(_changed(d_before, d_vars)), "the generator update changed discriminator weights"


class _ClippedUNet(keras.Model):
    """The same U-Net, clipped to [0, 1], as a plain Keras model trained with compile(loss="mae")."""

    def __init__(self, generator):
        super().__init__(name="clipped_unet")
        self.generator = generator

    def call(self, x, training=False):
        return ops.clip(self.generator(x, training=training), 0.0, 1.0)


def test_gan_weight_zero_is_the_same_unet_trained_with_l1_alone():
    x, y = _batch(16)
    model = _model(gan_weight=0.0, l1_weight=1.0)
    d_before = _snapshot(model.discriminator.trainable_variables)
    baseline = _ClippedUNet(UNetGenerator(input_shape=(28, 28, 1), num_classes=1, filters=(4, 8, 8),
                                          convs_per_block=1))
    baseline(x[:1])
    baseline.generator.set_weights(model.generator.get_weights())
    model.compile(generator_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5))
    baseline.compile(optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5), loss="mae")
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False).history
    base_history = baseline.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False).history
    np.testing.assert_allclose(history["l1"], base_history["loss"], rtol=1e-4)
    for a, b in zip(model.generator.get_weights(), baseline.generator.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert not any(_changed(d_before, model.discriminator.trainable_variables)), "D trained with gan_weight 0"
    # and with gan_weight > 0 the discriminator term does change G's gradient
    with_gan = _model(gan_weight=1.0, l1_weight=1.0)
    g_vars = with_gan.generator.trainable_variables
    grads = []
    for weight in (0.0, 1.0):
        with_gan.gan_weight = weight
        with tf.GradientTape() as tape:
            loss = with_gan.generator_losses(x, y, with_gan(x, training=True))[0]
        grads.append(tape.gradient(loss, g_vars)[0].numpy())
    assert not np.allclose(grads[0], grads[1])


def test_bad_inputs_get_clear_errors():
    model = _model()
    with pytest.raises(ValueError, match=r"expected \(batch, 28, 28, 1\)"):
        model.translate(np.zeros((2, 28, 28, 3), np.float32))
    with pytest.raises(TypeError, match="float32"):
        model.translate(tf.zeros((2, 28, 28, 1), tf.uint8))
    with pytest.raises(ValueError, match="outputs has shape"):
        model.discriminate(np.zeros((2, 28, 28, 1), np.float32), np.zeros((2, 14, 14, 1), np.float32))
    with pytest.raises(ValueError, match="gan_weight must be >= 0"):
        Pix2Pix(gan_weight=-1.0)
    with pytest.raises(ValueError, match="needs targets"):
        model.compute_loss(x=np.zeros((2, 28, 28, 1), np.float32))
    out = model.translate(_batch(2)[0])["outputs"].numpy()
    assert out.shape == (2, 28, 28, 1) and out.min() >= 0.0 and out.max() <= 1.0


def test_recipe_smoke_end_to_end(inpaint_dir, tmp_path):
    # (--gan-weight 0 runs the same code without the D update: test_gan_weight_zero_... covers it)
    from mpkeras import cli
    from mpkeras.models import LeNet

    classifier = str(tmp_path / "lenet.keras")
    lenet = LeNet(input_shape=(28, 28, 1))
    lenet(np.zeros((1, 28, 28, 1), np.float32))
    lenet.save(classifier)  # untrained: FD-mnist5k only needs its features
    report = cli.load_recipe("pix2pix").main([
        "--smoke", "--out", str(tmp_path), "--data-dir", inpaint_dir, "--verbose", "0", "--classifier", classifier,
        "--filters", "4,8,8", "--discriminator-filters", "8,8", "--gan-weight", "1"])
    test = report["test"]
    assert test["num_test"] == 1000 and 0.0 <= test["test_l1"] <= 1.0 and np.isfinite(test["test_fd_mnist5k"])
    assert 0.0 < test["input_l1"] < test["input_l1_hole"]  # the square holds all of the input's error
    assert test["input_midtone_hole"] == 1.0 and 0.0 < test["target_midtone_hole"] < 0.5  # flat gray vs strokes
    assert report["history"]["d_loss"][0] > 0.0 and report["history"]["l1"][0] > 0.0  # trackers report via fit
    assert (tmp_path / "runs" / "pix2pix" / "figures" / "panels.png").exists()
    assert (tmp_path / "exported" / "pix2pix" / "1" / "saved_model.pb").exists()
