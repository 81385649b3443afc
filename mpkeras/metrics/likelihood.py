"""Likelihood-based quality: ELBO, importance-sampled NLL, bits per dimension."""

import math

import tensorflow as tf


def _batches(images, batch_size):
    for start in range(0, len(images), batch_size):
        yield start // batch_size, tf.convert_to_tensor(images[start : start + batch_size], tf.float32)


def dataset_elbo(model, images, seed=0, batch_size=250):
    """Mean per-example ELBO terms (nats) of a VAE over ``images`` (N, ...), one posterior sample each."""
    totals = {}
    for i, x in _batches(images, batch_size):
        terms = model.elbo(x, tf.constant([seed, i], tf.int32))
        for k, v in terms.items():
            totals[k] = totals.get(k, 0.0) + float(tf.reduce_sum(v))
    return {k: v / len(images) for k, v in totals.items()}


def iwae_nll(model, images, num_samples=1000, seed=0, batch_size=50):
    """Test NLL in nats per example, -mean log p(x), from ``model.iwae_bound`` with k samples.

    The k-sample importance-weighted estimate is a lower bound on log p(x) that
    tightens as k grows (Burda et al. 2016), so the NLL it gives is an upper bound.
    """
    # No AutoGraph: the bound has no data-dependent Python control flow, and AutoGraph re-reads the model's source
    # file, so editing it while a recipe runs broke that run's evaluation.
    fn = tf.function(model.iwae_bound, reduce_retracing=True, autograph=False)
    total = 0.0
    for i, x in _batches(images, batch_size):
        total += float(tf.reduce_sum(fn(x, tf.constant(num_samples), tf.constant([seed, i], tf.int32))))
    return -total / len(images)


def bits_per_dim(nll_nats, num_dims):
    """Converts an NLL in nats per example to bits per dimension."""
    return float(nll_nats) / (num_dims * math.log(2.0))


def dequantized_bits_per_dim(nll_nats, num_dims, levels=256):
    """Bits per sub-pixel of 8-bit data from the NLL (nats per example) of its dequantization y = (k + u) / levels.

    The density of y in [0, 1)^D is levels^D times that of k + u, and E_u log p(k + u) <= log P(k) (Jensen), so

        bits/dim = (NLL_y / D + log levels) / log 2

    is an upper bound on the discrete NLL of the levels k (Theis et al., 2016, "A note on the evaluation of
    generative models"). ``nll_nats`` may be negative: a density of y above 1.
    """
    return bits_per_dim(float(nll_nats) + num_dims * math.log(levels), num_dims)

