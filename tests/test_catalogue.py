"""Every (recipe, declared TFDS catalogue dataset) end to end under ``tfds.testing.mock_data``.

The mock serves random examples with each dataset's real features (shapes, channels, number of classes), so
a recipe that hard-codes a shape fails here. Each case runs the recipe's ``--smoke`` path in this process
(training, evaluation, figures, export); the exports are then reloaded in ONE clean process without mpkeras,
which runs every serving signature and compares it with the in-process outputs. Sizes are cut down with the
recipes' own flags (:data:`SMALL`) to keep the suite's time: the point is the data path, not the model.
"""

import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mpkeras import cli
from mpkeras.data import catalogue, loading
from mpkeras.data.pipelines import image_pairs
from mpkeras.data.transforms import centre_crop_and_resize
from mpkeras.errors import UsageError
from mpkeras.export import verify_savedmodel
from mpkeras.registry import get_entry, list_models
from mpkeras.testing import mock_catalogue
from mpkeras.train.recipe import Recipe

MOCK = {
    "binarized_mnist": {"max_value": 1},  # pixels 0 or 1
    "oxford_iiit_pet": {"as_dataset_fn": mock_catalogue.oxford_iiit_pet(num_examples=16)},  # trimaps 1..3
}
"""``mock_data`` arguments that keep a dataset's values in its real range."""

SMALL = {
    "mlp": ["--hidden-units", "32"],
    # Batch norm off: it adds a third of the deep nets' graph-tracing time (googlenet smoke 44 s -> 31 s).
    "alexnet": ["--width", "0.125", "--fc-units", "32", "--no-batch-norm"],
    "vgg": ["--width", "0.125", "--fc-units", "32", "--no-batch-norm"],
    "googlenet": ["--width", "0.125", "--no-aux", "--no-batch-norm"],
    "resnet18": ["--width", "4"],
    "resnet34": ["--width", "4"],
    "rnn_classifier": ["--units", "16"],
    "lstm_classifier": ["--units", "16"],
    "nade": ["--hidden-units", "16"],
    "made": ["--hidden-units", "32"],
    "pixelcnn": ["--filters", "6", "--num-blocks", "1"],
    "gated_pixelcnn": ["--filters", "6", "--num-layers", "1"],
    "glow": ["--levels", "1", "--steps", "1", "--hidden-units", "8"],
    "realnvp_images": ["--scales", "2", "--hidden-units", "4", "--res-blocks", "1"],
    "pixelrnn": ["--hidden-units", "4", "--num-layers", "1", "--output-units", "8"],
    "vae": ["--hidden-units", "32", "--iwae-samples", "2"],
    "beta_vae": ["--hidden-units", "32", "--iwae-samples", "2"],
    "char_lstm": ["--units", "8", "--embedding-dim", "4", "--context", "16", "--sample-length", "8"],
    "transformer_lm": ["--width", "8", "--num-layers", "1", "--num-heads", "2", "--context", "16",
                       "--sample-length", "8"],
    "wavenet": ["--residual-channels", "4", "--dilation-channels", "4", "--skip-channels", "8", "--num-stacks", "1",
                "--layers-per-stack", "2", "--crop", "256", "--max-eval-clips", "4"],
    "unet": ["--filters", "4,8", "--convs-per-block", "1", "--image-size", "32"],
    "fcn": ["--filters", "4,8", "--convs-per-block", "1", "--image-size", "32"],
    "convlstm": ["--filters", "4", "--patch-filters", "4", "--context", "18"],  # a 2-frame rollout
    "dcgan": ["--filters", "4,8", "--latent-dim", "8"],
    "wgan_gp": ["--filters", "4,8", "--latent-dim", "8", "--discriminator-steps", "1"],
    "cgan": ["--filters", "4,8", "--latent-dim", "8"],
}
"""Flags that make each recipe's model small; the data path is the recipe's own."""


def _recipes():
    recipes = {}
    for name in list_models():
        recipe = cli.load_recipe(name)
        if isinstance(recipe, Recipe):
            recipes[name] = recipe
    return recipes


RECIPES = _recipes()
CASES = [(name, dataset) for name, recipe in RECIPES.items() for dataset in recipe.datasets]


def _smoke(name, dataset, out):
    with tfds.testing.mock_data(num_examples=16, **MOCK.get(dataset, {})):
        return RECIPES[name].main(["--dataset", dataset, "--smoke", "--batch-size", "8", "--out", str(out),
                                   "--verbose", "0", "--debug", *SMALL.get(name, [])])


