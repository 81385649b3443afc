"""The papers' configurations (``--preset``, :mod:`mpkeras.train.presets`).

Each preset's model is built at its real size (the paper's widths and depths, the dataset's real image or clip
size under ``tfds.testing.mock_data``) by the runner's own :func:`~mpkeras.train.recipe.build_model`, takes ONE
training step on mock data, and has its trainable parameter count pinned. Only the batch is cut to 1, and XLA is
off (batch 2 for the GANs, :data:`BATCH`); the recipe's evaluation, figures and export are not run (a PixelCNN's samples at 32x32x3 are 3,072
sequential steps). The step is run eagerly: tracing Glow's 96 flow steps into a graph cost more than the step.

None of the papers publishes a parameter count for these configurations, so every pin is OUR count. For NADE, MADE
and the VAE the count is also derived from the paper's layer sizes by hand, which fails if the model's
architecture stops being the paper's; the others fail when the architecture changes at all.
"""

import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mpkeras import cli
from mpkeras.errors import UsageError
from mpkeras.testing import mock_catalogue
from mpkeras.train.errors import UnsupportedFlagError
from mpkeras.train.presets import PRESETS
from mpkeras.train.recipe import build_model, make_optimizer, refuse_ignored_optimizer_flags

MOCK = {
    "binarized_mnist": {"max_value": 1},
    "oxford_iiit_pet": {"as_dataset_fn": mock_catalogue.oxford_iiit_pet(num_examples=4)},
}
"""``mock_data`` arguments that keep a dataset's values in its real range (as in tests/test_catalogue.py)."""

CASES = [(model, name) for model, presets in PRESETS.items() for name in presets]

D, H = 784, 500  # binarized MNIST pixels; NADE's and MADE's hidden units


def _vae_parameters(sizes=(784, 200, 200), latent=50):
    """784-200-200-(50 means, 50 log-scales) encoder and 50-200-200-784 decoder, weights and biases."""
    dense = lambda n_in, n_out: n_in * n_out + n_out  # noqa: E731
    encoder = dense(784, 200) + dense(200, 200) + dense(200, 2 * latent)
    decoder = dense(latent, 200) + dense(200, 200) + dense(200, 784)
    return encoder + decoder


TRAINABLE = {
    # (recipe, preset): (our trainable parameters, the same derived from the paper's sizes or None)
    ("pixelcnn", "paper"): (4_345_389, None),  # h = 129, 2h = 258, 1026-wide output: 3 equal colour groups
    ("pixelcnn", "paper-mnist"): (26_433, None),
    ("gated_pixelcnn", "paper"): (128_130_306, None),
    ("glow", "paper"): (44_052_492, None),
    ("nade", "paper"): (785_284, 2 * D * H + D + H),  # W (D x H), V (D x H), c (H), b (D)
    ("made", "paper"): (785_284, D * H + H + H * D + D),  # masked W, V and their biases; masks not trained
    ("vae", "paper"): (425_284, _vae_parameters()),
    ("dcgan", "paper"): (23_725_444, None),
    ("wgan_gp", "paper"): (6_329_988, None),
    ("resnet18", "paper"): (11_173_962, None),  # the 3x3-stem ResNet-18 for 10 classes
    ("unet", "paper"): (31_031_875, None),  # 3 classes (pet, background, border)
    ("wavenet", "paper"): (821_920, None),
}

INPUT = {"cifar10": (32, 32, 3), "binarized_mnist": (28, 28, 1), "celeb_a": (64, 64, 3),
         "oxford_iiit_pet": (256, 256, 3), "speech_commands": (16000,)}
"""The example shape each preset's model sees: the dataset's real size (celeb_a cropped and resized by the loader,
pets resized by the unet preset's --image-size, speech_commands clips of 1 s at 16 kHz)."""


BATCH = {"dcgan": 2, "wgan_gp": 2}
"""Batch 1 elsewhere. Batch norm over one example makes the generator's output independent of its projection's
weights (their gradient is exactly 0), so the GANs step on 2."""


def _recipe(model):
    return cli.load_recipe(model)


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_every_preset_has_a_pinned_count():
    assert sorted(TRAINABLE) == sorted(CASES), "pin the new preset's trainable parameters in TRAINABLE"
    for (model, name), (_, derived) in TRAINABLE.items():
        assert PRESETS[model][name].parameters is None or derived is None  # one published or derived figure


@pytest.mark.parametrize("model,name", CASES)
def test_preset_builds_at_its_real_size_and_takes_one_step(model, name):
    recipe, preset = _recipe(model), PRESETS[model][name]
    args = recipe.parse_args(["--preset", name, "--batch-size", str(BATCH.get(model, 1)), "--no-jit"])
    for dest, value in preset.flags.items():
        if dest != "batch_size":
            assert getattr(args, dest) == value, f"--preset {name} did not set {dest}"
    with tfds.testing.mock_data(num_examples=4, **MOCK.get(args.dataset, {})):
        data = recipe.make_data(args)
        net = build_model(recipe, args, data, data.train)
        batch = next(iter(data.train))
    example = batch[0] if isinstance(batch, tuple) else batch
    example = example["images"] if isinstance(example, dict) else example
    assert tuple(example.shape[1:]) == INPUT[args.dataset]

    ours, derived = TRAINABLE[(model, name)]
    assert _trainable(net) == ours, f"{model} --preset {name}: {_trainable(net):,} trainable parameters"
    if derived is not None:
        assert ours == derived, "the model is no longer the paper's architecture"
    if preset.parameters is not None:
        assert ours == preset.parameters, "the published count"

    first, last = net.trainable_weights[0], net.trainable_weights[-1]
    before = [np.array(first), np.array(last)]
    logs = net.train_step(batch)
    assert all(np.all(np.isfinite(np.asarray(v))) for v in logs.values()), logs
    assert not (np.array_equal(before[0], first) and np.array_equal(before[1], last)), "the step changed nothing"


