"""Convolutional GANs on images: the DCGAN networks, the ``dcgan`` model and the class-conditional ``cgan``.

Pixel range: every tensor a user sees is an image in [0, 1], like the data
(``mpkeras.data.to_float``): the training data, ``call``/``generate``/``sample``
outputs and the ``discriminate`` input. Inside, the networks work on DCGAN's
tanh scale [-1, 1]: the generator ends in tanh followed by the fixed map
u -> (u + 1) / 2, and the discriminator starts with x -> 2x - 1. This is the
same model as one trained on [-1, 1] data, with the scale change kept inside
the networks so that ranges are never mixed outside them.
"""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.common import FixedArguments, average_loss, check_input, unscale_loss
from mpkeras.models.gan import GAN
from mpkeras.registry import register_model

NORMALIZATIONS = (None, "batch", "layer")


def max_stride2_layers(height, width):
    """The most stride-2 (de)convolutions an (height, width) image allows: the largest n with 2**n dividing both."""
    n = 0
    while height % 2 ** (n + 1) == 0 and width % 2 ** (n + 1) == 0:
        n += 1
    return n


def _check_image_shape(input_shape, filters):
    """Raises unless ``input_shape`` is (H, W, C) with H and W divisible by 2 ** len(filters).

    The generator starts from an (H / 2^n, W / 2^n) map and doubles it n = len(filters) times (28x28 with two
    filters: 7 -> 14 -> 28; 32x32: 8 -> 16 -> 32; 64x64: 16 -> 32 -> 64, or 4 -> 8 -> 16 -> 32 -> 64 with four),
    so it can only end at the data's size if 2^n divides H and W; the discriminator halves it back.
    """
    factor = 2 ** len(filters)
    if len(input_shape) != 3 or not filters or any(s is None or s % factor for s in input_shape[:2]):
        fix = "Use e.g. 28x28 images with two filters, or the mlp architecture."
        if len(input_shape) == 3 and None not in input_shape[:2]:
            most = max_stride2_layers(*input_shape[:2])
            fix = (f"{input_shape[0]}x{input_shape[1]} images allow at most {most} entries in filters"
                   + (" (--filters)." if most else "; resize them to a multiple of 4, or use the mlp architecture."))
        raise ValueError(f"The DCGAN networks need images (H, W, C) with H and W divisible by 2**len(filters) = "
                         f"{factor} (one stride-2 conv per entry of filters={tuple(filters)}); got input_shape="
                         f"{tuple(input_shape)}. {fix}")


def dcgan_generator(input_shape, latent_dim, filters=(32, 64), kernel_size=4, name="generator"):
    """DCGAN's generator: z -> project and reshape -> fractionally strided convs -> tanh, as images in [0, 1].

    z (B, latent_dim) -> Dense to an (H/2^n, W/2^n, filters[-1]) map -> n
    transposed convs of stride 2 with widths ``reversed(filters)[1:]`` and then
    C, batch norm + ReLU after every layer but the last, tanh output, mapped to
    [0, 1] by (u + 1) / 2. For 28x28 and two filters: 7x7 -> 14x14 -> 28x28.
    No fully connected hidden layers: the Dense is the projection of z (the
    paper's first layer).

    Args:
        input_shape: (H, W, C) of the images.
        latent_dim: dimension of z (for the cGAN: z and the one-hot label).
        filters: conv widths of the *discriminator* from its input up; used reversed (widest first).
        kernel_size: of every transposed conv.

    Reference:
        Radford, Metz and Chintala, "Unsupervised representation learning with
        deep convolutional generative adversarial networks", ICLR 2016.
    """
    _check_image_shape(input_shape, filters)
    h, w, c = input_shape
    n = len(filters)
    widths = tuple(reversed(filters))
    layers = [keras.Input((latent_dim,)),
              keras.layers.Dense((h >> n) * (w >> n) * widths[0], use_bias=False),  # (B, h0 * w0 * F)
              keras.layers.BatchNormalization(), keras.layers.ReLU(),
              keras.layers.Reshape((h >> n, w >> n, widths[0]))]  # (B, H / 2^n, W / 2^n, F)
    for width in widths[1:]:
        layers += [keras.layers.Conv2DTranspose(width, kernel_size, strides=2, padding="same", use_bias=False),
                   keras.layers.BatchNormalization(), keras.layers.ReLU()]  # (B, 2h, 2w, width)
    layers += [keras.layers.Conv2DTranspose(c, kernel_size, strides=2, padding="same", activation="tanh"),
               keras.layers.Rescaling(0.5, offset=0.5)]  # (B, H, W, C) in [0, 1]
    return keras.Sequential(layers, name=name)


