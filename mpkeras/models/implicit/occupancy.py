"""Occupancy networks: a point-cloud encoder and a conditional occupancy decoder.

:class:`OccupancyNetwork` (registered ``occupancy_net``) encodes a surface point cloud
into a shape code z with a ResNet-PointNet and decodes p -> P(p inside | z) with an MLP
conditioned on z by FiLM. Meshes come from marching cubes of the 0.5 level set
(:func:`mpkeras.models.implicit.extract_mesh` with ``level=0.5``).
"""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.common import average_loss, check_input, with_regularization
from mpkeras.registry import register_model


@keras.saving.register_keras_serializable(package="mpkeras")
class ResnetBlockFC(keras.layers.Layer):
    """x_s + W_1 relu(W_0 relu(x)): a fully connected residual block applied to the last axis.

    The shortcut x_s is x itself when the widths agree, else a linear map without bias.
    The second layer starts at zero, so a new block is the identity (on its shortcut).
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.fc_0 = keras.layers.Dense(units, name="fc_0")
        self.fc_1 = keras.layers.Dense(units, kernel_initializer="zeros", name="fc_1")
        self.shortcut = None

    def build(self, input_shape):
        if input_shape[-1] != self.units:
            self.shortcut = keras.layers.Dense(self.units, use_bias=False, name="shortcut")
            self.shortcut.build(input_shape)
        self.fc_0.build(input_shape)
        self.fc_1.build((*input_shape[:-1], self.units))

    def call(self, x):
        dx = self.fc_1(ops.relu(self.fc_0(ops.relu(x))))
        return (self.shortcut(x) if self.shortcut is not None else x) + dx

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_model("occupancy_net", dataset="shapes3d", metric="test IoU")
@keras.saving.register_keras_serializable(package="mpkeras")
class OccupancyNetwork(keras.Model):
    """Occupancy network: a ResNet-PointNet encoder of a point cloud and a FiLM-conditioned occupancy decoder.

    The encoder maps a cloud X = {x_j} (M points) to a code z (Mescheder et al.'s
    ResNet-PointNet): h_j = W_pos x_j, then residual blocks on the points, between
    which every h_j is concatenated with max_k h_k (the pooled shape feature), and
    finally z = W_z relu(max_j h_j). Max pooling makes z invariant to the order of
    the points. The decoder is an MLP f_theta(p, z) -> logit with residual blocks,
    each conditioned on z by feature-wise linear modulation (FiLM):

        g_0 = W_p p,   g_{i+1} = Block_i((1 + gamma_i(z)) * g_i + beta_i(z)),   logit = w^T relu(g_L),

    o(p) = sigmoid(logit) in [0, 1] the probability that p lies inside the shape. The
    loss is the binary cross-entropy of o at query points p_ij with labels y_ij,

        L = -1/(B N) sum_ij [y_ij log o(p_ij) + (1 - y_ij) log(1 - o(p_ij))].

    (The paper conditions by conditional batch normalisation; FiLM is the same affine
    modulation without the batch statistics, so training and inference agree.)

    Inputs are a dict ``{"cloud": (B, M, 3), "points": (B, N, 3)}`` (or the tuple
    ``(cloud, points)``); ``call`` returns the logits (B, N), and ``fit`` takes the
    labels (B, N) in {0, 1} as ``y``.

    Args:
        code_dim: size of the shape code z.
        encoder_units: width of the encoder's blocks.
        decoder_units: width of the decoder's blocks.
        encoder_blocks: residual blocks of the encoder (at least 1).
        decoder_blocks: residual blocks of the decoder.

    Example:
        >>> import numpy as np
        >>> model = OccupancyNetwork(code_dim=32, encoder_units=32, decoder_units=32)
        >>> cloud = np.random.uniform(-0.5, 0.5, (2, 300, 3)).astype("float32")
        >>> points = np.random.uniform(-0.5, 0.5, (2, 64, 3)).astype("float32")
        >>> model.predict_occupancy(cloud, points)["occupancy"].shape
        TensorShape([2, 64])
        >>> code = model.encode(cloud)["code"]  # (2, 32), reused for any number of points
        >>> model.occupancy(points, code)["occupancy"].shape
        TensorShape([2, 64])

    Reference:
        Mescheder, Oechsle, Niemeyer, Nowozin, Geiger. "Occupancy Networks: Learning 3D Reconstruction in
        Function Space", CVPR 2019 (arXiv:1812.03828). FiLM: Perez et al., "FiLM: Visual Reasoning with a
        General Conditioning Layer", AAAI 2018.
    """

    def __init__(self, code_dim=128, encoder_units=128, decoder_units=128, encoder_blocks=5, decoder_blocks=5,
                 **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        if encoder_blocks < 1:
            raise ValueError(f"encoder_blocks must be at least 1, got {encoder_blocks}.")
        self.code_dim = code_dim
        self.encoder_units = encoder_units
        self.decoder_units = decoder_units
        self.encoder_blocks = encoder_blocks
        self.decoder_blocks = decoder_blocks
        # === Layers ===
        self.enc_pos = keras.layers.Dense(2 * encoder_units, name="enc_pos")
        self.enc_blocks = [ResnetBlockFC(encoder_units, name=f"enc_block_{i}") for i in range(encoder_blocks)]
        self.enc_code = keras.layers.Dense(code_dim, name="enc_code")
        self.dec_pos = keras.layers.Dense(decoder_units, name="dec_pos")
        self.dec_film = [keras.layers.Dense(2 * decoder_units, kernel_initializer="zeros", name=f"dec_film_{i}")
                         for i in range(decoder_blocks)]
        self.dec_blocks = [ResnetBlockFC(decoder_units, name=f"dec_block_{i}") for i in range(decoder_blocks)]
        self.dec_out = keras.layers.Dense(1, name="dec_out")
        self.bce_tracker = keras.metrics.Mean(name="bce")

    # --- Networks (override to change the architecture) --------------------------
    def encoder(self, cloud):
        """z = ResNet-PointNet(cloud): (B, M, 3) -> (B, Z)."""
        h = self.enc_blocks[0](self.enc_pos(cloud))  # (B, M, H)
        for block in self.enc_blocks[1:]:
            pooled = ops.max(h, axis=1, keepdims=True)  # (B, 1, H)
            h = block(ops.concatenate([h, ops.broadcast_to(pooled, ops.shape(h))], axis=-1))  # (B, M, H)
        return self.enc_code(ops.relu(ops.max(h, axis=1)))  # (B, Z)

    def decoder(self, points, code):
        """logit f(p, z): points (B, N, 3), code (B, Z) -> (B, N)."""
        g = self.dec_pos(points)  # (B, N, H)
        for film, block in zip(self.dec_film, self.dec_blocks):
            gamma, beta = ops.split(film(code)[:, None, :], 2, axis=-1)  # (B, 1, H) each
            g = block((1.0 + gamma) * g + beta)  # (B, N, H)
        return self.dec_out(ops.relu(g))[..., 0]  # (B, N)

    @staticmethod
    def _split_inputs(inputs):
        if isinstance(inputs, dict):
            missing = {"cloud", "points"} - set(inputs)
            if missing:
                raise ValueError(f"OccupancyNetwork takes a dict with keys 'cloud' (B, M, 3) and 'points' (B, N, 3); "
                                 f"{sorted(missing)} missing (got {sorted(inputs)}).")
            return inputs["cloud"], inputs["points"]
        if isinstance(inputs, list | tuple) and len(inputs) == 2:
            return inputs
        raise ValueError("OccupancyNetwork takes {'cloud': (B, M, 3), 'points': (B, N, 3)} or the tuple "
                         f"(cloud, points); got {type(inputs).__name__}.")

    def call(self, inputs, training=False):
        """Occupancy logits of ``inputs["points"]`` given ``inputs["cloud"]``: (B, N)."""
        cloud, points = self._split_inputs(inputs)
        return self.decoder(points, self.encoder(cloud))

    def compute_output_spec(self, inputs, training=False):
        _, points = self._split_inputs(inputs)
        return keras.KerasTensor(points.shape[:2], dtype="float32")

    # --- Loss -----------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y is None:
            raise ValueError("OccupancyNetwork.fit needs the inside/outside labels (B, N) of the query points as y.")
        labels = ops.cast(ops.reshape(y, ops.shape(y_pred)), y_pred.dtype)
        bce = ops.mean(ops.binary_crossentropy(labels, y_pred, from_logits=True), axis=-1)  # (B,)
        self.bce_tracker.update_state(bce)
        return with_regularization(average_loss(bce), self.losses)

    # --- Tensor-valued methods (exported) -----------------------------------------------
    def encode(self, cloud):
        """{"code": (B, Z)} the shape code of a point cloud (B, M, 3)."""
        return {"code": self.encoder(check_input(cloud, (None, 3), "cloud"))}

    def occupancy(self, points, code):
        """{"occupancy": (B, N) in [0, 1], "logits": (B, N)} at ``points`` (B, N, 3) of the shapes ``code`` (B, Z)."""
        logits = self.decoder(check_input(points, (None, 3), "points"), check_input(code, (self.code_dim,), "code"))
        return {"occupancy": tf.sigmoid(logits), "logits": logits}

    def predict_occupancy(self, cloud, points):
        """{"occupancy", "logits"} at ``points`` (B, N, 3) of the shapes seen as ``cloud`` (B, M, 3)."""
        return self.occupancy(points, self.encode(cloud)["code"])

    def serving_endpoints(self):
        cloud = tf.TensorSpec((None, None, 3), tf.float32, name="cloud")
        points = tf.TensorSpec((None, None, 3), tf.float32, name="points")
        code = tf.TensorSpec((None, self.code_dim), tf.float32, name="code")
        return {"serving_default": (self.predict_occupancy, [cloud, points]),
                "occupancy": (self.occupancy, [points, code]),
                "encode": (self.encode, [cloud])}

    def get_config(self):
        return {
            **super().get_config(),
            "code_dim": self.code_dim,
            "encoder_units": self.encoder_units,
            "decoder_units": self.decoder_units,
            "encoder_blocks": self.encoder_blocks,
            "decoder_blocks": self.decoder_blocks,
        }
