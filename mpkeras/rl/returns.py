"""Returns and advantages of trajectories: discounted returns and generalised advantage estimation (GAE).

All functions take time-major arrays (T,) or (T, N) for N parallel environments, work on numpy arrays or
tensors, and run inside ``tf.function`` (a reversed ``tf.scan``). ``dones[t]`` is 1 when the episode ended at
step t (terminated; a truncated episode should pass its bootstrap value instead), so nothing is carried across
episode boundaries.
"""

import tensorflow as tf


def discounted_returns(rewards, dones, gamma, bootstrap=None):
    """G_t = r_t + gamma (1 - done_t) G_{t+1}, with G_T = ``bootstrap`` (0 by default, e.g. V(s_T) otherwise).

    Args:
        rewards: (T,) or (T, N).
        dones: same shape; 1 where the episode ended at step t.
        gamma: discount factor.
        bootstrap: value of the state after the last step, () or (N,).

    Returns:
        G, float32 with the shape of ``rewards``.
    """
    rewards = tf.cast(rewards, tf.float32)
    continues = gamma * (1.0 - tf.cast(dones, tf.float32))
    last = tf.zeros_like(rewards[0]) if bootstrap is None else tf.broadcast_to(
        tf.cast(bootstrap, tf.float32), tf.shape(rewards[0]))
    return tf.scan(lambda g, x: x[0] + x[1] * g, (rewards, continues), initializer=last, reverse=True)


def gae(rewards, values, dones, last_value, gamma, lam):
    """Generalised advantage estimation (Schulman et al. 2016).

        delta_t = r_t + gamma (1 - done_t) V(s_{t+1}) - V(s_t),
        A_t = delta_t + gamma lam (1 - done_t) A_{t+1},

    so lam = 0 gives the one-step TD error (actor-critic's advantage) and lam = 1 the discounted return minus
    V(s_t) (REINFORCE with a baseline).

    Args:
        rewards, values, dones: (T,) or (T, N); ``values[t]`` = V(s_t).
        last_value: V(s_T), the value after the last step, () or (N,).
        gamma, lam: discount and GAE parameter.

    Returns:
        (advantages, returns = advantages + values), each float32 with the shape of ``rewards``.
    """
    rewards = tf.cast(rewards, tf.float32)
    values = tf.cast(values, tf.float32)
    continues = 1.0 - tf.cast(dones, tf.float32)
    last_value = tf.broadcast_to(tf.cast(last_value, tf.float32), tf.shape(rewards[0]))
    next_values = tf.concat([values[1:], last_value[None]], axis=0)  # V(s_{t+1})
    deltas = rewards + gamma * continues * next_values - values  # (T, ...)
    advantages = tf.scan(lambda a, x: x[0] + gamma * lam * x[1] * a, (deltas, continues),
                         initializer=tf.zeros_like(last_value), reverse=True)
    return advantages, advantages + values
