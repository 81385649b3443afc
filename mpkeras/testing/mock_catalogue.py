"""Stand-ins for TFDS catalogue datasets whose values ``tfds.testing.mock_data`` cannot keep in range.

The mock draws every integer feature uniformly from 0..254 (or 0..max_value-1), whatever the dataset's
values are. For most features that is harmless, but a segmentation mask of ``oxford_iiit_pet`` holds the
trimap values 1..3 only: a random mask is not that dataset, and the pipeline's label check rightly refuses
it. The functions here give ``mock_data(as_dataset_fn=...)`` examples with the real features, shapes and
value ranges, so a test runs the path real data takes.

Example:
    >>> import tensorflow_datasets as tfds
    >>> with tfds.testing.mock_data(as_dataset_fn=oxford_iiit_pet(num_examples=16)):
    ...     example = next(iter(tfds.load("oxford_iiit_pet", split="train")))
    >>> example["segmentation_mask"].shape    # (H, W, 1), values 1..3, H and W those of example["image"]
"""

import numpy as np
import tensorflow as tf

PET, BACKGROUND, BORDER = 1, 2, 3
"""The trimap values of ``oxford_iiit_pet``'s ``segmentation_mask`` (TFDS stores the PNG trimaps as they are)."""


def _trimap(height, width, rng):
    """A trimap (H, W, 1) uint8: a pet box (1) ringed by a 2-pixel border (3), on background (2)."""
    mask = np.full((height, width, 1), BACKGROUND, np.uint8)
    top, left = rng.integers(0, height // 3), rng.integers(0, width // 3)
    bottom, right = rng.integers(2 * height // 3, height), rng.integers(2 * width // 3, width)
    mask[top:bottom, left:right] = BORDER
    mask[top + 2:bottom - 2, left + 2:right - 2] = PET
    return mask


def oxford_iiit_pet(num_examples=16, sizes=(24, 48), seed=0):
    """An ``as_dataset_fn`` for ``tfds.testing.mock_data``: ``oxford_iiit_pet`` examples with trimaps in 1..3.

    Every feature of the real dataset is there with its dtype and shape: ``image`` uint8 (H, W, 3) and
    ``segmentation_mask`` uint8 (H, W, 1) of the same, varying size, ``label`` (37 breeds), ``species`` (2),
    ``file_name`` and ``head_bbox``. Each split gives the same ``num_examples`` examples, as the mock's own do.

    Args:
        num_examples: examples per split.
        sizes: ``[low, high)`` of the random heights and widths.
        seed: the examples are the same for the same seed.
    """

    def examples():
        rng = np.random.default_rng(seed)
        for i in range(num_examples):
            height, width = (int(s) for s in rng.integers(*sizes, size=2))
            yield {
                "image": rng.integers(0, 256, size=(height, width, 3)).astype(np.uint8),  # (H, W, 3)
                "segmentation_mask": _trimap(height, width, rng),  # (H, W, 1)
                "label": np.int64(rng.integers(0, 37)),
                "species": np.int64(rng.integers(0, 2)),
                "file_name": f"mock_{i}.jpg",
                "head_bbox": np.array([0.2, 0.2, 0.8, 0.8], np.float32),
            }

    def as_dataset(builder, split, decoders=None, read_config=None, shuffle_files=False, **kwargs):
        del split, decoders, read_config, shuffle_files, kwargs  # every split: the same examples
        specs = builder.info.features.get_tensor_info()  # the real features: dtypes and shapes
        signature = {key: tf.TensorSpec(info.shape, info.tf_dtype) for key, info in specs.items()}
        ds = tf.data.Dataset.from_generator(examples, output_signature=signature)
        return ds.apply(tf.data.experimental.assert_cardinality(num_examples))  # known, as TFDS's readers know it

    return as_dataset
