"""mpkeras datasets: TFDS loading, embedded offline datasets and transforms.

Example:
    >>> from mpkeras import data
    >>> data.EMBEDDED
    ('mnist5k', 'digits8x8', 'mnist_seg', 'moving_mnist5k', 'pydoc_text', 'tones16k')
    >>> train = data.load("mnist5k", "train").map(lambda x, y: (data.to_float(x), y))
    >>> train = data.binarize(train, "dynamic", seed=0)
"""

from mpkeras.data.loading import (
    EMBEDDED,
    REAL,
    CorruptDatasetError,
    DatasetUnavailableError,
    UnknownDatasetError,
    info,
    load,
    num_classes,
)
from mpkeras.data.transforms import (
    BINARIZE_MODES,
    Standardizer,
    augment_segmentation,
    binarize,
    check_labels,
    dequantize,
    to_float,
)

__all__ = [
    "BINARIZE_MODES",
    "EMBEDDED",
    "REAL",
    "CorruptDatasetError",
    "DatasetUnavailableError",
    "Standardizer",
    "UnknownDatasetError",
    "augment_segmentation",
    "binarize",
    "check_labels",
    "dequantize",
    "info",
    "load",
    "num_classes",
    "to_float",
]
