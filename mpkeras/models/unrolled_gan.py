"""The unrolled GAN: the generator's update looks k discriminator steps ahead (Metz et al. 2017)."""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.gan import GAN
from mpkeras.registry import register_model


@register_model("unrolled_gan", dataset="ring8", metric="modes_covered")
@keras.saving.register_keras_serializable(package="mpkeras")
class UnrolledGAN(GAN):
    """A GAN whose generator is trained against the discriminator k steps ahead.

    With f(theta_G, theta_D) the discriminator's loss -V(G, D), the
    discriminator's parameters after k gradient steps from theta_D^0 = theta_D
    are (Metz et al. 2017, eq. 5-6)

        theta_D^{j+1} = theta_D^j - eta * df(theta_G, theta_D^j) / dtheta_D^j,

    and the generator minimizes the surrogate objective

        f_K(theta_G, theta_D) = L_G(theta_G, theta_D^K(theta_G, theta_D)),

    differentiating *through* the k inner updates (eq. 7): the term
    dL_G/dtheta_D^K * dtheta_D^K/dtheta_G tells the generator how the
    discriminator would react to its move, which penalizes collapsing onto the
    mode that the discriminator currently likes least. The discriminator itself
    is updated as in the plain GAN (its own optimizer, theta_D <- theta_D^1 of
    that optimizer); the inner steps are only a lookahead and are thrown away.
    With ``unroll_steps=0`` the update is exactly the plain GAN's.

    The inner updates are plain gradient descent with step ``unroll_learning_rate``
    (the paper unrolls the discriminator's own optimizer, Adam; SGD keeps the
    lookahead a few lines of differentiable code). They run on a copy of D's
    weights held as tensors: ``discriminator_loss`` is evaluated with D's variables
    mapped to those tensors by a ``keras.StatelessScope``, so every subclass's
    loss (and batch-norm statistics, which the scope never writes back) can be
    unrolled unchanged. The same real batch and generator samples are used in
    every inner step and in the final generator objective.

    Args:
        unroll_steps: k, discriminator steps of the lookahead (0 = the plain GAN update).
        unroll_learning_rate: eta of the inner gradient steps.
        **kwargs: the :class:`GAN` arguments.

    Example:
        >>> gan = UnrolledGAN(input_shape=(2,), latent_dim=8, unroll_steps=5)
        >>> gan.compile()
        >>> gan.fit(points, epochs=20)
        >>> gan.sample(2500, [1, 2])["samples"]  # (2500, 2)

    Reference:
        Metz, Poole, Pfau and Sohl-Dickstein, "Unrolled Generative Adversarial
        Networks", ICLR 2017.
    """

    def __init__(self, unroll_steps=5, unroll_learning_rate=1e-2, **kwargs):
        if int(unroll_steps) < 0:
            raise ValueError(f"unroll_steps must be >= 0, got {unroll_steps}.")
        if unroll_learning_rate <= 0:
            raise ValueError(f"unroll_learning_rate must be > 0, got {unroll_learning_rate}.")
        super().__init__(**kwargs)
        # === Config ===
        self.unroll_steps = int(unroll_steps)
        self.unroll_learning_rate = float(unroll_learning_rate)
        # === Layers === (those of GAN)

    def discriminator_loss_at(self, weights, real, fake):
        """``discriminator_loss(real, fake)`` with D's trainable variables read as the tensors ``weights``."""
        mapping = list(zip(self.discriminator.trainable_variables, weights))
        with keras.StatelessScope(state_mapping=mapping):
            return self.discriminator_loss(real, fake)

    def unrolled_weights(self, real, fake):
        """theta_D^k: D's trainable weights after k inner gradient steps, differentiable in ``fake`` (and so in G)."""
        weights = [v.value for v in self.discriminator.trainable_variables]
        for _ in range(self.unroll_steps):  # k is a small Python int: unrolled in the graph
            with tf.GradientTape() as tape:
                tape.watch(weights)
                loss = self.discriminator_loss_at(weights, real, fake)
            grads = tape.gradient(loss, weights)
            weights = [w - self.unroll_learning_rate * g for w, g in zip(weights, grads)]
        return weights

    def generator_loss_unrolled(self, real, fake):
        """f_K: the mean generator objective on D's logits with D's weights theta_D^k."""
        weights = self.unrolled_weights(real, fake)
        mapping = list(zip(self.discriminator.trainable_variables, weights))
        with keras.StatelessScope(state_mapping=mapping):
            logits = self.discriminator_logits(fake, training=True)  # (B,)
        return ops.mean(self.generator_objective(logits))

    def generator_step(self, batch_size, real=None):
        """One generator update against the unrolled discriminator; touches only generator variables."""
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake = self.generator(self.draw_z(batch_size), training=True)  # (B, *input_shape)
            g_loss = self.generator_loss_unrolled(real, fake)
        if g_vars:
            self.generator_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return g_loss

    def get_config(self):
        return {**super().get_config(), "unroll_steps": self.unroll_steps,
                "unroll_learning_rate": self.unroll_learning_rate}
