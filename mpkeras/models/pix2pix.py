"""Pix2Pix: image-to-image translation with a conditional GAN, a U-Net generator and a PatchGAN discriminator."""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.common import average_loss, check_images, check_input, unscale_loss
from mpkeras.models.gan import TwoOptimizers
from mpkeras.models.segmentation import UNet
from mpkeras.registry import register_model


@keras.saving.register_keras_serializable(package="mpkeras")
class UNetGenerator(UNet):
    """The vision :class:`~mpkeras.models.UNet` as an image-to-image generator: ``num_classes`` = output channels.

    Its output is per-pixel values (B, H, W, C_out); :class:`Pix2Pix` clips them
    to [0, 1]. One output channel is allowed (a segmenter needs two classes).
    """

    min_classes = 1


def patch_receptive_field(num_strided, kernel=4, stride=2, last_kernel=3):
    """Receptive field (pixels per side) of ``num_strided`` k x k stride-s convs, then a last_kernel stride-1 conv.

    From the top: r = last_kernel, then r <- s (r - 1) + k for each strided layer.
    """
    r = last_kernel
    for _ in range(num_strided):
        r = stride * (r - 1) + kernel
    return r


@register_model("pix2pix", dataset="mnist5k_inpaint", metric="test_fd_mnist5k")
@keras.saving.register_keras_serializable(package="mpkeras")
class Pix2Pix(TwoOptimizers, keras.Model):
    """Pix2Pix: a U-Net G: x -> y trained with a conditional PatchGAN D and an L1 term.

    The generator G is :class:`UNetGenerator` (the vision U-Net: conv blocks,
    max pooling, transposed-conv upsampling, skip connections) with its output
    clipped to [0, 1]: G(x) = clip(U(x), 0, 1). (A sigmoid, as the paper's tanh,
    measured worse here: L1's constant-size gradient drives the mostly-black
    digits' logits to -inf within one epoch, the sigmoid saturates and G
    outputs all zeros; with the clip, pixels that reach 0 or 1 simply stop
    getting gradient.) As in the paper there is no z: the only
    noise is the dropout at the U-Net's bottleneck during training, and
    ``call(x) = G(x)`` is deterministic at inference.

    The discriminator D is a PatchGAN: it sees the pair (x, y) concatenated on
    channels and returns a grid of logits, one per overlapping patch:
    ``len(discriminator_filters)`` 4x4 stride-2 convs (LeakyReLU 0.2), then a
    3x3 stride-1 conv to one logit. With the default two strided convs a 28x28
    pair gives a 7x7 grid and each logit sees an 18x18 patch
    (r = 3, then r <- 2 (r - 1) + 4 twice: 3 -> 8 -> 18; :attr:`receptive_field`).
    D has no batch norm (the paper's C128 has one), so each patch logit depends on its own example only.

    Losses (Isola et al. 2017, eq. 1-4), with l = D's patch logits and means over patches and the batch:

        L_cGAN(G, D) = E[log D(x, y)] + E[log(1 - D(x, G(x)))]
        L_D = -1/2 L_cGAN = 1/2 (E[softplus(-D(x, y))] + E[softplus(D(x, G(x)))])  (patch-wise BCE, halved as
              in the paper)
        L_G = gan_weight * E[softplus(-D(x, G(x)))] + l1_weight * E|y - G(x)|

    G's adversarial term is the non-saturating -log D(x, G(x)). E|y - G(x)| is
    the mean absolute error per pixel on the [0, 1] scale. ``gan_weight = 0``
    trains the same U-Net with L1 alone (D is then never updated and adds
    nothing to G's gradient): the baseline of the paper's Table 1.

    ``train_step`` makes one D update (D variables only) and then one G update
    (G variables only), each with its own optimizer (``compile(generator_optimizer=...,
    discriminator_optimizer=...)``, from :class:`~mpkeras.models.gan.TwoOptimizers`;
    default Adam(2e-4, beta_1=0.5), as in the paper).
    :meth:`compute_loss` returns L_G (what ``fit`` reports as ``loss`` and
    ``evaluate`` returns), and ``d_loss``, ``g_gan`` and ``l1`` are reported too.

    Args:
        input_shape: (H, W, C_in) of x; H and W multiples of 2^(len(filters) - 1).
        output_channels: C_out of y.
        filters: the U-Net's widths per level (the last is the bottleneck).
        convs_per_block: 3x3 convs per U-Net block.
        batch_norm: batch norm in the U-Net's conv blocks.
        dropout: the U-Net's bottleneck dropout (the generator's noise).
        discriminator_filters: widths of PatchGAN's 4x4 stride-2 convs.
        l1_weight: lambda, the weight of the L1 term.
        gan_weight: the weight of G's adversarial term; 0 gives L1-only training.
        seed: seed of the dropout.

    Example:
        >>> model = Pix2Pix(input_shape=(28, 28, 1), l1_weight=100.0)
        >>> model.compile()                          # Adam(2e-4, beta_1=0.5) for G and D
        >>> model.fit(masked_digits, digits, epochs=10)
        >>> model.translate(masked_digits)["outputs"]  # (B, 28, 28, 1) in [0, 1]

    Reference:
        Isola, Zhu, Zhou and Efros, "Image-to-Image Translation with Conditional
        Adversarial Networks", CVPR 2017; Ronneberger, Fischer and Brox, "U-Net",
        MICCAI 2015.
    """

    def __init__(self, input_shape=(28, 28, 1), output_channels=1, filters=(32, 64, 128), convs_per_block=2,
                 batch_norm=False, dropout=0.5, discriminator_filters=(64, 128), l1_weight=100.0, gan_weight=1.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (height, width, channels), got {tuple(input_shape)}.")
        if l1_weight < 0 or gan_weight < 0:
            raise ValueError(f"l1_weight and gan_weight must be >= 0, got {l1_weight} and {gan_weight}.")
        if not discriminator_filters:
            raise ValueError("discriminator_filters needs at least one strided conv, e.g. (64, 128).")
        # === Config ===
        self.input_shape = tuple(input_shape)
        self.output_channels = int(output_channels)
        self.filters = tuple(int(f) for f in filters)
        self.convs_per_block = int(convs_per_block)
        self.batch_norm = bool(batch_norm)
        self.dropout = float(dropout)
        self.discriminator_filters = tuple(int(f) for f in discriminator_filters)
        self.l1_weight = float(l1_weight)
        self.gan_weight = float(gan_weight)
        self.seed = seed
        # === Layers ===
        self.generator = UNetGenerator(input_shape=self.input_shape, num_classes=self.output_channels,
                                       filters=self.filters, convs_per_block=self.convs_per_block,
                                       batch_norm=self.batch_norm, dropout=self.dropout, seed=seed, name="generator")
        self.discriminator = self.build_discriminator()
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_gan_tracker = keras.metrics.Mean(name="g_gan")
        self.l1_tracker = keras.metrics.Mean(name="l1")
        self.generator_optimizer = None
        self.discriminator_optimizer = None

    @property
    def target_shape(self):
        """(H, W, C_out): the shape of one output (and target) image."""
        return (*self.input_shape[:2], self.output_channels)

    @property
    def receptive_field(self):
        """Pixels per side of the input patch one PatchGAN logit sees."""
        return patch_receptive_field(len(self.discriminator_filters))

    def build_discriminator(self):
        """PatchGAN: (B, H, W, C_in + C_out) -> (B, H / 2^n, W / 2^n, 1) logits, n = len(discriminator_filters)."""
        layers = []
        for i, f in enumerate(self.discriminator_filters):
            layers += [keras.layers.Conv2D(f, 4, strides=2, padding="same", name=f"patch_conv{i}"),
                       keras.layers.LeakyReLU(0.2)]
        layers.append(keras.layers.Conv2D(1, 3, padding="same", dtype="float32", name="patch_logits"))
        return keras.Sequential(layers, name="discriminator")

    def build(self, input_shape):
        self.generator.build((None, *self.input_shape))
        self.discriminator.build((None, *self.input_shape[:2], self.input_shape[2] + self.output_channels))
        super().build(input_shape)

    @property
    def metrics(self):
        return [self.loss_tracker, self.d_loss_tracker, self.g_gan_tracker, self.l1_tracker]

    # --- Forward pass ------------------------------------------------------------
    def call(self, x, training=False):
        check_images(x, self.input_shape, "x")
        return ops.clip(ops.cast(self.generator(x, training=training), "float32"), 0.0, 1.0)  # (B, H, W, C_out)

    def patch_logits(self, x, y, training=False):
        """D's logits for the pairs (x, y): (B, H', W') float32."""
        pair = ops.concatenate([ops.cast(x, self.compute_dtype), ops.cast(y, self.compute_dtype)], axis=-1)
        return ops.cast(self.discriminator(pair, training=training), "float32")[..., 0]  # (B, H', W')

    # --- Losses (override these) ----------------------------------------------------
    def discriminator_loss(self, x, real, fake, training=True):
        """1/2 (E[softplus(-D(x, y))] + E[softplus(D(x, G(x)))]): patch-wise BCE, means over patches and batch."""
        real_logits, fake_logits = self.patch_logits(x, real, training), self.patch_logits(x, fake, training)
        return 0.5 * (average_loss(ops.softplus(-real_logits)) + average_loss(ops.softplus(fake_logits)))

    def generator_losses(self, x, y, fake, training=True):
        """(L_G, adversarial term E[softplus(-D(x, G(x)))], L1 term E|y - G(x)|), scalars.

        With ``gan_weight == 0`` D is not run and the adversarial term is 0.
        """
        l1 = average_loss(ops.abs(ops.cast(y, "float32") - fake))
        if self.gan_weight == 0:
            adversarial = ops.zeros((), "float32")
        else:
            adversarial = average_loss(ops.softplus(-self.patch_logits(x, fake, training)))
        return self.gan_weight * adversarial + self.l1_weight * l1, adversarial, l1

    # --- Training ---------------------------------------------------------------------
    def discriminator_step(self, x, y):
        """One D update on real pairs (x, y) and fake pairs (x, G(x)); touches only D's variables."""
        fake = ops.stop_gradient(self(x, training=True))
        return self.update(self.discriminator_optimizer, self.discriminator.trainable_variables,
                           lambda: self.discriminator_loss(x, y, fake))

    def generator_step(self, x, y):
        """One G update on L_G; touches only G's variables. Returns (L_G, adversarial, L1)."""
        return self.update(self.generator_optimizer, self.generator.trainable_variables,
                           lambda: self.generator_losses(x, y, self(x, training=True)))

    def _update(self, g_loss, d_loss, adversarial, l1):
        for tracker, value in ((self.loss_tracker, g_loss), (self.d_loss_tracker, d_loss),
                               (self.g_gan_tracker, adversarial), (self.l1_tracker, l1)):
            tracker.update_state(unscale_loss(value))  # each replica's own mean
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        if self.generator_optimizer is None:
            raise RuntimeError("Call compile() before fit().")
        x, y = data[:2]
        x, y = ops.cast(x, "float32"), ops.cast(y, "float32")
        # gan_weight 0: D's update is skipped (it would not change G's) and d_loss reports 0.
        d_loss = self.discriminator_step(x, y) if self.gan_weight else ops.zeros((), "float32")
        g_loss, adversarial, l1 = self.generator_step(x, y)
        return self._update(g_loss, d_loss, adversarial, l1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """L_G of ``y_pred`` = G(x) against ``y`` (with gan_weight > 0 it depends on D too, through D(x, G(x)))."""
        if y is None:
            raise ValueError("Pix2Pix needs targets: fit / evaluate with (inputs, targets) pairs.")
        y_pred = self(x, training=training) if y_pred is None else y_pred
        g_loss, _, _ = self.generator_losses(x, y, y_pred, training=training)
        return g_loss

    def test_step(self, data):
        x, y = data[:2]
        x, y = ops.cast(x, "float32"), ops.cast(y, "float32")
        fake = self(x, training=False)
        g_loss, adversarial, l1 = self.generator_losses(x, y, fake, training=False)
        d_loss = self.discriminator_loss(x, y, fake, training=False)
        return self._update(g_loss, d_loss, adversarial, l1)

    # --- Tensor-valued methods (exported) ----------------------------------------------
    def translate(self, images):
        """G(x): {"outputs"} (B, H, W, C_out) in [0, 1]."""
        return {"outputs": self(check_input(images, self.input_shape, "images"), training=False)}

    def discriminate(self, inputs, outputs):
        """PatchGAN logits of the pairs (inputs, outputs): {"logits"} (B, H', W')."""
        inputs = check_input(inputs, self.input_shape, "inputs")
        outputs = check_input(outputs, self.target_shape, "outputs")
        return {"logits": self.patch_logits(inputs, outputs)}

    def serving_endpoints(self):
        images = tf.TensorSpec((None, *self.input_shape), tf.float32, name="images")
        inputs = tf.TensorSpec((None, *self.input_shape), tf.float32, name="inputs")
        outputs = tf.TensorSpec((None, *self.target_shape), tf.float32, name="outputs")
        return {"serving_default": (self.translate, [images]), "discriminate": (self.discriminate, [inputs, outputs])}

    def get_config(self):
        return {**super().get_config(), "input_shape": self.input_shape, "output_channels": self.output_channels,
                "filters": self.filters, "convs_per_block": self.convs_per_block, "batch_norm": self.batch_norm,
                "dropout": self.dropout, "discriminator_filters": self.discriminator_filters,
                "l1_weight": self.l1_weight, "gan_weight": self.gan_weight, "seed": self.seed}
