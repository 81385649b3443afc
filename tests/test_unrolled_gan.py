"""The unrolled GAN: k = 0 is the plain update, and the lookahead gradient is the derivative of the surrogate."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.models import GAN, UnrolledGAN


def _pair(**unrolled_kwargs):
    """A GAN and an UnrolledGAN with identical weights, seeds and optimizers."""
    models = []
    for cls, extra in ((GAN, {}), (UnrolledGAN, unrolled_kwargs)):
        keras.utils.set_random_seed(0)
        model = cls(input_shape=(2,), latent_dim=3, hidden_units=(8, 8), seed=5, **extra)
        model(tf.zeros([1, 3]))
        model.compile(generator_optimizer=keras.optimizers.SGD(0.1), discriminator_optimizer=keras.optimizers.Adam(0.05))
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    return models


def test_zero_unroll_steps_is_the_plain_generator_update():
    plain, unrolled = _pair(unroll_steps=0)
    real = tf.random.stateless_normal([16, 2], seed=[1, 2]) + 2.0
    real_term = -float(tf.reduce_mean(tf.nn.softplus(-plain.discriminate(real)["logits"])))  # E[log D(x)]
    plain_loss, unrolled_loss = plain.generator_step(16, real), unrolled.generator_step(16, real)
    np.testing.assert_allclose(float(unrolled_loss), float(plain_loss) + real_term, rtol=1e-5)  # + a constant in G
    for a, b in zip(plain.generator.get_weights(), unrolled.generator.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    plain.fit(real, batch_size=16, epochs=2, verbose=0)  # whole training steps, D updates included
    unrolled.fit(real, batch_size=16, epochs=2, verbose=0)
    for a, b in zip(plain.get_weights(), unrolled.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_lookahead_changes_the_update():
    plain, unrolled = _pair(unroll_steps=3)
    real = tf.random.stateless_normal([16, 2], seed=[1, 2]) + 2.0
    plain.discriminator_step(real)  # the Adam lookahead continues these moments
    unrolled.discriminator_step(real)
    plain.generator_step(16, real)
    unrolled.generator_step(16, real)
    assert any(not np.allclose(a, b, atol=1e-6)
               for a, b in zip(plain.generator.get_weights(), unrolled.generator.get_weights()))


@pytest.mark.parametrize("unroll_optimizer,learning_rate", [("sgd", 1.0), ("adam", 0.05)])
def test_unrolled_gradient_matches_finite_differences_of_the_surrogate(unroll_optimizer, learning_rate):
    # f_K(x_fake) = L_G(x_fake; theta_D^K(x_fake)) as a function of the generator's samples: autodiff through the
    # inner updates must match central differences, and must differ from the gradient with theta_D^K held fixed.
    keras.utils.set_random_seed(0)
    model = UnrolledGAN(input_shape=(2,), latent_dim=2, hidden_units=(16,), unroll_steps=2,
                        unroll_optimizer=unroll_optimizer, unroll_learning_rate=learning_rate, seed=3)
    model(tf.zeros([1, 2]))
    optimizer = keras.optimizers.Adam(learning_rate) if unroll_optimizer == "adam" else keras.optimizers.SGD(0.1)
    model.compile(discriminator_optimizer=optimizer)
    rng = np.random.default_rng(0)
    real = tf.constant(rng.normal(size=(8, 2)) + 1.5, tf.float32)
    fake = tf.constant(rng.normal(size=(8, 2)), tf.float32)
    for _ in range(3):  # moments for the Adam lookahead to continue
        model.discriminator_step(real)
    with tf.GradientTape() as tape:
        tape.watch(fake)
        surrogate = model.generator_loss_unrolled(real, fake)
    grad = tape.gradient(surrogate, fake).numpy()

    held = [tf.constant(w) for w in model.unrolled_weights(real, fake)]  # theta_D^K, no longer a function of fake
    with tf.GradientTape() as tape:
        tape.watch(fake)
        with keras.StatelessScope(state_mapping=list(zip(model.discriminator.trainable_variables, held))):
            fixed = tf.reduce_mean(model.generator_objective(model.discriminator_logits(fake, training=True)))
    fixed_grad = tape.gradient(fixed, fake).numpy()

    eps = 1e-2
    numeric = np.zeros_like(grad)
    for i in range(4):
        for j in range(2):
            step = np.zeros((8, 2), np.float32)
            step[i, j] = eps
            up = float(model.generator_loss_unrolled(real, fake + step))
            down = float(model.generator_loss_unrolled(real, fake - step))
            numeric[i, j] = (up - down) / (2 * eps)
    np.testing.assert_allclose(grad[:4], numeric[:4], rtol=0.05, atol=2e-4)
    assert np.abs(grad[:4] - fixed_grad[:4]).max() > 10 * 2e-4  # the lookahead term is there and is measured


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="unroll_steps must be >= 0"):
        UnrolledGAN(unroll_steps=-1)
    with pytest.raises(ValueError, match="unroll_learning_rate must be > 0"):
        UnrolledGAN(unroll_learning_rate=0.0)
    with pytest.raises(ValueError, match="Unknown unroll_optimizer"):
        UnrolledGAN(unroll_optimizer="rmsprop")
    with pytest.raises(ValueError, match="continues the discriminator optimizer.s Adam state, but it is RMSprop"):
        model = UnrolledGAN(input_shape=(2,), latent_dim=2, unroll_optimizer="adam")
        model.compile(discriminator_optimizer=keras.optimizers.RMSprop())