def test_every_declared_dataset_is_in_a_family_of_the_catalogue():
    assert CASES, "no recipe declares a catalogue dataset"
    for name, dataset in CASES:
        assert dataset in catalogue.DECLARED, f"{name} declares {dataset}, which no family of the catalogue lists"
        assert loading.in_catalogue(dataset), f"{name} declares {dataset!r}, which TFDS does not know"
    # Every family member is declared by some recipe (a family nobody reads is a stale list).
    declared = {dataset for _, dataset in CASES}
    missing = [d for d in catalogue.DECLARED if d not in declared]
    assert not missing, f"no recipe declares {missing}"


@pytest.mark.parametrize("name", sorted({n for n, _ in CASES}))
def test_recipe_runs_end_to_end_on_each_declared_dataset_and_the_exports_reload(name, tmp_path):
    """Per recipe: a smoke run on each of its declared datasets, then all its exports in one clean process."""
    exports, failures = {}, []
    for dataset in RECIPES[name].datasets:
        try:
            report = _smoke(name, dataset, tmp_path / dataset)
        except Exception as e:  # noqa: BLE001  (every failing dataset is listed, not just the first)
            failures.append(f"{name} on {dataset}: {type(e).__name__}: {e}")
            continue
        assert report["data"]["dataset"] == dataset
        # The three roles, or (recipes that pick no epoch on val, e.g. the GANs) train+val and test.
        no_val = {"train": catalogue.split(dataset, "train+val"), "test": catalogue.split(dataset, "test")}
        assert report["data"]["splits"] in (catalogue.splits(dataset), no_val), report["data"]["splits"]
        assert report["test"], f"{name} on {dataset}: no test metrics"
        assert report["export"] and os.path.isdir(report["export"]), f"{name} on {dataset}: no export"
        exports[dataset] = report["export"]
    assert not failures, "\n".join(failures)
    reports = verify_savedmodel(list(exports.values()))  # raises with the failed signatures
    for dataset, path in exports.items():
        assert reports[path]["ok"] and not reports[path]["mpkeras_imported"], f"{name} on {dataset}"


