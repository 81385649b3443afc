"""Neural radiance fields (NeRF): volume rendering of an MLP density and colour field.

:class:`NeRF` (registered ``nerf``) maps a 3-D point and a view direction to a density and a colour,
renders rays by alpha compositing stratified coarse samples plus hierarchical fine samples, and is trained
on posed images (the embedded ``scenes`` views) by the squared error of the rendered pixel colours.
The building blocks are functions so that they can be tested on hand cases: :func:`positional_encoding`,
:func:`stratified_samples`, :func:`composite` and :func:`sample_pdf`.
"""

import math

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.common import average_loss, check_input, split_dtype_policy, with_regularization
from mpkeras.registry import register_model


# --- Building blocks (pure functions) ------------------------------------------
def positional_encoding(p, num_frequencies):
    """gamma(p) = (p, sin(2^k pi p), cos(2^k pi p) for k < L): (..., D) -> (..., D (1 + 2L)).

    The features are ordered p, then all sines (k = 0..L-1, each over the D coordinates), then all cosines.
    """
    if num_frequencies == 0:
        return p
    scales = (2.0 ** tf.range(num_frequencies, dtype=p.dtype)) * math.pi  # (L,)
    angles = tf.reshape(p[..., None, :] * scales[:, None], tf.concat([tf.shape(p)[:-1], [-1]], 0))  # (..., L D)
    return tf.concat([p, tf.sin(angles), tf.cos(angles)], axis=-1)


def stratified_samples(near, far, batch, num_samples, uniform=None):
    """Sample depths t (B, N) in [near, far]: one per equal bin, at the bin's midpoint or jittered.

    t_i = near + (i + u_i) (far - near) / N with u_i = 1/2 (``uniform`` None: deterministic midpoints) or
    u_i ~ U(0, 1) given as ``uniform`` (B, N). Returns (t (B, N), bin edges (B, N + 1)).
    """
    edges = tf.linspace(tf.cast(near, tf.float32), tf.cast(far, tf.float32), num_samples + 1)  # (N + 1,)
    edges = tf.broadcast_to(edges, [batch, num_samples + 1])  # (B, N + 1)
    lower, width = edges[:, :-1], edges[:, 1:] - edges[:, :-1]
    u = 0.5 if uniform is None else uniform
    return lower + u * width, edges


def composite(sigma, rgb, deltas, t=None, background=1.0):
    """Alpha compositing along rays (NeRF's quadrature of the volume rendering integral).

        alpha_i = 1 - exp(-sigma_i delta_i),   T_i = prod_{j<i} (1 - alpha_j) = exp(-sum_{j<i} sigma_j delta_j),
        w_i = T_i alpha_i,   C = sum_i w_i c_i + (1 - sum_i w_i) background.

    Args:
        sigma: densities (B, N) >= 0.
        rgb: colours (B, N, 3).
        deltas: interval lengths delta_i (B, N) >= 0.
        t: sample depths (B, N) for the expected depth sum_i w_i t_i (None: depth is not computed).
        background: grey level seen by the light that passes every sample.

    Returns:
        Dict with ``rgb`` (B, 3), ``weights`` (B, N) in [0, 1] summing to at most 1, ``opacity`` (B,) = sum_i w_i
        and, given ``t``, ``depth`` (B,) = sum_i w_i t_i (0 for an empty ray, as in the ``scenes`` depth maps).
    """
    tau = sigma * deltas  # (B, N) optical thickness of each interval
    alpha = 1.0 - tf.exp(-tau)  # (B, N)
    transmittance = tf.exp(-tf.cumsum(tau, axis=-1, exclusive=True))  # (B, N) T_i
    weights = transmittance * alpha  # (B, N)
    opacity = tf.reduce_sum(weights, axis=-1)  # (B,)
    colour = tf.reduce_sum(weights[..., None] * rgb, axis=-2) + (1.0 - opacity[..., None]) * background  # (B, 3)
    out = {"rgb": colour, "weights": weights, "opacity": opacity}
    if t is not None:
        out["depth"] = tf.reduce_sum(weights * t, axis=-1)  # (B,)
    return out