def dcgan_discriminator(input_shape, filters=(32, 64), normalization="batch", kernel_size=4,
                        kernel_initializer="glorot_uniform", name="discriminator"):
    """DCGAN's discriminator: images in [0, 1] -> strided convs with LeakyReLU(0.2) -> one logit.

    x (B, H, W, C) -> 2x - 1 -> one conv of stride 2 per entry of ``filters``
    (no pooling), LeakyReLU(0.2) after each, ``normalization`` after every conv
    but the first (as in the paper) -> flatten -> Dense(1). No fully connected
    hidden layers.

    Args:
        input_shape: (H, W, C) of the images (the cGAN adds its label maps to C).
        filters: conv widths from the input up.
        normalization: ``"batch"`` (DCGAN), ``"layer"`` (per example, over H, W, C) or None. A critic with a
            per-example gradient penalty (WGAN-GP) must not use batch norm (Gulrajani et al. 2017, Sec. 4).
        kernel_size: of every conv.
        kernel_initializer: of every conv and the output layer (WGAN starts inside its clipping box).

    Reference:
        Radford, Metz and Chintala, ICLR 2016.
    """
    _check_image_shape(input_shape, filters)
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"Unknown normalization {normalization!r}; choose None, 'batch' or 'layer'.")
    layers = [keras.Input(tuple(input_shape)), keras.layers.Rescaling(2.0, offset=-1.0)]  # (B, H, W, C) in [-1, 1]
    for i, width in enumerate(filters):
        norm = normalization if i else None
        layers.append(keras.layers.Conv2D(width, kernel_size, strides=2, padding="same", use_bias=norm is None,
                                          kernel_initializer=kernel_initializer))  # (B, H / 2^(i+1), ..., width)
        if norm == "batch":
            layers.append(keras.layers.BatchNormalization())
        elif norm == "layer":
            layers.append(keras.layers.LayerNormalization(axis=(1, 2, 3)))
        layers.append(keras.layers.LeakyReLU(0.2))
    layers += [keras.layers.Flatten(), keras.layers.Dense(1, kernel_initializer=kernel_initializer)]  # (B, 1)
    return keras.Sequential(layers, name=name)


