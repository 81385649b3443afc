"""Differentiable volumetric rendering (DVR): surfaces of an occupancy field learned from posed images and masks.

:class:`DVR` (registered ``dvr``) renders a ray by marching an occupancy field to its first outside-to-inside
crossing, refining it with the secant method, and reading a texture field there. The search runs without
gradients; the depth gets its gradient from implicit differentiation of f(p_hat) = tau.
"""

import math

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.common import average_loss, check_input, split_dtype_policy, with_regularization
from mpkeras.models.implicit.nerf import positional_encoding
from mpkeras.models.implicit.sdf import ScaledSoftplus
from mpkeras.registry import register_model


@register_model("dvr", dataset="scenes", metric="test PSNR (dB)")
@keras.saving.register_keras_serializable(package="mpkeras")
class DVR(keras.Model):
    """An occupancy field and a texture field rendered by ray marching with implicit-differentiation gradients.

    The occupancy network gives logits f_theta(p) (occupancy sigmoid(f), level tau = 0 in logits, i.e. 0.5 in
    occupancy) and the texture head t_theta(p) in [0, 1]^3 from a shared trunk. A ray r(t) = o + t w is
    evaluated at ``num_steps`` evenly spaced t in [near, far]; the first interval [t_a, t_b] with
    f(r(t_a)) < tau <= f(r(t_b)) is refined by ``secant_steps`` secant steps that keep the bracket,

        t_m = t_a - f_a (t_b - t_a) / (f_b - f_a),

    giving t_hat and p_hat = o + t_hat w (rays without a crossing have no surface and show the background).
    The colour is t_theta(p_hat). Differentiating f_theta(p_hat) = tau with respect to theta gives the depth
    gradient (Niemeyer et al., eq. 9)

        dp_hat/dtheta = -w (df/dp_hat . w)^-1 df/dtheta,

    so the march itself needs no gradients. Training (paper, Sec. 3.5) uses an L1 loss on the colour of rays
    inside the object mask where a surface is found, and occupancy losses from the masks: a random point on
    every ray outside the mask, and p_hat where such a ray found a surface, are pushed to occupancy 0; a random
    point on a ray inside the mask where no surface is found is pushed to 1.

    The trunk starts as a sphere of radius ``init_radius`` (f ~ r - ||p||, the geometric initialisation of
    IGR/SAL with the sign flipped for occupancy), so that rays find surfaces from the first step.

    Args:
        hidden_units: widths of the trunk's hidden layers.
        num_frequencies: L of the positional encoding (sin, cos)(2^k pi p), k < L, added to p (0: none).
        num_steps: evaluations per ray of the march.
        secant_steps: secant refinements of the first crossing.
        near, far: the ray segment that is searched (the ``scenes`` defaults: NEAR = 1.6, FAR = 3.4).
        background: grey level of rays that hit nothing.
        init_radius: radius of the initial sphere.
        beta: sharpness of the trunk's softplus(beta x) / beta activation.
        rgb_weight: weight of the L1 colour loss.
        occupancy_weight: weight of the mask losses.
        seed: seed of the random points of the mask losses.

    Example:
        >>> import numpy as np
        >>> model = DVR(hidden_units=(32, 32), num_steps=16)
        >>> origins = np.tile([[0.0, -2.5, 0.0]], (4, 1)).astype("float32")
        >>> directions = np.tile([[0.0, 1.0, 0.0]], (4, 1)).astype("float32")
        >>> out = model.render_rays(origins, directions)
        >>> out["rgb"].shape, out["depth"].shape, out["mask"].shape
        (TensorShape([4, 3]), TensorShape([4]), TensorShape([4]))

    Reference:
        Niemeyer, Mescheder, Oechsle, Geiger. "Differentiable Volumetric Rendering: Learning Implicit 3D
        Representations without 3D Supervision", CVPR 2020 (arXiv:1912.07372).
    """

    def __init__(self, hidden_units=(128, 128, 128, 128), num_frequencies=4, num_steps=64, secant_steps=8, near=1.6,
                 far=3.4, background=1.0, init_radius=0.5, beta=100.0, rgb_weight=1.0, occupancy_weight=1.0, seed=0,
                 **kwargs):
        network = split_dtype_policy(kwargs)  # ray marching and root finding in float32, the MLP in the policy
        super().__init__(**kwargs)
        # === Config ===
        self.hidden_units = tuple(hidden_units)
        self.num_frequencies = num_frequencies
        self.num_steps = num_steps
        self.secant_steps = secant_steps
        self.near = near
        self.far = far
        self.background = background
        self.init_radius = init_radius
        self.beta = beta
        self.rgb_weight = rgb_weight
        self.occupancy_weight = occupancy_weight
        self.seed = seed
        if not self.hidden_units:
            raise ValueError("hidden_units must name at least one layer width, e.g. (128, 128).")
        if num_steps < 2:
            raise ValueError(f"num_steps must be at least 2 (the march needs an interval), got {num_steps}.")
        if not 0 <= near < far:
            raise ValueError(f"Need 0 <= near < far, got near={near}, far={far}.")
        # === Layers ===
        # Geometric init: xyz enters with N(0, 2/units) weights, the encoding with zeros, so at the start
        # the logits are ~ r - ||p|| (an occupancy sphere).
        first = self.hidden_units[0]
        self.xyz_in = keras.layers.Dense(first, kernel_initializer=keras.initializers.RandomNormal(
            0.0, math.sqrt(2.0 / first), seed=seed), name="xyz_in", dtype=network)
        self.encoding_in = keras.layers.Dense(first, use_bias=False, kernel_initializer="zeros", name="encoding_in",
                                              dtype=network) if num_frequencies else None
        self.hidden = [keras.layers.Dense(units, kernel_initializer=keras.initializers.RandomNormal(
            0.0, math.sqrt(2.0 / units), seed=seed + i + 1), name=f"hidden_{i + 1}", dtype=network)
            for i, units in enumerate(self.hidden_units[1:])]
        self.activation = ScaledSoftplus(beta, name="softplus", dtype=network)
        self.occupancy_head = keras.layers.Dense(
            1, kernel_initializer=keras.initializers.RandomNormal(-math.sqrt(math.pi / self.hidden_units[-1]), 1e-5,
                                                                  seed=seed + 99),
            bias_initializer=keras.initializers.Constant(init_radius), name="occupancy", dtype=network)
        self.texture_head = keras.layers.Dense(3, activation="sigmoid", name="texture", dtype=network)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.rgb_tracker = keras.metrics.Mean(name="rgb_l1")
        self.occupancy_tracker = keras.metrics.Mean(name="occupancy_bce")

    # --- Fields (override to change the architecture) ----------------------------
    def trunk(self, points):
        """Shared features at ``points`` (N, 3): (N, H)."""
        h = self.xyz_in(points)  # (N, H)
        if self.encoding_in is not None:
            h = h + self.encoding_in(positional_encoding(points, self.num_frequencies)[:, 3:])  # sin, cos only
        h = self.activation(h)
        for layer in self.hidden:
            h = self.activation(layer(h))  # (N, H)
        return h

    def logits(self, points):
        """Occupancy logits f_theta(points): (N, 3) -> (N,)."""
        return tf.cast(tf.squeeze(self.occupancy_head(self.trunk(points)), -1), tf.float32)

    def texture(self, points):
        """Colour t_theta(points) in [0, 1]: (N, 3) -> (N, 3)."""
        return tf.cast(self.texture_head(self.trunk(points)), tf.float32)

    # --- Rendering ------------------------------------------------------------------
    def march(self, origins, directions):
        """The first crossing of f = 0 along each ray, without gradients: (t_hat (B,), found (B,) bool).

        ``num_steps`` evaluations at evenly spaced t find the first interval with f(t_a) < 0 <= f(t_b);
        ``secant_steps`` secant steps inside it (keeping the sign change bracketed) refine t_hat.
        """
        origins, directions = tf.stop_gradient(origins), tf.stop_gradient(directions)
        b = tf.shape(origins)[0]
        ts = tf.linspace(float(self.near), float(self.far), self.num_steps)  # (S,)
        points = origins[:, None, :] + ts[None, :, None] * directions[:, None, :]  # (B, S, 3)
        f = tf.reshape(self.logits(tf.reshape(points, (-1, 3))), (b, self.num_steps))  # (B, S)
        crossing = tf.logical_and(f[:, :-1] < 0.0, f[:, 1:] >= 0.0)  # (B, S-1) outside -> inside
        found = tf.reduce_any(crossing, axis=-1)  # (B,)
        first = tf.argmax(tf.cast(crossing, tf.int32), axis=-1, output_type=tf.int32)  # (B,) first True (0 if none)
        t_a, t_b = tf.gather(ts, first), tf.gather(ts, first + 1)  # (B,)
        f_a = tf.gather(f, first, batch_dims=1)  # (B,) < 0 where found
        f_b = tf.gather(f, first + 1, batch_dims=1)  # (B,) >= 0 where found
        # Rays without a crossing get a harmless bracket so that the secant never divides by zero.
        f_a, f_b = tf.where(found, f_a, -1.0), tf.where(found, f_b, 1.0)

        def secant(t_a, t_b, f_a, f_b):
            return t_a - f_a * (t_b - t_a) / (f_b - f_a)  # f_b - f_a > 0 inside a bracket

        def step(k, t_a, t_b, f_a, f_b):
            t_m = secant(t_a, t_b, f_a, f_b)  # (B,)
            f_m = self.logits(origins + t_m[:, None] * directions)  # (B,)
            outside = f_m < 0.0
            return (k + 1, tf.where(outside, t_m, t_a), tf.where(outside, t_b, t_m),
                    tf.where(outside, f_m, f_a), tf.where(outside, f_b, f_m))

        _, t_a, t_b, f_a, f_b = tf.while_loop(lambda k, *_: k < self.secant_steps, step,
                                              (tf.constant(0), t_a, t_b, f_a, f_b))
        return tf.stop_gradient(secant(t_a, t_b, f_a, f_b)), found

    def implicit_depth(self, origins, directions, t_hat, found, min_slope=1e-3):
        """t_hat with the implicit-differentiation gradient: (B,).

        We use a surrogate rather than ``tf.custom_gradient``: it needs no hand-written vector-Jacobian
        product over the variables and so works with any optimizer, strategy or subclassed field:

            t = stop(t_hat) - (f(p_hat; theta) - stop(f(p_hat; theta))) / stop(df/dp . w),  p_hat = o + stop(t_hat) w.

        Its value is exactly t_hat, and its gradient is dt/dtheta = -(df/dp . w)^-1 df/dtheta, so that
        dp_hat/dtheta = w dt/dtheta is the paper's formula. Through p_hat it also gives the implicit
        derivatives with respect to o and w. The slope df/dp . w is positive at an outside-to-inside
        crossing; it is floored at ``min_slope`` (and set to 1 where no surface is found) against blow-ups.
        """
        t_hat = tf.stop_gradient(t_hat)
        p_hat = origins + t_hat[:, None] * directions  # (B, 3)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(p_hat)
            f = self.logits(p_hat)  # (B,)
        slope = tf.stop_gradient(tf.reduce_sum(tape.gradient(f, p_hat) * directions, -1))  # (B,) df/dp . w
        slope = tf.where(found, tf.maximum(slope, min_slope), 1.0)
        return t_hat - (f - tf.stop_gradient(f)) / slope

    def call(self, inputs, training=False):
        """Renders rays {"origins", "directions"} (B, 3) -> {"rgb" (B, 3), "depth" (B,), "mask" (B,)}."""
        if not isinstance(inputs, dict) or not {"origins", "directions"} <= set(inputs):
            raise ValueError("DVR takes a dict of rays {'origins': (B, 3), 'directions': (B, 3)}; got "
                             f"{type(inputs).__name__}. Use model.render_rays(origins, directions) for two arrays.")
        origins = check_input(inputs["origins"], (3,), "origins")
        directions = tf.math.l2_normalize(check_input(inputs["directions"], (3,), "directions"), axis=-1)
        t_hat, found = self.march(origins, directions)  # (B,), (B,)
        t = self.implicit_depth(origins, directions, t_hat, found)  # (B,) value t_hat, implicit gradient
        surface = origins + t[:, None] * directions  # (B, 3) p_hat
        rgb = tf.where(found[:, None], self.texture(surface), self.background)  # (B, 3)
        return {"rgb": rgb, "depth": tf.where(found, t, 0.0), "mask": tf.cast(found, tf.float32)}

    # --- Loss -------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if not isinstance(y, dict) or not {"rgb", "mask"} <= set(y):
            raise ValueError("DVR trains on targets {'rgb': (B, 3) in [0, 1], 'mask': (B,) object mask} per ray; "
                             f"got {type(y).__name__}. Pass them as y, e.g. from mpkeras.data.scenes.load_rays.")
        origins = tf.convert_to_tensor(x["origins"], tf.float32)
        directions = tf.math.l2_normalize(tf.convert_to_tensor(x["directions"], tf.float32), axis=-1)
        inside = tf.cast(tf.reshape(y["mask"], (-1,)), tf.float32)  # (B,) ray hits the object (from the mask)
        found = y_pred["mask"]  # (B,) a surface is predicted
        rgb = tf.reduce_mean(tf.abs(y_pred["rgb"] - tf.cast(y["rgb"], tf.float32)), -1)  # (B,) L1
        rgb = inside * found * rgb
        # Mask losses: a random point per ray, and p_hat of rays that found a surface off the mask.
        u = keras.random.uniform(ops.shape(inside), seed=self.seed_generator)
        random_logits = self.logits(origins + (self.near + (self.far - self.near) * u)[:, None] * directions)
        hat_logits = self.logits(origins + tf.stop_gradient(y_pred["depth"])[:, None] * directions)
        bce = tf.nn.sigmoid_cross_entropy_with_logits
        occupancy = ((1.0 - inside) * bce(tf.zeros_like(u), random_logits)
                     + (1.0 - inside) * found * bce(tf.zeros_like(u), hat_logits)
                     + inside * (1.0 - found) * bce(tf.ones_like(u), random_logits))  # (B,)
        self.rgb_tracker.update_state(rgb)
        self.occupancy_tracker.update_state(occupancy)
        loss = self.rgb_weight * average_loss(rgb) + self.occupancy_weight * average_loss(occupancy)
        loss = with_regularization(loss, self.losses)
        return loss

    # --- Tensor-valued methods (exported) ----------------------------------------
    def render_rays(self, origins, directions):
        """{"rgb" (B, 3), "depth" (B,) (0 without a surface), "mask" (B,) (1 where a surface is found)}."""
        return self({"origins": origins, "directions": directions}, training=False)

    def occupancy(self, points):
        """{"occupancy" (B,) in [0, 1], "logits" (B,)} at ``points`` (B, 3)."""
        logits = self.logits(check_input(points, (3,), "points"))
        return {"occupancy": tf.sigmoid(logits), "logits": logits}

    def serving_endpoints(self):
        def spec(name):
            return tf.TensorSpec((None, 3), tf.float32, name=name)

        return {"render_rays": (self.render_rays, [spec("origins"), spec("directions")]),
                "occupancy": (self.occupancy, [spec("points")])}

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": self.hidden_units,
            "num_frequencies": self.num_frequencies,
            "num_steps": self.num_steps,
            "secant_steps": self.secant_steps,
            "near": self.near,
            "far": self.far,
            "background": self.background,
            "init_radius": self.init_radius,
            "beta": self.beta,
            "rgb_weight": self.rgb_weight,
            "occupancy_weight": self.occupancy_weight,
            "seed": self.seed,
        }