def sample_pdf(edges, weights, u):
    """Inverse-transform sampling of the piecewise-constant pdf with mass ``weights`` on the bins ``edges``.

    The pdf is p(t) = w_i / (sum_j w_j) / (e_{i+1} - e_i) on bin [e_i, e_{i+1}) (a small constant is added to
    every w_i, so an all-zero ray samples uniformly); with its cdf F, the samples are t = F^{-1}(u).

    Args:
        edges: sorted bin edges (B, N + 1).
        weights: non-negative bin masses (B, N); no gradient flows through them.
        u: quantiles in [0, 1) (B, M): U(0, 1) draws while training, fixed quantiles for deterministic renders.

    Returns:
        Samples t (B, M) inside [edges[:, 0], edges[:, -1]], sorted where ``u`` is sorted.
    """
    weights = tf.stop_gradient(weights) + 1e-5  # (B, N)
    pdf = weights / tf.reduce_sum(weights, axis=-1, keepdims=True)  # (B, N)
    cdf = tf.concat([tf.zeros_like(pdf[:, :1]), tf.minimum(tf.cumsum(pdf, axis=-1), 1.0)], axis=-1)  # (B, N + 1)
    num_bins = tf.shape(weights)[-1]
    index = tf.searchsorted(cdf, u, side="right")  # (B, M) first cdf entry > u
    below = tf.clip_by_value(index - 1, 0, num_bins - 1)  # (B, M) the bin that holds u
    cdf_below = tf.gather(cdf, below, batch_dims=1)
    cdf_above = tf.gather(cdf, below + 1, batch_dims=1)
    edge_below = tf.gather(edges, below, batch_dims=1)
    edge_above = tf.gather(edges, below + 1, batch_dims=1)
    fraction = tf.clip_by_value((u - cdf_below) / tf.maximum(cdf_above - cdf_below, 1e-10), 0.0, 1.0)
    return tf.stop_gradient(edge_below + fraction * (edge_above - edge_below))  # (B, M)


def intervals(t, far):
    """delta_i = t_{i+1} - t_i for sorted depths t (B, N), and far - t_N for the last sample."""
    return tf.concat([t[:, 1:] - t[:, :-1], tf.maximum(far - t[:, -1:], 0.0)], axis=-1)  # (B, N)


