"""The generic figures: the image montage and the image grid built on it."""

import numpy as np
import pytest
from PIL import Image

from mpkeras.train import figures as figs


@pytest.mark.parametrize("channels", [(), (3,)])
def test_tile_places_each_image_in_its_cell_with_gaps(channels):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(7, 4, 5, *channels)).astype(np.float32)
    montage = figs.tile(images, ncols=3, gap=1, fill=1.0)
    assert montage.shape == (3 * 5 - 1, 3 * 6 - 1, *channels)  # 3 rows of 4 + gaps, 3 columns of 5 + gaps
    for i, image in enumerate(images):
        r, c = divmod(i, 3)
        np.testing.assert_array_equal(montage[r * 5:r * 5 + 4, c * 6:c * 6 + 5], image)
    assert np.all(montage[4] == 1.0) and np.all(montage[:, 5] == 1.0), "gaps are filled"
    assert np.all(montage[10:, 6:] == 1.0), "cells after the last image are filled"


@pytest.mark.parametrize("shape", [(12, 8, 8), (12, 8, 8, 1), (12, 8, 8, 3)])
def test_image_grid_writes_one_png_with_and_without_titles(shape, tmp_path):
    images = np.random.default_rng(1).uniform(size=shape)
    plain = figs.image_grid(images, str(tmp_path / "plain.png"), ncols=5, row_labels=["a", "b", "c"], title="t")
    titled = figs.image_grid(images, str(tmp_path / "titled.png"), ncols=5, titles=list(range(12)))
    for path in (plain, titled):
        with Image.open(path) as png:
            assert png.format == "PNG" and min(png.size) > 50