def test_model_card_and_list_show_the_declared_datasets(tmp_path, capsys):
    report = _smoke("lenet", "cifar10", tmp_path)
    with open(os.path.join(report["export"], "assets.extra", "model_card.json")) as f:
        card = json.load(f)
    assert card["declared_datasets"] == list(catalogue.CLASSIFICATION) and card["dataset"] == "cifar10"
    # The model is built from the data: colour 32x32 inputs, 10 classes.
    assert card["num_classes"] == 10
    assert cli.main(["list", "--exported", str(tmp_path / "exported")]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "cifar10" in lines["lenet"] and "binarized_mnist" in lines["made"]


def test_undeclared_catalogue_dataset_is_refused_naming_the_declared_ones():
    with pytest.raises(UsageError, match="declares the TFDS datasets mnist, fashion_mnist, cifar10, svhn_cropped"):
        RECIPES["lenet"].parse_args(["--dataset", "binarized_mnist"])
    with pytest.raises(UsageError, match="declares no TFDS dataset"):
        RECIPES["realnvp"].parse_args(["--dataset", "mnist"])
    assert RECIPES["lenet"].parse_args(["--dataset", "nosuchset"]).dataset == "nosuchset"  # load names it


def test_prebinarized_data_is_not_binarized_again_and_refuses_8_bit(tmp_path, capsys):
    report = _smoke("made", "binarized_mnist", tmp_path)
    assert report["data"]["binarization"].startswith("fixed")
    with pytest.raises(SystemExit) as exit_info, tfds.testing.mock_data(num_examples=16, max_value=1):
        RECIPES["pixelcnn"].main(["--dataset", "binarized_mnist", "--levels", "256", "--smoke", "--out",
                                  str(tmp_path), "--verbose", "0"])
    assert exit_info.value.code == 2
    assert "--levels 256: binarized_mnist has binary pixels only" in capsys.readouterr().err


def test_load_under_the_mock_and_its_errors_without_it(tmp_path):
    with tfds.testing.mock_data(num_examples=3):
        assert loading._tfds_mocked()
        image, _ = next(iter(loading.load("cifar10", "train[:90%]")))
        assert image.shape == (32, 32, 3) and image.dtype == "uint8"
        with pytest.raises(loading.UnknownDatasetError, match="Unknown dataset 'cifar1O'"):
            loading.load("cifar1O", "train")
    assert not loading._tfds_mocked()
    with pytest.raises(loading.DatasetUnavailableError, match="not prepared"):
        loading.load("cifar10", "train", data_dir=tmp_path, download=False)
    assert get_entry("lenet").dataset in loading.EMBEDDED


def test_colour_photographs_are_8_bit_and_unlabelled_ones_refuse_conditioning(tmp_path, capsys):
    """cifar10 defaults to --levels 256 and refuses --levels 2; downsampled_imagenet has no labels to condition on."""
    assert RECIPES["pixelcnn"].parse_args(["--dataset", "cifar10"]).levels == 256
    assert RECIPES["gated_pixelcnn"].parse_args(["--dataset", "downsampled_imagenet/32x32"]).levels == 256
    assert RECIPES["pixelcnn"].parse_args([]).levels == 2  # mnist5k: binarized by default
    for name, dataset, flags, message in (
            ("pixelcnn", "cifar10", ["--levels", "2"], "--levels 2: cifar10 has colour images (3 channels)"),
            ("gated_pixelcnn", "downsampled_imagenet/32x32", ["--conditional"],
             "--conditional: downsampled_imagenet/32x32 has no class labels")):
        with pytest.raises(SystemExit) as exit_info, tfds.testing.mock_data(num_examples=4):
            RECIPES[name].main(["--dataset", dataset, *flags, "--smoke", "--out", str(tmp_path), "--verbose", "0"])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    with pytest.raises(UsageError, match="declares the TFDS datasets"):  # another config of it is not declared
        RECIPES["glow"].parse_args(["--dataset", "downsampled_imagenet/64x64"])


def test_downsampled_imagenet_splits_features_and_size_under_the_mock():
    """No test split (test = validation), no label (NO_LABEL), and an image feature of open size made (32, 32, 3)."""
    name = "downsampled_imagenet/32x32"
    assert catalogue.splits(name) == {"train": "train[:99%]", "val": "train[99%:]", "test": "validation"}
    assert not catalogue.has_labels(name) and catalogue.image_size(name) == (32, 32)
    with tfds.testing.mock_data(num_examples=3):
        example = next(iter(loading.load(name, "validation", as_supervised=False)))
        assert set(example) == {"image"}  # the mock's images have random sizes: the feature is (None, None, 3)
        for role in catalogue.ROLES:
            ds = image_pairs(name, role)
            assert ds.element_spec[0].shape == (32, 32, 3)
            images, labels = zip(*ds.as_numpy_iterator())
            assert all(i.shape == (32, 32, 3) and i.dtype == "uint8" for i in images)
            assert set(labels) == {catalogue.NO_LABEL}


def test_celeb_a_is_centre_cropped_to_108_and_resized_to_64_by_the_loader():
    assert catalogue.image_transform("celeb_a") == {"crop": (108, 108), "size": (64, 64)}
    # Pixels that hold their own row (channel 0) and column (channel 1): the output shows which rows and columns
    # the crop kept. The centre 108x108 of 218x178 is rows 55..162 and columns 35..142.
    rows, cols = np.meshgrid(np.arange(218), np.arange(178), indexing="ij")
    image = np.stack([rows, cols, np.zeros_like(rows)], axis=-1).astype(np.uint8)  # (218, 178, 3)
    out = np.asarray(centre_crop_and_resize(image, (108, 108), (64, 64)))
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert 55 <= out[..., 0].min() <= 57 and 160 <= out[..., 0].max() <= 162  # rows 55..162
    assert 35 <= out[..., 1].min() <= 37 and 140 <= out[..., 1].max() <= 142  # columns 35..142
    assert abs(out[..., 0].mean() - 108.5) < 1 and abs(out[..., 1].mean() - 88.5) < 1  # centred
    with tfds.testing.mock_data(num_examples=2):
        for ds in (loading.load("celeb_a", catalogue.split("celeb_a", "val")), image_pairs("celeb_a", "test")):
            image, label = next(iter(ds))
            assert image.shape == (64, 64, 3) and image.dtype == "uint8" and int(label) == catalogue.NO_LABEL


def test_cgan_refuses_celeb_a_which_has_no_class_labels(tmp_path):
    assert "celeb_a" in RECIPES["dcgan"].datasets and "celeb_a" not in RECIPES["cgan"].datasets
    with pytest.raises(UsageError, match="the cgan recipe is not made for celeb_a"):
        RECIPES["cgan"].parse_args(["--dataset", "celeb_a"])
    # Past the declared list (e.g. run() with parsed args), the data refuses it and names the labelled choices.
    args = RECIPES["cgan"].parser().parse_args(["--dataset", "celeb_a", "--out", str(tmp_path)])
    with tfds.testing.mock_data(num_examples=2), pytest.raises(UsageError, match="celeb_a has none.*cifar10"):
        RECIPES["cgan"].make_data(args)
