"""Generative adversarial networks: the GAN base, the original GAN and WGAN-GP (and WGAN with weight clipping)."""

import math

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.common import average_loss, check_input, unscale_loss
from mpkeras.registry import register_model

GENERATOR_LOSSES = ("non_saturating", "minimax")
ARCHITECTURES = ("mlp", "dcgan")


class TwoOptimizers:
    """Mixin of two-player models (GANs, pix2pix): one optimizer per network, set by :meth:`compile`.

    The model's ``train_step`` applies ``generator_optimizer`` to the generator's
    variables and ``discriminator_optimizer`` to the discriminator's; Keras's own
    ``optimizer`` (in ``compile``'s ``kwargs``) is accepted and unused.
    """

    def default_optimizers(self):
        """(generator, discriminator) optimizers used when compile() gets none: Adam(2e-4, beta_1=0.5) (DCGAN)."""
        return (keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))

    def compile(self, generator_optimizer=None, discriminator_optimizer=None, **kwargs):
        """Keras compile plus one optimizer per network (defaults: :meth:`default_optimizers`).

        ``optimizer`` (in ``kwargs``) is Keras's own and is not used by ``train_step``. Under a
        ``mixed_float16`` policy both optimizers get dynamic loss scaling, as Keras gives its own.
        """
        super().compile(**kwargs)
        default_g, default_d = self.default_optimizers()
        self.generator_optimizer = self._loss_scaled(keras.optimizers.get(generator_optimizer or default_g))
        self.discriminator_optimizer = self._loss_scaled(keras.optimizers.get(discriminator_optimizer or default_d))

    def _loss_scaled(self, optimizer):
        if self.dtype_policy.name == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    def optimizer_networks(self):
        """((optimizer, network), ...): which optimizer updates which network."""
        return ((self.generator_optimizer, self.generator), (self.discriminator_optimizer, self.discriminator))

    def build_optimizers(self):
        """Builds the networks and then both optimizers on their variables, under the model's strategy.

        :meth:`fit` calls this first. Left to build lazily in the first step, the optimizers would create
        their variables inside the traced step: per replica under a ``MirroredStrategy`` (which fails,
        DESIGN.md section 9), and a loss-scaling wrapper (mixed precision) cannot create them there at all.
        """
        with self.distribute_strategy.scope():
            if not self.built:
                self.build(None)  # the networks' shapes come from the constructor arguments
            for optimizer, network in self.optimizer_networks():
                if optimizer is not None and not optimizer.built:
                    optimizer.build(network.trainable_variables)

    def fit(self, *args, **kwargs):
        self.build_optimizers()
        return super().fit(*args, **kwargs)

    def update(self, optimizer, variables, loss_fn):
        """One step of ``optimizer`` on ``variables`` down the gradient of ``loss_fn()``; returns what it returned.

        ``loss_fn`` returns the loss, a mean over the global batch (:func:`average_loss`), or a tuple that
        starts with it. The optimizer sums the replicas' gradients, so those are the gradients of the mean
        over all examples. The loss is scaled for mixed precision inside the tape (a no-op without loss
        scaling); the optimizer unscales the gradients.
        """
        with tf.GradientTape() as tape:
            result = loss_fn()
            scaled = optimizer.scale_loss(result[0] if isinstance(result, tuple) else result)
        if variables:  # a frozen network (tests) has none
            optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return result

    def get_compile_config(self):
        """None: the two optimizers are not saved with the model; call compile() again after loading."""
        return None