# --- The radiance field ---------------------------------------------------------
@keras.saving.register_keras_serializable(package="mpkeras")
class RadianceField(keras.layers.Layer):
    """F(x, d) = (sigma, c): an MLP on gamma(x) gives sigma >= 0 (softplus) and a feature; the feature and
    gamma(d) give the colour c in [0, 1] (sigmoid). The view direction enters only the last layers, so sigma
    does not depend on it.

    Args:
        hidden_units: widths of the position trunk (ReLU); the input gamma(x) is concatenated again after
            the layer index ``skip`` (NeRF's skip connection; None: no skip).
        colour_units: width of the view-dependent colour layer.
        position_frequencies: L of gamma(x).
        direction_frequencies: L of gamma(d).
        skip: see ``hidden_units``.
    """

    def __init__(self, hidden_units=(128, 128, 128, 128), colour_units=64, position_frequencies=8,
                 direction_frequencies=4, skip=None, network_dtype=None, **kwargs):
        # The encodings sin(2^k pi p) need float32 (2^k pi p reaches thousands); the MLPs take network_dtype.
        network_dtype = keras.dtype_policies.get(network_dtype or split_dtype_policy(kwargs))
        kwargs["dtype"] = network_dtype.variable_dtype
        super().__init__(**kwargs)
        self.hidden_units = tuple(hidden_units)
        self.colour_units = colour_units
        self.position_frequencies = position_frequencies
        self.direction_frequencies = direction_frequencies
        self.skip = skip
        self.network_dtype = keras.dtype_policies.get(network_dtype)
        kw = dict(dtype=self.network_dtype)
        self.trunk = [keras.layers.Dense(u, activation="relu", name=f"trunk_{i}", **kw)
                      for i, u in enumerate(hidden_units)]
        self.sigma_head = keras.layers.Dense(1, name="sigma", **kw)
        self.feature = keras.layers.Dense(self.hidden_units[-1], name="feature", **kw)
        self.colour_hidden = keras.layers.Dense(colour_units, activation="relu", name="colour_hidden", **kw)
        self.colour_head = keras.layers.Dense(3, activation="sigmoid", name="rgb", **kw)

    def _trunk(self, points):
        encoded = positional_encoding(points, self.position_frequencies)  # (P, 3 (1 + 2L)) float32
        h = encoded
        for i, layer in enumerate(self.trunk):
            h = layer(h)  # (P, H) in the network dtype
            if self.skip is not None and i == self.skip:
                h = tf.concat([tf.cast(h, encoded.dtype), encoded], axis=-1)
        return h

    def density(self, points):
        """sigma(x) (P,) >= 0 at points (P, 3), float32."""
        return tf.nn.softplus(tf.cast(self.sigma_head(self._trunk(points))[:, 0], tf.float32))

    def call(self, points, directions):
        """points (P, 3), unit directions (P, 3) -> (sigma (P,), rgb (P, 3)), float32."""
        h = self._trunk(points)  # (P, H)
        sigma = tf.nn.softplus(tf.cast(self.sigma_head(h)[:, 0], tf.float32))  # (P,)
        encoded = positional_encoding(directions, self.direction_frequencies)
        view = tf.concat([tf.cast(self.feature(h), encoded.dtype), encoded], -1)
        return sigma, tf.cast(self.colour_head(self.colour_hidden(view)), tf.float32)  # (P,), (P, 3)

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units, "colour_units": self.colour_units,
                "position_frequencies": self.position_frequencies,
                "direction_frequencies": self.direction_frequencies, "skip": self.skip,
                "network_dtype": keras.dtype_policies.serialize(self.network_dtype)}


