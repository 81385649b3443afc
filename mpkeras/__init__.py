"""mpkeras: Keras 3 / TensorFlow models for machine perception."""

__version__ = "0.1.0"