@keras.saving.register_keras_serializable(package="mpkeras")
class GAN(TwoOptimizers, keras.Model):
    """A generator G: z -> x and a discriminator D: x -> logit, trained as a two-player game.

    The discriminator maximizes the value function

        V(G, D) = E_x~p_data[log D(x)] + E_z~p(z)[log(1 - D(G(z)))],   p(z) = N(0, I),

    written with logits l = D's output and log sigmoid(l) = -softplus(-l),
    log(1 - sigmoid(l)) = -softplus(l), so the discriminator loss is
    -V = E[softplus(-l_real)] + E[softplus(l_fake)]. For a fixed G the optimal
    discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and then
    -V = 2 log 2 - 2 JSD(p_data || p_g) (Goodfellow et al. 2014, Prop. 1, Thm. 1).
    The generator either minimizes E[log(1 - D(G(z)))] = -E[softplus(l_fake)]
    (``"minimax"``, whose gradient vanishes while D rejects the samples) or
    maximizes E[log D(G(z))], i.e. minimizes E[softplus(-l_fake)]
    (``"non_saturating"``, the default the paper recommends).

    Training (``train_step``) alternates ``discriminator_steps`` k discriminator
    updates, each with fresh z and the *same* real batch (Gulrajani et al. draw a
    new real batch per critic step; reusing it keeps the batch size and the
    input pipeline unchanged), then one generator update with fresh z. The
    discriminator update changes only discriminator variables, the generator
    update only generator variables; each network has its own optimizer
    (:meth:`compile`). ``fit`` reports ``loss`` (= ``d_loss``), ``d_loss`` and
    ``g_loss``.

    ``call(z)`` is the generator, G(z). :meth:`compute_loss` (used by the
    conformance kit's gradient check and by ``evaluate``) returns the
    discriminator loss on a fresh z; it depends on both networks (D directly, G
    through the fake samples), so every weight gets a gradient from it.

    Subclassing: override :meth:`build_generator` / :meth:`build_discriminator`
    for other networks (images: conv nets with the same input and output shapes),
    :meth:`discriminator_loss` / :meth:`generator_objective` for other games.

    Args:
        input_shape: shape of one data example x.
        latent_dim: dimension of z.
        hidden_units: widths of the hidden layers of both MLPs.
        generator_loss: ``"non_saturating"`` or ``"minimax"`` (ignored by the Wasserstein subclasses).
        discriminator_steps: k, discriminator updates per generator update.
        seed: seed of the training-time z draws.
        architecture: ``"mlp"`` (``hidden_units``; any input shape) or ``"dcgan"`` (images (H, W, C): the
            conv networks of :func:`mpkeras.models.dcgan.dcgan_generator` / ``dcgan_discriminator``, with
            ``filters``; D without normalization here, as a per-example critic needs; the ``dcgan`` model adds
            batch norm). Both networks work on images in [0, 1].
        filters: conv widths of the ``"dcgan"`` discriminator from its input up; the generator uses them reversed.

    Example:
        >>> gan = GAN(input_shape=(2,), latent_dim=8)
        >>> gan.compile(generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
        >>> gan.fit(points, epochs=20)
        >>> gan.sample(2500, [1, 2])["samples"]  # (2500, 2)

    Reference:
        Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    """

    def __init__(self, input_shape=(2,), latent_dim=8, hidden_units=(128, 128, 128),
                 generator_loss="non_saturating", discriminator_steps=1, seed=None, architecture="mlp",
                 filters=(32, 64), **kwargs):
        super().__init__(**kwargs)
        if architecture not in ARCHITECTURES:
            raise ValueError(f"Unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}.")
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"Unknown generator_loss {generator_loss!r}; choose one of {', '.join(GENERATOR_LOSSES)}.")
        if int(discriminator_steps) < 1:
            raise ValueError(f"discriminator_steps must be >= 1, got {discriminator_steps}.")
        # === Config ===
        self.input_shape = tuple(input_shape)
        self.latent_dim = latent_dim
        self.hidden_units = tuple(hidden_units)
        self.generator_loss = generator_loss
        self.discriminator_steps = int(discriminator_steps)
        self.seed = seed
        self.architecture = architecture
        self.filters = tuple(filters)
        # === Layers ===
        self.generator = self.build_generator()
        self.discriminator = self.build_discriminator()
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.generator_optimizer = None
        self.discriminator_optimizer = None

    # --- Networks (override these) --------------------------------------------
    def build_generator(self):
        """z (B, latent_dim) -> x (B, *input_shape)."""
        if self.architecture == "dcgan":
            from mpkeras.models.dcgan import dcgan_generator  # pylint: disable=g-import-not-at-top  (it imports us)

            return dcgan_generator(self.input_shape, self.latent_dim, self.filters)
        layers = [keras.layers.Dense(u, activation="relu") for u in self.hidden_units]
        layers += [keras.layers.Dense(math.prod(self.input_shape)), keras.layers.Reshape(self.input_shape)]
        return keras.Sequential(layers, name="generator")

    def build_discriminator(self, kernel_initializer="glorot_uniform"):
        """x (B, *input_shape) -> (B, 1) logits (critic values for the Wasserstein GANs)."""
        if self.architecture == "dcgan":
            from mpkeras.models.dcgan import dcgan_discriminator  # pylint: disable=g-import-not-at-top

            return dcgan_discriminator(self.input_shape, self.filters, normalization=None,
                                       kernel_initializer=kernel_initializer)
        layers = [keras.layers.Flatten()]
        for u in self.hidden_units:
            layers += [keras.layers.Dense(u, kernel_initializer=kernel_initializer), keras.layers.LeakyReLU(0.2)]
        layers += [keras.layers.Dense(1, kernel_initializer=kernel_initializer)]
        return keras.Sequential(layers, name="discriminator")

    def build(self, input_shape):
        self.generator.build((None, self.latent_dim))
        self.discriminator.build((None, *self.input_shape))
        super().build(input_shape)

    def build_from_data(self, x):
        """Builds both networks from a data batch (the recipe runner's hook; ``call`` takes z, not x)."""
        del x
        self(tf.zeros([1, self.latent_dim]))

    @property
    def metrics(self):
        return [self.loss_tracker, self.d_loss_tracker, self.g_loss_tracker]

    # --- Forward pass ------------------------------------------------------------
    def call(self, z, training=False):
        if z.shape.rank is not None and (z.shape.rank != 2 or z.shape[-1] not in (None, self.latent_dim)):
            raise ValueError(f"z has shape {tuple(z.shape)}, expected (batch, {self.latent_dim}): call(z) runs the "
                             "generator on latent codes; use discriminate(x) for data.")
        return self.generator(z, training=training)  # (B, *input_shape)

    def discriminator_logits(self, x, training=False):
        """D's logits (critic values) as (B,)."""
        return ops.reshape(ops.cast(self.discriminator(x, training=training), "float32"), (-1,))

    def draw_z(self, batch_size):
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)  # (B, latent_dim)

    # --- Losses (override these) ----------------------------------------------------
    def discriminator_loss(self, real, fake):
        """-V(G, D) = E[softplus(-D(x))] + E[softplus(D(G(z)))], a scalar."""
        real_logits, fake_logits = self.discriminator_logits(real, True), self.discriminator_logits(fake, True)
        return average_loss(ops.softplus(-real_logits)) + average_loss(ops.softplus(fake_logits))

    def generator_objective(self, fake_logits):
        """Per-example generator loss from D's logits l on G(z), (B,).

        non_saturating: -log D(G(z)) = softplus(-l); minimax: log(1 - D(G(z))) = -softplus(l).
        """
        if self.generator_loss == "minimax":
            return -ops.softplus(fake_logits)
        return ops.softplus(-fake_logits)

    def after_discriminator_step(self):
        """Hook run after each discriminator update (WGAN clips the weights here)."""

    def _real(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        return ops.cast(real, "float32")

    # --- Training ---------------------------------------------------------------------
    def discriminator_step(self, real):
        """One discriminator update on ``real`` and fresh samples; touches only discriminator variables."""
        fake = ops.stop_gradient(self.generator(self.draw_z(ops.shape(real)[0]), training=True))
        d_loss = self.update(self.discriminator_optimizer, self.discriminator.trainable_variables,
                             lambda: self.discriminator_loss(real, fake))
        self.after_discriminator_step()
        return d_loss

    def generator_step(self, batch_size, real=None):
        """One generator update on ``batch_size`` fresh samples; touches only generator variables.

        ``real`` (the real batch) is unused here; the unrolled GAN's lookahead needs it.
        """
        def loss():
            fake = self.generator(self.draw_z(batch_size), training=True)
            return average_loss(self.generator_objective(self.discriminator_logits(fake, training=True)))

        return self.update(self.generator_optimizer, self.generator.trainable_variables, loss)

    def train_step(self, data):
        if self.generator_optimizer is None:
            raise RuntimeError("Call compile() before fit().")
        real = self._real(data)  # (B, *input_shape)
        for _ in range(self.discriminator_steps):  # k is a small Python int: unrolled in the graph
            d_loss = self.discriminator_step(real)
        g_loss = self.generator_step(ops.shape(real)[0], real)
        return self.record_step(d_loss, g_loss)

    def record_step(self, d_loss, g_loss):
        """Updates the ``loss`` (= ``d_loss``), ``d_loss`` and ``g_loss`` trackers; returns the logs of a step.

        The losses are means over the global batch; the trackers get each replica's own mean.
        """
        for tracker, value in ((self.loss_tracker, d_loss), (self.d_loss_tracker, d_loss),
                               (self.g_loss_tracker, g_loss)):
            tracker.update_state(unscale_loss(value))
        return {m.name: m.result() for m in self.metrics}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The discriminator loss on the real batch ``x`` and fresh samples; ``y_pred`` (= G(x as z)) is unused.

        Also updates the ``d_loss`` / ``g_loss`` trackers. Returned as ``loss`` by ``evaluate``.
        """
        real = self._real(x)
        fake = self.generator(self.draw_z(ops.shape(real)[0]), training=training)
        d_loss = self.discriminator_loss(real, fake)
        g_loss = average_loss(self.generator_objective(self.discriminator_logits(fake, training=training)))
        self.d_loss_tracker.update_state(unscale_loss(d_loss))
        self.g_loss_tracker.update_state(unscale_loss(g_loss))
        return d_loss

    def test_step(self, data):
        loss = self.compute_loss(x=data[0] if isinstance(data, (tuple, list)) else data, training=False)
        self.loss_tracker.update_state(unscale_loss(loss))
        return {m.name: m.result() for m in self.metrics}

    # --- Tensor-valued methods (exported) ----------------------------------------------
    def generate(self, z):
        """G(z): {"samples"} (B, *input_shape)."""
        return {"samples": self.generator(check_input(z, (self.latent_dim,), "z"), training=False)}

    def sample(self, num_samples, seed):
        """x = G(z), z ~ N(0, I) drawn with stateless philox RNG from ``seed`` (int32 (2,)): {"samples", "z"}."""
        z = tf.random.stateless_normal(tf.stack([tf.cast(num_samples, tf.int32), self.latent_dim]),
                                       seed=tf.cast(seed, tf.int32), alg="philox")  # (N, latent_dim)
        return {"samples": self.generator(z, training=False), "z": z}

    def discriminate(self, x):
        """D's logits (critic values for the Wasserstein GANs): {"logits"} (B,)."""
        return {"logits": self.discriminator_logits(check_input(x, self.input_shape, "x"))}

    def serving_endpoints(self):
        x = tf.TensorSpec((None, *self.input_shape), tf.float32, name="x")
        z = tf.TensorSpec((None, self.latent_dim), tf.float32, name="z")
        seed = tf.TensorSpec((2,), tf.int32, name="seed")
        num = tf.TensorSpec((), tf.int32, name="num_samples")
        sample = (self.sample, [num, seed])
        return {"serving_default": sample, "sample": sample, "generate": (self.generate, [z]),
                "discriminate": (self.discriminate, [x])}

    def get_config(self):
        return {**super().get_config(), "input_shape": self.input_shape, "latent_dim": self.latent_dim,
                "hidden_units": self.hidden_units, "generator_loss": self.generator_loss,
                "discriminator_steps": self.discriminator_steps, "seed": self.seed,
                "architecture": self.architecture, "filters": self.filters}


register_model("gan", dataset="ring8", metric="modes_covered")(GAN)


@register_model("wgan_gp", dataset="ring8", metric="modes_covered")
@keras.saving.register_keras_serializable(package="mpkeras")
class WGANGP(GAN):
    """Wasserstein GAN with gradient penalty: a critic C instead of a discriminator.

    Critic loss (minimized by C), with interpolates x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1]:

        L_C = E[C(G(z))] - E[C(x)] + lambda E[(||grad_x_hat C(x_hat)||_2 - 1)^2],

    generator loss L_G = -E[C(G(z))]. The penalty softly keeps C 1-Lipschitz,
    so that max_C E[C(x)] - E[C(G(z))] estimates the Wasserstein-1 distance
    (Kantorovich-Rubinstein duality). Defaults as in the paper: lambda = 10,
    k = 5 critic steps per generator step, Adam(1e-4, beta_1=0.5, beta_2=0.9).
    The critic has no batch normalization (the penalty is per example).

    Args:
        gradient_penalty_weight: lambda.
        discriminator_steps: k critic updates per generator update (default 5).
        **kwargs: the :class:`GAN` arguments (``generator_loss`` is unused).

    Example:
        >>> wgan = WGANGP(input_shape=(2,), latent_dim=8)
        >>> wgan.compile()     # Adam(1e-4, 0.5, 0.9) for both networks
        >>> wgan.fit(points, epochs=20)

    Reference:
        Gulrajani, Ahmed, Arjovsky, Dumoulin and Courville, "Improved Training of
        Wasserstein GANs", NeurIPS 2017.
    """

    def __init__(self, gradient_penalty_weight=10.0, discriminator_steps=5, **kwargs):
        super().__init__(discriminator_steps=discriminator_steps, **kwargs)
        # === Config ===
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        # === Layers === (those of GAN)

    def default_optimizers(self):
        return tuple(keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9) for _ in range(2))

    def gradient_penalty(self, real, fake, epsilon):
        """lambda E[(||grad C(x_hat)|| - 1)^2] at x_hat = epsilon real + (1 - epsilon) fake; epsilon (B,) in [0, 1]."""
        real, fake = ops.cast(real, "float32"), ops.cast(fake, "float32")
        epsilon = ops.reshape(ops.cast(epsilon, "float32"), (-1,) + (1,) * len(self.input_shape))  # (B, 1, ...)
        x_hat = epsilon * real + (1.0 - epsilon) * fake  # (B, *input_shape)
        with tf.GradientTape() as tape:
            tape.watch(x_hat)
            critic = self.discriminator_logits(x_hat, training=True)  # (B,)
        grads = ops.reshape(tape.gradient(critic, x_hat), (ops.shape(x_hat)[0], -1))  # (B, prod(input_shape))
        norms = ops.sqrt(ops.sum(ops.square(grads), axis=-1) + 1e-12)  # (B,)
        return self.gradient_penalty_weight * average_loss(ops.square(norms - 1.0))

    def discriminator_loss(self, real, fake):
        real_c, fake_c = self.discriminator_logits(real, True), self.discriminator_logits(fake, True)
        epsilon = keras.random.uniform((ops.shape(real)[0],), seed=self.seed_generator)  # (B,)
        return average_loss(fake_c) - average_loss(real_c) + self.gradient_penalty(real, fake, epsilon)

    def generator_objective(self, fake_logits):
        return -fake_logits  # -C(G(z)), (B,)

    def get_config(self):
        return {**super().get_config(), "gradient_penalty_weight": self.gradient_penalty_weight}