def test_command_line_flags_win_over_the_preset_and_the_preset_over_dataset_defaults():
    args = _recipe("resnet18").parse_args(["--preset", "paper", "--batch-size", "7", "--dataset", "mnist"])
    assert (args.batch_size, args.dataset) == (7, "mnist")
    assert (args.optimizer, args.momentum, args.width, args.decay_epochs) == ("sgd", 0.9, 64, (91, 137))
    # wgan_gp's image defaults say lr 5e-4 and latent 64; the preset says 1e-4 and 128; a flag says 3e-4.
    wgan = _recipe("wgan_gp")
    assert (wgan.parse_args(["--preset", "paper"]).learning_rate, wgan.parse_args(["--preset", "paper"]).latent_dim) \
        == (1e-4, 128)
    assert wgan.parse_args(["--preset", "paper", "--learning-rate", "3e-4"]).learning_rate == 3e-4
    # A --dataset given with a preset picks that dataset's defaults for what the preset leaves out: pixelcnn's
    # colour default (--levels 256) for a preset without levels, here the MNIST one with its levels dropped.
    assert _recipe("pixelcnn").parse_args(["--preset", "paper-mnist"]).levels == 2
    assert _recipe("pixelcnn").parse_args([]).levels == 2 and _recipe("pixelcnn").parse_args([]).preset is None


def test_unknown_preset_is_refused_listing_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _recipe("pixelcnn").parse_args(["--preset", "papr"])
    assert exit_info.value.code == 2
    assert "argument --preset: invalid choice: 'papr' (choose from 'paper', 'paper-mnist')" in capsys.readouterr().err
    # A recipe without presets has no --preset flag at all.
    with pytest.raises(SystemExit):
        _recipe("lenet").parse_args(["--preset", "paper"])
    assert "unrecognized arguments: --preset paper" in capsys.readouterr().err
    assert "--preset" in _recipe("glow").parser().format_help()


def test_metrics_and_model_card_record_the_preset(tmp_path):
    with tfds.testing.mock_data(num_examples=16, max_value=1):
        report = _recipe("made").main(["--preset", "paper", "--hidden-units", "32", "--smoke", "--batch-size", "8",
                                       "--out", str(tmp_path), "--verbose", "0", "--debug"])
    preset = PRESETS["made"]["paper"]
    assert report["preset"]["name"] == "paper" and report["preset"]["published"] == preset.published
    assert report["data"]["dataset"] == "binarized_mnist" and report["args"]["preset"] == "paper"
    with open(os.path.join(tmp_path, "runs", "made", "metrics.json")) as f:
        assert json.load(f)["preset"]["paper"] == preset.paper
    with open(os.path.join(report["export"], "assets.extra", "model_card.json")) as f:
        card = json.load(f)["preset"]
    assert card["name"] == "paper" and card["measured_here"].startswith("no")


def test_step_schedule_and_optimizer_flags():
    recipe = _recipe("vae")
    args = recipe.parse_args(["--preset", "paper"])
    optimizer = make_optimizer(args, steps_per_epoch=10)
    assert type(optimizer).__name__ == "Adam" and optimizer.epsilon == 1e-4
    rates = [float(optimizer.learning_rate if not callable(optimizer._learning_rate)
                   else optimizer._learning_rate(step)) for step in (0, 9, 10, 39, 40, 10929, 10930)]
    # 3^i epochs at 1e-3 * 10^(-i/7): drops after epochs 1, 4, ..., 1093; the last rate is 1e-4.
    assert np.allclose(rates, [1e-3, 1e-3, 1e-3 * 10 ** (-1 / 7), 1e-3 * 10 ** (-1 / 7), 1e-3 * 10 ** (-2 / 7),
                               1e-3 * 10 ** (-6 / 7), 1e-4])
    sgd = make_optimizer(_recipe("resnet18").parse_args(["--preset", "paper"]), steps_per_epoch=351)
    assert type(sgd).__name__ == "SGD" and sgd.momentum == 0.9
    with pytest.raises(UsageError, match="--schedule step needs --decay-epochs"):
        recipe.parse_args(["--schedule", "step"])
    with pytest.raises(UsageError, match="--decay-epochs is used by --schedule step only"):
        recipe.parse_args(["--decay-epochs", "3"])
    with pytest.raises(UnsupportedFlagError, match="Adam has no momentum"):
        make_optimizer(recipe.parse_args(["--momentum", "0.9"]), steps_per_epoch=10)


def test_recipes_with_their_own_optimizers_refuse_the_optimizer_flags():
    gan = _recipe("dcgan")
    own = {"generator_optimizer": None, "discriminator_optimizer": None}
    refuse_ignored_optimizer_flags(gan, gan.parse_args(["--preset", "paper"]), own)  # Adam, no schedule: fine
    for flags in (["--optimizer", "sgd"], ["--schedule", "cosine"], ["--clip-norm", "1"]):
        with pytest.raises(UnsupportedFlagError, match="one Adam per network"):
            refuse_ignored_optimizer_flags(gan, gan.parse_args(flags), own)