@register_model("dcgan", dataset="mnist5k", metric="fd_mnist5k")
@keras.saving.register_keras_serializable(package="mpkeras")
class DCGAN(FixedArguments, GAN):
    """DCGAN: the GAN game (non-saturating by default) with convolutional networks.

    The architecture guidelines of Radford et al.: strided convolutions instead
    of pooling in D and fractionally strided (transposed) convolutions in G;
    batch norm in both (not in D's first layer nor G's output); no fully
    connected hidden layers (G's first layer projects z and reshapes it, D's
    last flattens to one logit); ReLU in G with a tanh output, LeakyReLU(0.2)
    in D; Adam(2e-4, beta_1 0.5). See :func:`dcgan_generator` and
    :func:`dcgan_discriminator`. The losses and the training loop are those of
    :class:`~mpkeras.models.gan.GAN`: D minimizes
    -V = E[softplus(-D(x))] + E[softplus(D(G(z)))], G minimizes E[softplus(-D(G(z)))].

    Images are in [0, 1] everywhere outside the networks (the module docstring
    says how the tanh scale stays inside). ``fit`` takes the real images x, or
    ``(inputs, images)`` pairs whose targets are the real images (then the
    inputs, e.g. latent codes, are ignored: every step draws fresh z), or
    ``(images, labels)`` pairs (labels ignored).

    Args:
        input_shape: (H, W, C), H and W divisible by 2 ** len(filters).
        latent_dim: dimension of z.
        filters: conv widths of D from its input up; G uses them reversed.
        discriminator_normalization: ``"batch"`` (the paper), ``"layer"`` or None.
        **kwargs: the other :class:`~mpkeras.models.gan.GAN` arguments (``hidden_units`` is unused).

    Example:
        >>> gan = DCGAN(input_shape=(28, 28, 1), latent_dim=64, filters=(32, 64))
        >>> gan.compile()      # Adam(2e-4, beta_1=0.5) for both networks
        >>> gan.fit(images, epochs=30)                       # images (N, 28, 28, 1) in [0, 1]
        >>> gan.sample(16, [0, 1])["samples"]                # (16, 28, 28, 1) in [0, 1]

    Reference:
        Radford, Metz and Chintala, "Unsupervised representation learning with
        deep convolutional generative adversarial networks", ICLR 2016.
    """

    FIXED = {"architecture": "dcgan"}

    def __init__(self, input_shape=(28, 28, 1), latent_dim=64, filters=(32, 64), discriminator_normalization="batch",
                 **kwargs):
        if discriminator_normalization not in NORMALIZATIONS:
            raise ValueError(f"Unknown discriminator_normalization {discriminator_normalization!r}; choose None, "
                             "'batch' or 'layer'.")
        # === Config === (set first: build_discriminator reads it)
        self.discriminator_normalization = discriminator_normalization
        # === Layers === (those of GAN)
        super().__init__(input_shape=input_shape, latent_dim=latent_dim, filters=filters, **kwargs)

    def build_generator(self):
        return dcgan_generator(self.input_shape, self.latent_dim, self.filters)

    def build_discriminator(self, kernel_initializer="glorot_uniform"):
        return dcgan_discriminator(self.input_shape, self.filters, self.discriminator_normalization,
                                   kernel_initializer=kernel_initializer)

    def _real(self, data):
        """The real images of a batch: x, the targets y of (inputs, images), or x of (images, labels)."""
        if isinstance(data, (tuple, list)):
            x, y = (tuple(data) + (None,))[:2]
            data = y if y is not None and len(y.shape) == len(self.input_shape) + 1 else x
        return ops.cast(data, "float32")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The discriminator loss on the real images (``x``, or ``y`` when ``x`` holds generator inputs)."""
        return super().compute_loss(x=self._real((x, y)), training=training)

    def test_step(self, data):
        return super().test_step((self._real(data),))

    def serving_examples(self):
        """Images in [0, 1] for ``discriminate`` (uniform noise would do too; kept explicit)."""
        import numpy as np  # pylint: disable=g-import-not-at-top

        rng = np.random.default_rng(0)
        return {"discriminate": [rng.uniform(size=(2, *self.input_shape)).astype(np.float32)]}

    def get_config(self):
        return {**super().get_config(), "discriminator_normalization": self.discriminator_normalization}


@register_model("cgan", dataset="mnist5k", metric="fd_mnist5k")
@keras.saving.register_keras_serializable(package="mpkeras")
class CGAN(DCGAN):
    """Class-conditional GAN: G(z, y) and D(x, y) play the GAN game on (image, label) pairs.

    The value function of Mirza and Osindero, conditioned on the label y:

        V(G, D) = E_(x,y)~p_data[log D(x, y)] + E_z~p(z), y~p_data[log(1 - D(G(z, y), y))],

    with the non-saturating generator loss -log D(G(z, y), y) by default. G's
    input is z concatenated with one_hot(y); D's input is the image with K
    constant channel maps one_hot(y) appended (Mirza and Osindero feed y to both
    players' first layers). The networks are DCGAN's (:func:`dcgan_generator`,
    :func:`dcgan_discriminator`). Fake samples in a step use the real batch's
    labels, so D sees the same label frequencies on both sides and can only win
    by checking that image and label agree, which is what makes G honour y.

    Inputs and data: ``call({"z": (B, latent_dim), "labels": (B,) int})`` is G.
    ``fit`` takes ``(images, labels)`` pairs, or ``({"z", "labels"}, images)``
    (the conformance kit's form; the given z are ignored, each step draws fresh
    z). Labels are class ids in [0, num_classes); images are in [0, 1].

    Args:
        num_classes: K.
        **kwargs: the :class:`DCGAN` arguments.

    Example:
        >>> cgan = CGAN(input_shape=(28, 28, 1), latent_dim=64, num_classes=10)
        >>> cgan.compile()
        >>> cgan.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(64), epochs=30)
        >>> cgan.sample(np.arange(10, dtype="int32"), [0, 1])["samples"]  # one digit of each class

    Reference:
        Mirza and Osindero, "Conditional Generative Adversarial Nets", arXiv:1411.1784, 2014.
    """

    def __init__(self, num_classes=10, **kwargs):
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}.")
        # === Config === (set first: the network builders read it)
        self.num_classes = int(num_classes)
        # === Layers === (those of GAN)
        super().__init__(**kwargs)

    def build_generator(self):
        """[z, one_hot(y)] (B, latent_dim + K) -> images (B, H, W, C)."""
        return dcgan_generator(self.input_shape, self.latent_dim + self.num_classes, self.filters)

    def build_discriminator(self, kernel_initializer="glorot_uniform"):
        """[x, one_hot(y) maps] (B, H, W, C + K) -> (B, 1) logits."""
        h, w, c = self.input_shape
        return dcgan_discriminator((h, w, c + self.num_classes), self.filters, self.discriminator_normalization,
                                   kernel_initializer=kernel_initializer)

    def build(self, input_shape):
        self.generator.build((None, self.latent_dim + self.num_classes))
        h, w, c = self.input_shape
        self.discriminator.build((None, h, w, c + self.num_classes))
        keras.Model.build(self, input_shape)

    def build_from_data(self, x):
        del x
        self({"z": tf.zeros([1, self.latent_dim]), "labels": tf.zeros([1], tf.int32)})

    # --- Conditioning ---------------------------------------------------------------
    def _one_hot(self, labels):
        return ops.one_hot(ops.cast(labels, "int32"), self.num_classes)  # (B, K)

    def _generate(self, z, labels, training=False):
        return self.generator(ops.concatenate([ops.cast(z, "float32"), self._one_hot(labels)], axis=-1),
                              training=training)  # (B, H, W, C)

    def discriminator_logits(self, x, labels, training=False):
        """D(x, y)'s logits (B,)."""
        x = ops.cast(x, "float32")
        maps = ops.ones_like(x[..., :1]) * self._one_hot(labels)[:, None, None, :]  # (B, H, W, K)
        logits = self.discriminator(ops.concatenate([x, maps], axis=-1), training=training)  # (B, 1)
        return ops.reshape(ops.cast(logits, "float32"), (-1,))

    def call(self, inputs, training=False):
        if not isinstance(inputs, dict) or set(inputs) != {"z", "labels"}:
            raise ValueError("A CGAN takes {'z': (batch, latent_dim) codes, 'labels': (batch,) class ids}; got "
                             f"{type(inputs).__name__}. Call it as model({{'z': z, 'labels': labels}}).")
        z = inputs["z"]
        if z.shape.rank is not None and (z.shape.rank != 2 or z.shape[-1] not in (None, self.latent_dim)):
            raise ValueError(f"z has shape {tuple(z.shape)}, expected (batch, {self.latent_dim}).")
        return self._generate(z, inputs["labels"], training=training)  # (B, H, W, C)

    def _unpack(self, data):
        """(real images, labels) from (images, labels) or ({"z", "labels"}, images)."""
        if not isinstance(data, (tuple, list)) or len(data) < 2 or data[1] is None:
            raise ValueError("A CGAN trains on (images, labels) pairs, e.g. Dataset.from_tensor_slices((images, "
                             "labels)); got images without labels.")
        x, y = data[0], data[1]
        if isinstance(x, dict):
            return ops.cast(y, "float32"), x["labels"]
        return ops.cast(x, "float32"), y

    # --- Training ---------------------------------------------------------------------
    def discriminator_loss(self, real, fake, labels):
        """-V = E[softplus(-D(x, y))] + E[softplus(D(G(z, y), y))]."""
        real_logits = self.discriminator_logits(real, labels, True)
        fake_logits = self.discriminator_logits(fake, labels, True)
        return average_loss(ops.softplus(-real_logits)) + average_loss(ops.softplus(fake_logits))

    def discriminator_step(self, real, labels):
        fake = ops.stop_gradient(self._generate(self.draw_z(ops.shape(real)[0]), labels, training=True))
        d_loss = self.update(self.discriminator_optimizer, self.discriminator.trainable_variables,
                             lambda: self.discriminator_loss(real, fake, labels))
        self.after_discriminator_step()
        return d_loss

    def generator_step(self, labels):
        def loss():
            fake = self._generate(self.draw_z(ops.shape(labels)[0]), labels, training=True)
            return average_loss(self.generator_objective(self.discriminator_logits(fake, labels, training=True)))

        return self.update(self.generator_optimizer, self.generator.trainable_variables, loss)

    def train_step(self, data):
        if self.generator_optimizer is None:
            raise RuntimeError("Call compile() before fit().")
        real, labels = self._unpack(data)  # (B, H, W, C), (B,)
        for _ in range(self.discriminator_steps):
            d_loss = self.discriminator_step(real, labels)
        g_loss = self.generator_step(labels)
        return self.record_step(d_loss, g_loss)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The discriminator loss on the real pairs of (x, y) and fresh samples for their labels."""
        real, labels = self._unpack((x, y))
        fake = self._generate(self.draw_z(ops.shape(real)[0]), labels, training=training)
        d_loss = self.discriminator_loss(real, fake, labels)
        g_loss = average_loss(self.generator_objective(self.discriminator_logits(fake, labels, training=training)))
        self.d_loss_tracker.update_state(unscale_loss(d_loss))
        self.g_loss_tracker.update_state(unscale_loss(g_loss))
        return d_loss

    def test_step(self, data):
        real, labels = self._unpack(data)
        self.loss_tracker.update_state(unscale_loss(self.compute_loss(x=real, y=labels, training=False)))
        return {m.name: m.result() for m in self.metrics}

    # --- Tensor-valued methods (exported) ----------------------------------------------
    def _checked_labels(self, labels):
        labels = check_input(labels, (), "labels", dtype=tf.int32)  # (B,)
        valid = tf.reduce_all((labels >= 0) & (labels < self.num_classes))
        with tf.control_dependencies([tf.debugging.Assert(
                valid, [f"labels must be class ids in [0, {self.num_classes}) as int32"])]):
            return tf.identity(labels)

    def generate(self, z, labels):
        """G(z, y): {"samples"} (B, H, W, C) in [0, 1] for codes z (B, latent_dim) and labels (B,) int32."""
        z = check_input(z, (self.latent_dim,), "z")
        return {"samples": self._generate(z, self._checked_labels(labels))}

    def sample(self, labels, seed):
        """One image per label: x = G(z, y), z ~ N(0, I) from ``seed`` (int32 (2,), philox): {"samples", "z"}."""
        labels = self._checked_labels(labels)
        z = tf.random.stateless_normal(tf.stack([tf.shape(labels)[0], self.latent_dim]),
                                       seed=tf.cast(seed, tf.int32), alg="philox")  # (N, latent_dim)
        return {"samples": self._generate(z, labels), "z": z}

    def discriminate(self, x, labels):
        """D(x, y)'s logits: {"logits"} (B,), for images (B, H, W, C) in [0, 1] and labels (B,) int32."""
        x = check_input(x, self.input_shape, "x")
        return {"logits": self.discriminator_logits(x, self._checked_labels(labels))}

    def serving_endpoints(self):
        x = tf.TensorSpec((None, *self.input_shape), tf.float32, name="x")
        z = tf.TensorSpec((None, self.latent_dim), tf.float32, name="z")
        labels = tf.TensorSpec((None,), tf.int32, name="labels")
        seed = tf.TensorSpec((2,), tf.int32, name="seed")
        sample = (self.sample, [labels, seed])
        return {"serving_default": sample, "sample": sample, "generate": (self.generate, [z, labels]),
                "discriminate": (self.discriminate, [x, labels])}

    def serving_ranges(self):
        """Every endpoint takes class ids in [0, num_classes)."""
        return {endpoint: {"labels": (0, self.num_classes - 1)} for endpoint in self.serving_endpoints()}

    def serving_examples(self):
        """Valid labels (the generated uniform(0, 1) ints would all be 0) with images in [0, 1]."""
        import numpy as np  # pylint: disable=g-import-not-at-top

        rng = np.random.default_rng(0)
        labels = np.array([0, self.num_classes - 1], np.int32)
        seed = np.array([1, 2], np.int32)
        return {"serving_default": [labels, seed], "sample": [labels, seed],
                "generate": [rng.normal(size=(2, self.latent_dim)).astype(np.float32), labels],
                "discriminate": [rng.uniform(size=(2, *self.input_shape)).astype(np.float32), labels]}

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
