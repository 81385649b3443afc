"""Signed distance functions learned from point clouds (IGR).

:class:`IGRSDF` (registered ``igr_sdf``) learns a signed distance function from a raw
point cloud with the eikonal regulariser; :func:`extract_mesh` turns any SDF model's
zero level set (or any field's level set) into a mesh (scikit-image marching cubes, trimesh).
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras.models.common import average_loss, check_input, with_regularization
from mpkeras.registry import register_model


# --- IGR: implicit geometric regularisation ------------------------------------
@keras.saving.register_keras_serializable(package="mpkeras")
class ScaledSoftplus(keras.layers.Layer):
    """softplus(beta * x) / beta: a smooth ReLU (beta = 100 in IGR) whose second derivatives exist."""

    def __init__(self, beta=100.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta

    def call(self, x):
        return tf.nn.softplus(self.beta * x) / self.beta

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@register_model("igr_sdf", dataset="shapes", metric="Chamfer distance (lower is better)")
@keras.saving.register_keras_serializable(package="mpkeras")
class IGRSDF(keras.Model):
    """Signed distance function f: R^3 -> R fitted to a point cloud with the eikonal loss (IGR).

    For surface points x_i (and optionally their normals n_i) the loss is

        L = mean_i |f(x_i)|^2 + tau mean_i ||grad f(x_i) - n_i|| + lambda E_x (||grad f(x)|| - 1)^2,

    where the eikonal expectation runs over points x drawn around the cloud: each x_i
    perturbed by N(0, sigma^2 I), plus a fraction of points uniform in the box
    [-bound, bound]^3. The eikonal term makes f a distance function, so its zero
    level set is a plausible surface through the points. f is an MLP with the
    smooth activation softplus(beta x) / beta and the geometric initialisation
    (Atzmon & Lipman, SAL), under which f(x) ~ ||x|| - r, the SDF of a sphere.

    Args:
        hidden_units: widths of the hidden layers.
        beta: softplus sharpness (IGR: 100).
        eikonal_weight: lambda (IGR: 0.1).
        normal_weight: tau; used only when ``fit`` gets normals as ``y`` (IGR: 1).
        local_sigma: std of the Gaussian perturbations of the surface points.
        bound: half-width of the box of the uniform samples (and of mesh extraction).
        uniform_fraction: uniform samples per surface point in the eikonal batch.
        geometric_init: initialise f to approximately the SDF of a sphere.
        init_radius: r of that sphere.
        seed: seed of the eikonal samples.

    Example:
        >>> from mpkeras.data import shapes
        >>> points, normals = shapes.point_cloud("torus", 4096)
        >>> model = IGRSDF(hidden_units=(64, 64))
        >>> model.compile(optimizer="adam")
        >>> model.fit(points, batch_size=512, epochs=1, verbose=0)  # doctest: +SKIP
        >>> model.sdf(points[:4])["sdf"].shape
        TensorShape([4])

    Reference:
        Gropp, Yariv, Haim, Atzmon, Lipman. "Implicit Geometric Regularization for Learning Shapes",
        ICML 2020 (arXiv:2002.10099). Geometric init: Atzmon & Lipman, "SAL: Sign Agnostic Learning
        of Shapes from Raw Data", CVPR 2020.
    """

    def __init__(self, hidden_units=(128, 128, 128, 128), beta=100.0, eikonal_weight=0.1, normal_weight=1.0,
                 local_sigma=0.05, bound=1.0, uniform_fraction=0.125, geometric_init=True, init_radius=0.5, seed=0,
                 **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.hidden_units = tuple(hidden_units)
        self.beta = beta
        self.eikonal_weight = eikonal_weight
        self.normal_weight = normal_weight
        self.local_sigma = local_sigma
        self.bound = bound
        self.uniform_fraction = uniform_fraction
        self.geometric_init = geometric_init
        self.init_radius = init_radius
        self.seed = seed
        # === Layers ===
        self.hidden = []
        for i, units in enumerate(self.hidden_units):
            kernel = keras.initializers.RandomNormal(0.0, math.sqrt(2.0 / units), seed=seed + i) \
                if geometric_init else "glorot_uniform"
            self.hidden.append(keras.layers.Dense(units, kernel_initializer=kernel, name=f"hidden_{i}"))
        self.activation = ScaledSoftplus(beta, name="softplus")
        last = self.hidden_units[-1] if self.hidden_units else 3
        self.out = keras.layers.Dense(
            1, name="sdf",
            kernel_initializer=keras.initializers.RandomNormal(math.sqrt(math.pi / last), 1e-5, seed=seed + 99)
            if geometric_init else "glorot_uniform",
            bias_initializer=keras.initializers.Constant(-init_radius) if geometric_init else "zeros")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.surface_tracker = keras.metrics.Mean(name="surface")
        self.eikonal_tracker = keras.metrics.Mean(name="eikonal")
        self.normal_tracker = keras.metrics.Mean(name="normal")

    # --- Network (override to change the architecture) ------------------------
    def call(self, points, training=False):
        """f(points): (B, 3) -> (B,)."""
        h = points  # (B, 3)
        for layer in self.hidden:
            h = self.activation(layer(h))  # (B, H)
        return self.out(h)[:, 0]  # (B,)

    def value_and_gradient(self, points):
        """f and grad f at ``points`` (B, 3): ((B,), (B, 3)); differentiable, so usable inside a loss."""
        points = tf.convert_to_tensor(points, tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(points)
            f = self(points, training=True)
        return f, tape.gradient(f, points)

    # --- Loss -------------------------------------------------------------------
    def eikonal_samples(self, points):
        """Points around the cloud: x_i + N(0, sigma^2) for every x_i, plus uniform points in the box."""
        b = ops.shape(points)[0]
        local = points + self.local_sigma * keras.random.normal(ops.shape(points), seed=self.seed_generator)
        num_uniform = ops.maximum(ops.cast(ops.cast(b, "float32") * self.uniform_fraction, "int32"), 1)
        uniform = keras.random.uniform((num_uniform, 3), -self.bound, self.bound, seed=self.seed_generator)
        return ops.concatenate([local, uniform], axis=0)  # (B + U, 3)

    def eikonal_term(self, points):
        """(||grad f(x)|| - 1)^2 at each of ``points``: (N,)."""
        _, grad = self.value_and_gradient(points)
        return ops.square(ops.norm(grad, axis=-1) - 1.0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        x = ops.convert_to_tensor(x, "float32")
        surface = ops.square(y_pred)  # (B,) |f(x_i)|^2
        eikonal = self.eikonal_term(self.eikonal_samples(x))  # (B + U,)
        self.surface_tracker.update_state(surface)
        self.eikonal_tracker.update_state(eikonal)
        loss = average_loss(surface) + self.eikonal_weight * average_loss(eikonal)
        if y is not None:  # normals
            _, grad = self.value_and_gradient(x)
            normal = ops.norm(grad - ops.convert_to_tensor(y, "float32"), axis=-1)  # (B,)
            self.normal_tracker.update_state(normal)
            loss = loss + self.normal_weight * average_loss(normal)
        return with_regularization(loss, self.losses)

    # --- Tensor-valued methods (exported) ----------------------------------------
    def sdf(self, points):
        """{"sdf": (B,)} signed distance (negative inside)."""
        return {"sdf": self(check_input(points, (3,), "points"))}

    def gradient(self, points):
        """{"sdf": (B,), "gradient": (B, 3), "normals": (B, 3)}: f, grad f and the unit normal grad f / ||grad f||."""
        f, grad = self.value_and_gradient(check_input(points, (3,), "points"))
        return {"sdf": f, "gradient": grad, "normals": tf.math.l2_normalize(grad, axis=-1)}

    def serving_endpoints(self):
        points = tf.TensorSpec((None, 3), tf.float32, name="points")
        return {"sdf": (self.sdf, [points]), "gradient": (self.gradient, [points])}

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": self.hidden_units,
            "beta": self.beta,
            "eikonal_weight": self.eikonal_weight,
            "normal_weight": self.normal_weight,
            "local_sigma": self.local_sigma,
            "bound": self.bound,
            "uniform_fraction": self.uniform_fraction,
            "geometric_init": self.geometric_init,
            "init_radius": self.init_radius,
            "seed": self.seed,
        }


def _field_values(field, points):
    """``field``'s values at ``points`` (N, 3) as numpy: a model with ``sdf(points) -> {"sdf"}``, or a callable."""
    values = field.sdf(points)["sdf"] if hasattr(field, "sdf") else field(points)
    return np.asarray(values).reshape(-1)


