"""The CNN zoo and the regularization toolkit: sizes, auxiliary heads, batch norm, dropout,
augmentation, early stopping with retraining, bad input."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras import cli
from mpkeras.models import VGG, AlexNet, GoogLeNet, LeNet, ResNet, ResNet18, ResNet34, resnet
from mpkeras.testing.fixtures_vision import _images


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


@pytest.mark.parametrize(
    "make,shape,expected",
    [
        # The paper figures (ResNet: the torchvision reference counts, BN moving statistics excluded).
        (lambda: LeNet(input_shape=(32, 32, 1), c1_padding="valid"), (32, 32, 1), 61_706),
        (lambda: LeNet(input_shape=(28, 28, 1)), (28, 28, 1), 61_706),
        (lambda: AlexNet(input_shape=(224, 224, 3), num_classes=1000), (224, 224, 3), 62_378_344),
        (lambda: VGG(depth=16, input_shape=(224, 224, 3), num_classes=1000), (224, 224, 3), 138_357_544),
        (lambda: resnet(18, input_shape=(224, 224, 3), num_classes=1000), (224, 224, 3), 11_689_512),
        (lambda: resnet(34, input_shape=(224, 224, 3), num_classes=1000), (224, 224, 3), 21_797_672),
        (lambda: GoogLeNet(input_shape=(224, 224, 3), num_classes=1000, aux_classifiers=False), (224, 224, 3),
         6_998_552),
    ],
)
def test_parameter_counts_match_the_papers(make, shape, expected):
    model = make()
    model.build((None, *shape))
    assert _trainable(model) == expected


def test_every_zoo_model_maps_224_and_28_pixel_images_to_class_logits():
    for model, shape in [
        (AlexNet(input_shape=(224, 224, 3), num_classes=5, width=0.1, fc_units=8), (224, 224, 3)),
        (AlexNet(input_shape=(28, 28, 1), stem="small", width=0.1, fc_units=8, num_classes=5), (28, 28, 1)),
        (GoogLeNet(input_shape=(224, 224, 3), num_classes=5, width=0.05), (224, 224, 3)),
        (GoogLeNet(input_shape=(32, 32, 3), stem="small", num_classes=5, width=0.05), (32, 32, 3)),
        (VGG(depth=11, input_shape=(28, 28, 1), width=0.05, fc_units=8, num_classes=5), (28, 28, 1)),
        (ResNet18(input_shape=(224, 224, 3), width=4, num_classes=5), (224, 224, 3)),
        (ResNet34(input_shape=(32, 32, 3), width=4, stem="small", num_classes=5), (32, 32, 3)),
    ]:
        out = model(np.zeros((2, *shape), np.float32))
        assert out.shape == (2, 5), type(model).__name__


def test_resnet_family_constructor():
    assert type(resnet(18)) is ResNet18 and type(resnet(34)) is ResNet34
    assert resnet(34).stage_blocks == (3, 4, 6, 3)
    with pytest.raises(ValueError, match="18 or 34"):
        resnet(50)
    # A residual block adds its input back: with the residual branch's last BN scaled to zero,
    # an identity block is relu(x) -- the shortcut path alone.
    model = ResNet(stage_blocks=(1, 1, 1, 1), width=4, stem="small", input_shape=(8, 8, 1), num_classes=2)
    model.build((None, 8, 8, 1))
    block = model.blocks[0]
    block.bn2.gamma.assign(tf.zeros_like(block.bn2.gamma))
    block.bn2.beta.assign(tf.zeros_like(block.bn2.beta))
    x = tf.random.normal((2, 8, 8, 4), seed=0)
    np.testing.assert_allclose(block(x, training=False), tf.nn.relu(x), atol=1e-6)


def _googlenet(**kwargs):
    keras.utils.set_random_seed(0)
    model = GoogLeNet(input_shape=(16, 16, 1), num_classes=3, stem="small", width=0.05, seed=0, **kwargs)
    model.build((None, 16, 16, 1))  # builds the training-only heads too
    model.compile()
    return model


def test_googlenet_adds_weighted_auxiliary_losses_in_training_only():
    x, y = _images(8, (16, 16, 1), 3)
    model = _googlenet(aux_weight=0.3, dropout=0.0)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    logits = model(x, training=True)
    aux = model._aux_logits
    assert len(aux) == 2 and all(a.shape == (8, 3) for a in aux)
    expected = ce(y, logits) + 0.3 * (ce(y, aux[0]) + ce(y, aux[1]))
    np.testing.assert_allclose(model.compute_loss(x, y, logits, training=True), expected, rtol=1e-5)
    # Inference computes no auxiliary head, and the loss is the main head's alone.
    logits = model(x, training=False)
    assert model._aux_logits == ()
    np.testing.assert_allclose(model.compute_loss(x, y, logits, training=False), ce(y, logits), rtol=1e-5)


def test_googlenet_auxiliary_heads_train_but_do_not_serve():
    x, y = _images(8, (16, 16, 1), 3)
    model = _googlenet()
    aux_weights = [w for name in model.aux for w in model.aux[name].weights]
    assert aux_weights and all(w.path.split("/")[1].startswith("aux_") for w in aux_weights)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x, y, model(x, training=True), training=True)
    grads = tape.gradient(loss, model.aux["4a"].trainable_weights)
    assert all(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)
    served = model.predict_outputs(x)
    for w in aux_weights:  # change every auxiliary weight: the served outputs do not move
        w.assign(w + 1.0)
    np.testing.assert_array_equal(model.predict_outputs(x)["probabilities"], served["probabilities"])
    without = _googlenet(aux_classifiers=False)
    assert not without.aux and _trainable(without) < _trainable(model)


def test_batch_norm_uses_batch_statistics_in_training_and_moving_ones_at_inference():
    keras.utils.set_random_seed(0)
    model = ResNet(stage_blocks=(1, 1, 1, 1), input_shape=(8, 8, 1), width=4, stem="small", num_classes=3)
    x = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype(np.float32)
    other = np.concatenate([x[:1], 5 * x[1:] + 1])  # same first image, different batch-mates
    # Inference: each image is normalized with fixed statistics, so its output ignores the batch.
    np.testing.assert_allclose(model(x, training=False)[0], model(other, training=False)[0], rtol=1e-5, atol=1e-6)
    # Training: batch statistics, so the batch-mates change the first image's output.
    assert not np.allclose(model(x, training=True)[0], model(other, training=True)[0], atol=1e-4)
    # Moving statistics move only in training steps.
    moving = model.stem_bn.moving_mean
    before = moving.numpy().copy()
    model(other, training=False)
    np.testing.assert_array_equal(moving.numpy(), before)
    model.compile(optimizer="adam")
    model.train_on_batch(other, np.zeros(4, np.int64))
    assert not np.allclose(moving.numpy(), before)


def test_dropout_is_random_in_training_and_off_at_inference():
    keras.utils.set_random_seed(0)
    model = VGG(depth=11, input_shape=(8, 8, 1), width=0.1, fc_units=32, dropout=0.5, num_classes=3, seed=0)
    x = np.ones((2, 8, 8, 1), np.float32)
    a, b = model(x, training=True), model(x, training=True)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(model(x, training=False), model(x, training=False))


def test_augmentation_moves_training_images_only_and_never_serves():
    keras.utils.set_random_seed(0)
    kwargs = dict(input_shape=(28, 28, 1), filters=(4, 8), units=(16, 12), num_classes=3, seed=0)
    plain = LeNet(**kwargs)
    augmented = LeNet(augment_shift=0.2, augment_rotation=0.05, **kwargs)
    x, _ = _images(4, (28, 28, 1), 3)
    plain(x)
    augmented(x)
    augmented.set_weights(plain.get_weights())
    assert not np.allclose(augmented(x, training=True), plain(x, training=True), atol=1e-4)
    np.testing.assert_array_equal(augmented.predict_outputs(x)["probabilities"],
                                  plain.predict_outputs(x)["probabilities"])


def test_standardization_statistics_are_per_channel_constructor_arguments():
    model = ResNet18(input_shape=(8, 8, 3), width=4, stem="small", input_mean=[0.1, 0.2, 0.3], input_std=0.5)
    assert model.input_std == (0.5, 0.5, 0.5) and model.get_config()["input_mean"] == (0.1, 0.2, 0.3)
    with pytest.raises(ValueError, match="one per channel"):
        ResNet18(input_shape=(8, 8, 3), input_mean=[0.1, 0.2])


@pytest.mark.parametrize(
    "bad,error,match",
    [
        (np.zeros((2, 28, 28), np.float32), ValueError, "rank 3"),
        (np.zeros((2, 28, 28, 3), np.float32), ValueError, "3 channels"),
        (np.zeros((2, 32, 32, 1), np.float32), ValueError, "32 height"),
        (tf.zeros((2, 28, 28, 1), tf.uint8), TypeError, "to_float"),
    ],
)
def test_bad_images_get_a_clear_error(bad, error, match):
    model = LeNet(input_shape=(28, 28, 1))
    with pytest.raises(error, match=match):
        model(bad)
    with pytest.raises((error, TypeError, ValueError)):
        model.predict_outputs(bad)


def test_images_too_small_for_the_architecture_get_a_clear_error():
    with pytest.raises(ValueError, match="cannot take 8x8 images"):
        LeNet(input_shape=(8, 8, 1)).build((None, 8, 8, 1))


def test_unknown_architecture_options_are_rejected():
    with pytest.raises(ValueError, match="VGG depth"):
        VGG(depth=12)
    with pytest.raises(ValueError, match="stem"):
        AlexNet(stem="tiny")
    with pytest.raises(ValueError, match="activation"):
        LeNet(activation="gelu")


def test_early_stopping_restores_the_best_epoch_and_retrain_full_uses_its_count(tmp_path):
    data_dir = str(tmp_path / "tfds")
    recipe = cli.load_recipe("lenet")
    argv = ["--smoke", "--out", str(tmp_path), "--data-dir", data_dir, "--verbose", "0", "--no-export",
            "--patience", "1", "--epochs", "2", "--learning-rate", "0.05", "--filters", "2,4", "--units", "8,8"]
    report = recipe.main(argv)
    val_acc = report["history"]["val_accuracy"]
    # The saved model is the best epoch's: its val accuracy is the best in the history.
    args = recipe.parser().parse_args(argv)
    data = recipe.make_data(args)
    model = keras.saving.load_model(tmp_path / "runs" / "lenet" / "model.keras")
    model.compile(metrics=["accuracy"])
    best = model.evaluate(data.val.take(2), return_dict=True, verbose=0)["accuracy"]
    assert best == pytest.approx(max(val_acc), abs=1e-6)

    report = recipe.main([*argv, "--retrain-full", "--run-dir", str(tmp_path / "retrain")])
    expected = int(np.argmax(report["history"]["val_accuracy"])) + 1
    assert report["retrain_full_epochs"] == expected
    rows = (tmp_path / "retrain" / "history_retrain_full.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + expected  # header + one row per retraining epoch
    assert json.loads((tmp_path / "retrain" / "metrics.json").read_text())["retrain_full_epochs"] == expected


def test_retrain_full_needs_data_that_offers_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.load_recipe("vae").main(["--smoke", "--out", str(tmp_path), "--data-dir", str(tmp_path / "tfds"),
                                     "--verbose", "0", "--no-export", "--retrain-full"])
    assert exit_.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]  # after TFDS's progress of the first build
    assert last.startswith("mpkeras train vae: error: --retrain-full is not supported by the vae recipe: it needs a "
                           "validation split and a train+val dataset")


def test_zoo_recipe_smoke_exports_classifier_outputs(tmp_path):
    report = cli.load_recipe("lenet").main(["--smoke", "--out", str(tmp_path), "--data-dir", str(tmp_path / "tfds"),
                                            "--verbose", "0"])
    assert 0.0 <= report["test"]["test_accuracy"] <= 1.0 and report["test"]["parameters"] > 0
    loaded = tf.saved_model.load(report["export"])
    fn = loaded.signatures["serving_default"]
    out = fn(images=tf.zeros((3, 28, 28, 1)))
    assert set(out) == {"probabilities", "class_id"}
    assert out["probabilities"].shape == (3, 10) and out["class_id"].dtype == tf.int32
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError)):
        fn(images=tf.zeros((3, 28, 28, 3)))
    assert os.path.exists(os.path.join(tmp_path, "runs", "lenet", "figures", "predictions.png"))


@pytest.fixture(scope="module")
def zoo_data(tmp_path_factory):
    recipe = cli.load_recipe("lenet")
    args = recipe.parser().parse_args(["--data-dir", str(tmp_path_factory.mktemp("tfds"))])
    return args, recipe.make_data(args)


def test_zoo_standardization_uses_train_split_statistics_only(zoo_data):
    from mpkeras.data import load, to_float
    from mpkeras.data.pipelines import TRAIN

    args, data = zoo_data
    pixels = np.stack([to_float(x).numpy() for x, _ in load("mnist5k", TRAIN, data_dir=args.data_dir)])
    np.testing.assert_allclose(data.extras["standardizer"].mean, [pixels.mean()], rtol=1e-5)
    np.testing.assert_allclose(data.extras["standardizer"].std, [pixels.std()], rtol=1e-4)
    assert len(pixels) == 3600  # train[:90%]: neither val nor test contributes


@pytest.mark.parametrize("name", ["lenet", "alexnet", "vgg", "googlenet", "resnet18", "resnet34"])
def test_zoo_recipe_defaults_build_a_regularized_classifier(name, zoo_data):
    _, data = zoo_data
    recipe = cli.load_recipe(name)
    args = recipe.parser().parse_args([])
    model = recipe.make_model(args, data)
    assert model(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)
    # The recipe's model carries the toolkit: train statistics, augmentation and weight decay.
    assert model.input_mean == tuple(data.extras["standardizer"].mean.tolist())
    assert model.augment_shift > 0 and model.augment_rotation > 0 and model.weight_decay > 0


@pytest.mark.parametrize("name,head", [("lenet", "out"), ("alexnet", "fc8"), ("vgg", "classifier"),
                                       ("googlenet", "fc"), ("resnet18", "fc")])
def test_features_are_what_the_output_layer_reads(name, head):
    """``features`` (the penultimate representation, used by FD-mnist5k) gives the logits through the output layer."""
    from mpkeras.testing import conformance

    model, fx = conformance.build(name)
    features = model.features(fx.x)
    assert features.shape.rank == 2 and features.shape[0] == len(fx.x)
    np.testing.assert_allclose(getattr(model, head)(features).numpy(), model(fx.x, training=False).numpy(),
                               rtol=1e-4, atol=1e-5)