@register_model("nerf", dataset="scenes", metric="test PSNR (dB)")
@keras.saving.register_keras_serializable(package="mpkeras")
class NeRF(keras.Model):
    """Neural radiance field rendered with stratified coarse and hierarchical fine sampling (NeRF).

    A field F(x, d) = (sigma, c) (:class:`RadianceField`: positional encoding
    gamma(p) = (p, sin(2^k pi p), cos(2^k pi p))_{k<L}, an MLP on gamma(x) for sigma >= 0 and a feature,
    then (feature, gamma(d)) -> c in [0, 1]) is rendered along the ray r(t) = o + t d, t in [near, far]:

        C(r) = sum_i T_i alpha_i c_i + (1 - sum_i T_i alpha_i) background,
        alpha_i = 1 - exp(-sigma_i delta_i),  T_i = prod_{j<i} (1 - alpha_j),  delta_i = t_{i+1} - t_i.

    Coarse pass: N_c stratified depths t_i = near + (i + u_i)(far - near)/N_c (u_i ~ U(0, 1) while training,
    1/2 when rendering), rendered with the coarse field. Fine pass: N_f depths drawn by inverse-transform
    sampling from the piecewise-constant pdf of the coarse weights w_i = T_i alpha_i (u ~ U(0, 1) while training,
    the fixed quantiles (k + 1/2)/N_f when rendering), merged with the coarse depths and rendered with the fine
    field. Loss: ||C_coarse(r) - C(r)||^2 + ||C_fine(r) - C(r)||^2, averaged over rays and channels. Rendering
    is deterministic, so ``render_rays`` (serving_default) gives the same image on every call.

    Inputs of ``call``: a dict with ``origins`` and ``directions`` (B, 3) (directions are normalised, so t is
    distance). Outputs: ``rgb`` (fine), ``rgb_coarse`` (B, 3), ``depth`` sum_i w_i t_i (0 on empty rays) and
    ``opacity`` sum_i w_i (B,).

    Args:
        hidden_units: widths of each field's position trunk.
        colour_units: width of the view-dependent colour layer.
        position_frequencies: L of gamma(x) (the paper: 10).
        direction_frequencies: L of gamma(d) (the paper: 4).
        skip: trunk layer after which gamma(x) is concatenated again (None: no skip).
        num_coarse: N_c, coarse samples per ray (the paper: 64).
        num_fine: N_f, fine samples per ray (the paper: 128); 0 renders with the coarse field only.
        near, far: the depth range of every ray (``mpkeras.data.scenes.NEAR`` / ``FAR`` by default).
        background: grey level behind the scene (``scenes.BACKGROUND``: white).
        seed: seed of the training-time sampling.

    Example:
        >>> from mpkeras.data.scenes import load_rays
        >>> rays = load_rays("train")
        >>> model = NeRF(hidden_units=(64, 64), num_coarse=16, num_fine=16)
        >>> model.compile(optimizer="adam")
        >>> x = {"origins": rays["origins"], "directions": rays["directions"]}
        >>> model.fit(x, rays["rgb"], batch_size=1024, epochs=1, verbose=0)  # doctest: +SKIP
        >>> model.render_rays(rays["origins"][:4], rays["directions"][:4])["rgb"].shape
        TensorShape([4, 3])

    Reference:
        Mildenhall, Srinivasan, Tancik, Barron, Ramamoorthi, Ng. "NeRF: Representing Scenes as Neural
        Radiance Fields for View Synthesis", ECCV 2020 (arXiv:2003.08934).
    """

    def __init__(self, hidden_units=(128, 128, 128, 128), colour_units=64, position_frequencies=8,
                 direction_frequencies=4, skip=None, num_coarse=32, num_fine=32, near=1.6, far=3.4,
                 background=1.0, seed=0, **kwargs):
        network_dtype = split_dtype_policy(kwargs)  # rendering in float32, the fields' MLPs in the policy
        super().__init__(**kwargs)
        # === Config ===
        self.hidden_units = tuple(hidden_units)
        self.colour_units = colour_units
        self.position_frequencies = position_frequencies
        self.direction_frequencies = direction_frequencies
        self.skip = skip
        self.num_coarse = num_coarse
        self.num_fine = num_fine
        self.near = float(near)
        self.far = float(far)
        self.background = float(background)
        self.seed = seed
        if not 0.0 <= self.near < self.far:
            raise ValueError(f"NeRF needs 0 <= near < far, got near={near}, far={far}.")
        if num_coarse < 1 or num_fine < 0:
            raise ValueError(f"NeRF needs num_coarse >= 1 and num_fine >= 0, got {num_coarse} and {num_fine}.")
        # === Layers ===
        field = dict(hidden_units=hidden_units, colour_units=colour_units, position_frequencies=position_frequencies,
                     direction_frequencies=direction_frequencies, skip=skip, network_dtype=network_dtype)
        self.coarse = RadianceField(**field, name="coarse")
        self.fine = RadianceField(**field, name="fine") if num_fine else None
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.coarse_tracker = keras.metrics.Mean(name="mse_coarse")
        self.fine_tracker = keras.metrics.Mean(name="mse_fine")

    # --- Rendering ----------------------------------------------------------------
    def _render_field(self, field, origins, directions, t):
        """Composites ``field`` at depths t (B, N) along the rays."""
        b, n = tf.shape(t)[0], tf.shape(t)[1]
        points = origins[:, None, :] + t[..., None] * directions[:, None, :]  # (B, N, 3)
        views = tf.broadcast_to(directions[:, None, :], tf.shape(points))  # (B, N, 3)
        sigma, rgb = field(tf.reshape(points, [-1, 3]), tf.reshape(views, [-1, 3]))  # (B N,), (B N, 3)
        return composite(tf.reshape(sigma, [b, n]), tf.reshape(rgb, [b, n, 3]), intervals(t, self.far), t,
                         self.background)

    def call(self, inputs, training=False):
        """Renders rays: {"origins", "directions"} (B, 3) -> {"rgb", "rgb_coarse" (B, 3), "depth", "opacity" (B,)}."""
        if not isinstance(inputs, dict) or not {"origins", "directions"} <= set(inputs):
            raise ValueError("NeRF takes a dict of rays {'origins': (B, 3), 'directions': (B, 3)}, got "
                             f"{type(inputs).__name__}; e.g. mpkeras.data.scenes.load_rays gives both arrays.")
        origins = tf.convert_to_tensor(inputs["origins"], tf.float32)  # (B, 3)
        directions = tf.math.l2_normalize(tf.convert_to_tensor(inputs["directions"], tf.float32), axis=-1)  # (B, 3)
        b = tf.shape(origins)[0]
        jitter = keras.random.uniform((b, self.num_coarse), seed=self.seed_generator) if training else None
        t_coarse, edges = stratified_samples(self.near, self.far, b, self.num_coarse, jitter)  # (B, Nc), (B, Nc + 1)
        coarse = self._render_field(self.coarse, origins, directions, t_coarse)
        if self.fine is None:
            return {"rgb": coarse["rgb"], "rgb_coarse": coarse["rgb"], "depth": coarse["depth"],
                    "opacity": coarse["opacity"]}
        if training:
            u = keras.random.uniform((b, self.num_fine), seed=self.seed_generator)  # (B, Nf)
        else:
            u = tf.broadcast_to((tf.range(self.num_fine, dtype=tf.float32) + 0.5) / self.num_fine, [b, self.num_fine])
        t_fine = sample_pdf(edges, coarse["weights"], u)  # (B, Nf)
        t_all = tf.sort(tf.concat([tf.stop_gradient(t_coarse), t_fine], axis=-1), axis=-1)  # (B, Nc + Nf)
        fine = self._render_field(self.fine, origins, directions, t_all)
        return {"rgb": fine["rgb"], "rgb_coarse": coarse["rgb"], "depth": fine["depth"], "opacity": fine["opacity"]}

    def compute_output_spec(self, inputs, training=False):
        b = inputs["origins"].shape[0]
        return {"rgb": keras.KerasTensor((b, 3)), "rgb_coarse": keras.KerasTensor((b, 3)),
                "depth": keras.KerasTensor((b,)), "opacity": keras.KerasTensor((b,))}

    # --- Loss -------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        y = ops.convert_to_tensor(y, "float32")  # (B, 3) pixel colours in [0, 1]
        mse_coarse = ops.mean(ops.square(y_pred["rgb_coarse"] - y), axis=-1)  # (B,)
        mse_fine = ops.mean(ops.square(y_pred["rgb"] - y), axis=-1)  # (B,)
        self.coarse_tracker.update_state(mse_coarse)
        self.fine_tracker.update_state(mse_fine)
        loss = average_loss(mse_coarse) + (average_loss(mse_fine) if self.fine is not None else 0.0)
        return with_regularization(loss, self.losses)

    # --- Tensor-valued methods (exported) ----------------------------------------
    def render_rays(self, origins, directions):
        """{"rgb" (B, 3), "depth" (B,), "opacity" (B,)}: the deterministic fine render of the rays."""
        out = self({"origins": check_input(origins, (3,), "origins"),
                    "directions": check_input(directions, (3,), "directions")}, training=False)
        return {"rgb": out["rgb"], "depth": out["depth"], "opacity": out["opacity"]}

    def density(self, points):
        """{"sigma": (B,)}: the density of the fine field (the coarse one if num_fine = 0) at points (B, 3)."""
        return {"sigma": (self.fine or self.coarse).density(check_input(points, (3,), "points"))}

    def serving_endpoints(self):
        origins = tf.TensorSpec((None, 3), tf.float32, name="origins")
        directions = tf.TensorSpec((None, 3), tf.float32, name="directions")
        points = tf.TensorSpec((None, 3), tf.float32, name="points")
        return {"render_rays": (self.render_rays, [origins, directions]), "density": (self.density, [points])}

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": self.hidden_units,
            "colour_units": self.colour_units,
            "position_frequencies": self.position_frequencies,
            "direction_frequencies": self.direction_frequencies,
            "skip": self.skip,
            "num_coarse": self.num_coarse,
            "num_fine": self.num_fine,
            "near": self.near,
            "far": self.far,
            "background": self.background,
            "seed": self.seed,
        }
