"""The occupancy-network recipe's data: training batches of shapes3d clouds, query points and labels."""

import tensorflow as tf


def occupancy_dataset(batch_size, cloud_points=300, query_points=1024, noise=0.005, seed=0, data_dir=None,
                      name="shapes3d", split="train"):
    """Shuffled batches ({"cloud": (B, M, 3), "points": (B, N, 3)}, labels (B, N) float32) of ``name``.

    Each batch draws ``cloud_points`` of every shape's stored cloud, adds N(0, noise^2) to them, and draws
    ``query_points`` of its stored queries (uniform and near-surface alike), afresh each epoch.
    """
    from mpkeras import data
    from mpkeras.data import shapes3d
    from mpkeras.data.caching import cache_if_small

    def sample(example):
        cloud = tf.gather(example["points"], tf.random.shuffle(tf.range(shapes3d.NUM_POINTS))[:cloud_points])
        pick = tf.random.shuffle(tf.range(shapes3d.NUM_QUERY))[:query_points]
        labels = tf.gather(tf.cast(example["occupancy"], tf.float32), pick)  # (N,)
        if noise:
            cloud = cloud + noise * tf.random.normal(tf.shape(cloud))
        return {"cloud": cloud, "points": tf.gather(example["query"], pick)}, labels

    ds = cache_if_small(data.load(name, split, data_dir=data_dir, as_supervised=False), name, split, data_dir)
    ds = ds.shuffle(shapes3d.SIZES[split], seed=seed)  # the full split's size: enough for any config
    return ds.map(sample, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size, drop_remainder=True).prefetch(
        tf.data.AUTOTUNE)