@register_model("wgan", dataset="ring8", metric="modes_covered")
@keras.saving.register_keras_serializable(package="mpkeras")
class WGAN(GAN):
    """Wasserstein GAN with weight clipping: the critic's weights are clipped to [-c, c] after every critic step.

    Critic loss L_C = E[C(G(z))] - E[C(x)], generator loss L_G = -E[C(G(z))].
    Clipping keeps C in a family of K-Lipschitz functions for some K, so that
    -min L_C estimates K times the Wasserstein-1 distance W(p_data, p_g).
    Defaults as in the paper: c = 0.01, k = 5 critic steps, RMSprop(5e-5).

    Args:
        clip_value: c.
        discriminator_steps: k critic updates per generator update (default 5).
        **kwargs: the :class:`GAN` arguments (``generator_loss`` is unused).

    Example:
        >>> wgan = WGAN(input_shape=(2,), latent_dim=8)
        >>> wgan.compile()     # RMSprop(5e-5) for both networks
        >>> wgan.fit(points, epochs=20)

    Reference:
        Arjovsky, Chintala and Bottou, "Wasserstein Generative Adversarial Networks", ICML 2017.
    """

    def __init__(self, clip_value=0.01, discriminator_steps=5, **kwargs):
        if clip_value <= 0:
            raise ValueError(f"clip_value must be > 0, got {clip_value}.")
        # === Config === (set first: build_discriminator reads it)
        self.clip_value = float(clip_value)
        # === Layers === (those of GAN)
        super().__init__(discriminator_steps=discriminator_steps, **kwargs)

    def build_discriminator(self, kernel_initializer=None):
        """The GAN critic, initialized uniformly in [-c, c] so that it starts inside the clipped family."""
        c = self.clip_value
        return super().build_discriminator(kernel_initializer or keras.initializers.RandomUniform(-c, c))

    def default_optimizers(self):
        return tuple(keras.optimizers.RMSprop(5e-5) for _ in range(2))

    def discriminator_loss(self, real, fake):
        return average_loss(self.discriminator_logits(fake, True)) - average_loss(self.discriminator_logits(real, True))

    def generator_objective(self, fake_logits):
        return -fake_logits  # -C(G(z)), (B,)

    def after_discriminator_step(self):
        for v in self.discriminator.trainable_variables:
            v.assign(ops.clip(v, -self.clip_value, self.clip_value))

    def get_config(self):
        return {**super().get_config(), "clip_value": self.clip_value}