def evaluate_grid(field, resolution=64, bound=1.0, chunk=65536):
    """A scalar field on a resolution^3 grid over [-bound, bound]^3: (volume (R, R, R) numpy, grid step).

    ``field`` is an SDF model (anything with ``sdf(points) -> {"sdf": (B,)}``) or a callable
    ``points (B, 3) float32 -> (B,)`` values (e.g. an occupancy probability).
    """
    axis = np.linspace(-bound, bound, resolution, dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)  # (R^3, 3)
    values = np.concatenate([_field_values(field, grid[i:i + chunk]) for i in range(0, len(grid), chunk)])
    return values.reshape((resolution,) * 3), float(axis[1] - axis[0])


def extract_mesh(field, resolution=64, bounds=1.0, level=0.0):
    """The ``level`` set of a field as a ``trimesh.Trimesh`` (marching cubes on a grid).

    Args:
        field: an SDF model (anything with ``sdf(points) -> {"sdf": (B,)}``, e.g. :class:`IGRSDF`), or a
            callable ``points (B, 3) -> (B,)`` values.
        resolution: grid points per axis.
        bounds: half-width of the cube [-bounds, bounds]^3 that is searched.
        level: the iso-value: 0 for an SDF, 0.5 for an occupancy probability.
    """
    from mpkeras.data.shapes import require

    trimesh, measure = require("trimesh"), require("skimage.measure")
    volume, step = evaluate_grid(field, resolution, bounds)
    if not volume.min() < level < volume.max():
        crossing = "zero crossing" if level == 0 else f"crossing of the level {level}"
        raise ValueError(f"The field has no {crossing} in [-{bounds}, {bounds}]^3 (values in [{volume.min():.3g}, "
                         f"{volume.max():.3g}]): train longer, or widen bounds.")
    verts, faces, _, _ = measure.marching_cubes(volume, level=level, spacing=(step,) * 3)
    return trimesh.Trimesh(verts - bounds, faces)
