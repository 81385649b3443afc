"""WaveNet: an autoregressive model of raw audio, with fast generation through per-layer activation queues.

    log p(x | y) = sum_t log p(q_t | q_0, ..., q_{t-1}, y),   q_t = mu-law level of x_t (256 classes)

The network reads the levels shifted right by one sample (silence before the
clip) through an embedding, then a stack of gated residual blocks with causal
dilated convolutions (dilations 1, 2, 4, ..., 2^(L-1), repeated over stacks);
the sum of the blocks' skip outputs goes through ReLU -> 1x1 -> ReLU -> 1x1 to
the logits of a softmax over the 256 levels (van den Oord et al. 2016, sec. 2).

Fast generation (Paine et al. 2016): the output at time t needs, in each
block, only the block's inputs at t and at t - d, ..., t - (k - 1) d. Each
block keeps the last (k - 1) d of its inputs in a queue (a ring buffer), so
one new sample costs one pass of a single time step through the stack,
O(number of layers), instead of recomputing the whole receptive field,
O(receptive field x layers).
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras.data.audio import assert_waveform_values, check_waveform, mulaw_decode, mulaw_encode, silence_level
from mpkeras.models.common import average_loss, with_regularization
from mpkeras.registry import register_model


@keras.saving.register_keras_serializable(package="mpkeras")
class GatedResidualBlock(keras.layers.Layer):
    """One WaveNet block (van den Oord et al. 2016, eq. 2 and 3 and fig. 4).

        z = W * h + V y                              (causal dilated conv; V y: global conditioning)
        o = tanh(z_f) . sigmoid(z_g)                 (gated activation, z = [z_f, z_g])
        skip = W_s o,   h' = h + W_r o               (1x1 convolutions)

    Args:
        residual_channels: R, the channels of h.
        dilation_channels: D, the channels of o (the conv has 2 D outputs: filter and gate).
        skip_channels: S, the channels of the skip output.
        kernel_size: k, the taps of the dilated convolution.
        dilation_rate: d; tap j reads h at t - (k - 1 - j) d.
        num_classes: labels of the global conditioning (0: none).
        has_residual: whether the block has a residual output (the last block needs none).
    """

    def __init__(self, residual_channels, dilation_channels, skip_channels, kernel_size, dilation_rate,
                 num_classes=0, has_residual=True, **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        self.dilated = keras.layers.Conv1D(2 * dilation_channels, kernel_size, dilation_rate=dilation_rate,
                                           padding="causal", name="dilated")
        self.condition = (keras.layers.Embedding(num_classes, 2 * dilation_channels, name="condition")
                          if num_classes else None)
        self.skip = keras.layers.Dense(skip_channels, name="skip")
        self.residual = keras.layers.Dense(residual_channels, name="residual") if has_residual else None
        # === Config ===
        self.residual_channels = residual_channels
        self.dilation_channels = dilation_channels
        self.skip_channels = skip_channels
        self.kernel_size = kernel_size
        self.dilation_rate = dilation_rate
        self.num_classes = num_classes
        self.has_residual = bool(has_residual)

    @property
    def queue_length(self):
        """(k - 1) d: how many past inputs a time step reads."""
        return (self.kernel_size - 1) * self.dilation_rate

    def build(self, input_shape=None):
        self.dilated.build((None, None, self.residual_channels))
        if self.condition is not None:
            self.condition.build((None,))
        self.skip.build((None, None, self.dilation_channels))
        if self.residual is not None:
            self.residual.build((None, None, self.dilation_channels))
        self.built = True

    def conditioning(self, labels):
        """V y: (B, 2 D) per label, or None without conditioning."""
        return None if self.condition is None or labels is None else self.condition(labels)

    def _gate(self, z, condition):
        if condition is not None:
            z = z + condition
        f, g = ops.split(z, 2, axis=-1)
        return ops.tanh(f) * ops.sigmoid(g)  # (..., D)

    def _outputs(self, h, o):
        skip = self.skip(o)
        return (h + self.residual(o) if self.residual is not None else None), skip

    def call(self, h, condition=None):
        """h (B, T, R), condition (B, 2 D) or None -> (h' (B, T, R) or None, skip (B, T, S))."""
        o = self._gate(self.dilated(h), None if condition is None else condition[:, None, :])  # (B, T, D)
        return self._outputs(h, o)

    def step(self, h, queue, t, condition=None):
        """One time step of :meth:`call` from the block's queue.

        Args:
            h: the block's input at time t, (B, R).
            queue: (queue_length, B, R) ring buffer: slot ``tau % queue_length``
                holds the input at time tau for the last queue_length times (zeros
                before time 0, as the causal padding).
            t: int32 scalar, the current time.
            condition: (B, 2 D) or None.

        Returns:
            (h' (B, R) or None, skip (B, S), the queue with h stored at slot t % queue_length).
        """
        k, d, size = self.kernel_size, self.dilation_rate, self.queue_length
        taps = [tf.gather(queue, (t - (k - 1 - j) * d) % size) for j in range(k - 1)] + [h]  # oldest first
        kernel = ops.reshape(ops.cast(self.dilated.kernel, h.dtype), (k * self.residual_channels, -1))
        z = ops.matmul(ops.concatenate(taps, axis=-1), kernel) + ops.cast(self.dilated.bias, h.dtype)  # (B, 2 D)
        queue = tf.tensor_scatter_nd_update(queue, [[t % size]], h[None])
        h_next, skip = self._outputs(h, self._gate(z, condition))
        return h_next, skip, queue

    def get_config(self):
        return {**super().get_config(), "residual_channels": self.residual_channels,
                "dilation_channels": self.dilation_channels, "skip_channels": self.skip_channels,
                "kernel_size": self.kernel_size, "dilation_rate": self.dilation_rate,
                "num_classes": self.num_classes, "has_residual": self.has_residual}


@register_model("wavenet", dataset="tones16k", metric="test_bits_per_sample")
@keras.saving.register_keras_serializable(package="mpkeras")
class WaveNet(keras.Model):
    """Gated dilated causal convolutions over mu-law audio, with queue-based fast generation.

    p(x | y) = prod_t softmax(f(q_<t, y))[q_t] with q = mulaw_encode(x) (256
    levels). Blocks: ``num_stacks`` x ``layers_per_stack`` :class:`GatedResidualBlock`s
    with dilations 1, 2, ..., 2^(layers_per_stack - 1) in each stack, so the
    receptive field is 1 + num_stacks (k - 1)(2^layers_per_stack - 1) samples.

    Inputs: waveforms (B, T) float in [-1, 1]; with ``num_classes`` > 0 a dict
    ``{"waveform": (B, T), "labels": (B,) int}``, the label being added inside
    every gate (global conditioning, eq. 3). Output: logits (B, T, 256), row t
    the distribution of sample t given the samples before it.

    Probabilities are of the quantized waveform: ``log_prob`` is the log
    probability mass of the 256-level mu-law sequence (nats; ``bits_per_sample``
    = -log_prob / (T ln 2)), not a density of the real-valued x.

    Args:
        num_levels: K, the mu-law levels (mu = K - 1).
        residual_channels: R, channels of the residual stream (and the level embedding).
        dilation_channels: D, channels of the gated activations.
        skip_channels: S, channels of the skip sum and the output 1x1 layer.
        kernel_size: k, taps of each dilated convolution.
        num_stacks: how often the dilation pattern repeats.
        layers_per_stack: blocks per stack (dilations 2^0 .. 2^(layers_per_stack - 1)).
        num_classes: labels to condition on (0: unconditional).

    Example:
        >>> model = WaveNet(num_stacks=2, layers_per_stack=10, num_classes=4)
        >>> model.compile(optimizer="adam")
        >>> model.fit(tf.data.Dataset.from_tensor_slices({"waveform": clips, "labels": ids}).batch(8), epochs=10)
        >>> model.log_prob(clips, ids)["bits_per_sample"]
        >>> model.sample_conditional(tf.constant([0, 3]), 16000, tf.constant([0, 1]))["waveform"]  # (2, 16000)

    Reference:
        van den Oord, Dieleman, Zen, Simonyan, Vinyals, Graves, Kalchbrenner,
        Senior and Kavukcuoglu, "WaveNet: A generative model for raw audio",
        arXiv:1609.03499, 2016; Paine, Khorrami, Chang, Zhang, Ramachandran,
        Hasegawa-Johnson and Huang, "Fast Wavenet generation algorithm",
        arXiv:1611.09482, 2016.
    """

    def __init__(self, num_levels=256, residual_channels=32, dilation_channels=32, skip_channels=64, kernel_size=2,
                 num_stacks=2, layers_per_stack=10, num_classes=0, **kwargs):
        super().__init__(**kwargs)
        if num_levels < 2:
            raise ValueError(f"num_levels must be at least 2 (256 for 8-bit mu-law), got {num_levels}.")
        if kernel_size < 2:
            raise ValueError(f"kernel_size must be at least 2 (a causal tap into the past), got {kernel_size}.")
        if num_stacks < 1 or layers_per_stack < 1:
            raise ValueError(f"num_stacks and layers_per_stack must be at least 1, got {num_stacks} and "
                             f"{layers_per_stack}.")
        dilations = [2 ** i for _ in range(num_stacks) for i in range(layers_per_stack)]
        # === Layers ===
        self.embedding = keras.layers.Embedding(num_levels, residual_channels, name="level_embedding")
        self.blocks = [
            GatedResidualBlock(residual_channels, dilation_channels, skip_channels, kernel_size, d, num_classes,
                               has_residual=i < len(dilations) - 1, name=f"block_{i}")
            for i, d in enumerate(dilations)
        ]
        self.output_hidden = keras.layers.Dense(skip_channels, activation="relu", name="output_hidden")
        self.output_logits = keras.layers.Dense(num_levels, dtype="float32", name="output_logits")
        self.bits_tracker = keras.metrics.Mean(name="bits_per_sample")
        # === Config ===
        self.num_levels = int(num_levels)
        self.residual_channels = int(residual_channels)
        self.dilation_channels = int(dilation_channels)
        self.skip_channels = int(skip_channels)
        self.kernel_size = int(kernel_size)
        self.num_stacks = int(num_stacks)
        self.layers_per_stack = int(layers_per_stack)
        self.num_classes = int(num_classes)

    @property
    def dilations(self):
        return [block.dilation_rate for block in self.blocks]

    @property
    def receptive_field(self):
        """How many past samples the prediction of a sample sees: 1 + sum over blocks of (k - 1) d."""
        return 1 + sum(block.queue_length for block in self.blocks)

    def build(self, input_shape=None):
        self.embedding.build((None, None))
        for block in self.blocks:
            block.build((None, None, self.residual_channels))
        self.output_hidden.build((None, None, self.skip_channels))
        self.output_logits.build((None, None, self.skip_channels))
        self.built = True

    # --- Inputs ----------------------------------------------------------------
    def _split(self, inputs):
        """(waveform, labels or None) from the model's inputs, with a clear error when labels are missing or extra."""
        if isinstance(inputs, dict):
            if not self.num_classes:
                raise ValueError(f"This WaveNet is unconditional (num_classes=0) but got a dict of inputs "
                                 f"{sorted(inputs)}; pass the waveform alone, or build it with num_classes=N.")
            if set(inputs) != {"waveform", "labels"}:
                raise ValueError(f"A class-conditional WaveNet takes {{'waveform', 'labels'}}, got keys "
                                 f"{sorted(inputs)}.")
            return inputs["waveform"], inputs["labels"]
        if self.num_classes:
            raise ValueError(f"This WaveNet is conditioned on num_classes={self.num_classes} labels; pass "
                             "{'waveform': waveform, 'labels': class ids (B,)}.")
        return inputs, None

    def _check_labels(self, labels, waveform=None):
        """Static dtype/rank checks of labels; then (for tensors) a graph assertion that they are known ids."""
        dtype = tf.as_dtype(getattr(labels, "dtype", None) or tf.int32)
        if not dtype.is_integer:
            raise TypeError(f"labels have dtype {dtype.name}; pass integer class ids in [0, {self.num_classes}).")
        if len(tuple(labels.shape)) != 1:
            raise ValueError(f"labels have shape {tuple(labels.shape)}; expected (batch,): one class id per clip.")
        if isinstance(labels, keras.KerasTensor):
            return labels
        labels = tf.cast(labels, tf.int32)
        known = tf.debugging.assert_equal(
            tf.reduce_all((labels >= 0) & (labels < self.num_classes)), True,
            message=(f"labels must be class ids in [0, {self.num_classes}) (the classes this model was trained "
                     "on); map unknown classes to a known id or retrain with more classes"))
        with tf.control_dependencies([known]):
            return tf.identity(labels)

    def _checked(self, inputs, name="waveform"):
        """(waveform, labels) after static checks and graph assertions on the values."""
        waveform, labels = self._split(inputs)
        check_waveform(waveform, name)
        waveform = assert_waveform_values(tf.convert_to_tensor(waveform), name)
        if labels is not None:
            labels = self._check_labels(labels)
        return waveform, labels

    def compute_output_spec(self, inputs, training=False):
        waveform, labels = self._split(inputs)
        check_waveform(waveform)
        if labels is not None:
            self._check_labels(labels)
        return keras.KerasTensor((*waveform.shape, self.num_levels), dtype="float32")

    # --- Network ---------------------------------------------------------------
    def conditions(self, labels):
        """Per block V y, (B, 2 D) each, or Nones."""
        return [block.conditioning(labels) for block in self.blocks]

    def shifted_embedding(self, levels):
        """Levels (B, T) -> embedded network inputs (B, T, R): silence, then levels 0..T-2."""
        start = tf.fill([tf.shape(levels)[0], 1], silence_level(self.num_levels))
        return self.embedding(tf.concat([start, levels[:, :-1]], axis=1))

    def network(self, h, labels=None, return_block_inputs=False):
        """Embedded inputs (B, T, R) -> logits (B, T, K) (and each block's input (B, T, R) if asked)."""
        skips, inputs = 0.0, []
        for block, condition in zip(self.blocks, self.conditions(labels)):
            inputs.append(h)
            h, skip = block(h, condition)
            skips = skips + skip
        logits = self.output_logits(self.output_hidden(ops.relu(skips)))  # (B, T, K) float32
        return (logits, inputs) if return_block_inputs else logits

    def logits_from_levels(self, levels, labels=None):
        """mu-law levels (B, T) int -> logits (B, T, K); row t depends on levels 0..t-1 only."""
        return self.network(self.shifted_embedding(levels), labels)

    def logits_from_one_hot(self, one_hot, labels=None):
        """One-hot levels (B, T, K) float -> logits (B, T, K): the same function as :meth:`logits_from_levels`,
        differentiable in its input (for causality checks)."""
        embedded = ops.matmul(one_hot, ops.cast(self.embedding.embeddings, one_hot.dtype))  # (B, T, R)
        start = self.embedding(tf.fill([tf.shape(one_hot)[0], 1], silence_level(self.num_levels)))
        return self.network(tf.concat([ops.cast(start, embedded.dtype), embedded[:, :-1]], axis=1), labels)

    def call(self, inputs, training=False):
        waveform, labels = self._checked(inputs)
        return self.logits_from_levels(mulaw_encode(waveform, self.num_levels), labels)  # (B, T, K)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean over the batch and time of -log p(q_t | q_<t) in nats (per sample); also tracks bits per sample."""
        targets = mulaw_encode(self._split(x)[0], self.num_levels)  # (B, T)
        nats = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=tf.cast(y_pred, tf.float32))
        self.bits_tracker.update_state(ops.mean(nats) / math.log(2.0))
        return with_regularization(average_loss(nats), self.losses)

    # --- Likelihood ------------------------------------------------------------
    def log_prob(self, waveform, labels=None):
        """Scores waveforms (B, T) in [-1, 1] (and their labels (B,) if conditional).

        Returns:
            ``log_prob`` (B,): sum_t log p(q_t | q_<t) in nats of the mu-law levels;
            ``bits_per_sample`` (B,): -log_prob / (T ln 2).
        """
        inputs = {"waveform": waveform, "labels": labels} if self.num_classes else waveform
        waveform, labels = self._checked(inputs)
        levels = mulaw_encode(waveform, self.num_levels)
        logits = tf.cast(self.logits_from_levels(levels, labels), tf.float32)
        log_prob = -tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=levels, logits=logits), 1)
        length = tf.cast(tf.shape(levels)[1], tf.float32)
        return {"log_prob": log_prob, "bits_per_sample": -log_prob / (length * math.log(2.0))}

    # --- Generation ------------------------------------------------------------
    def initial_state(self, batch_size):
        """Empty queues: one (queue_length, B, R) zero tensor per block (the causal padding)."""
        return [tf.zeros((block.queue_length, batch_size, self.residual_channels), self.compute_dtype)
                for block in self.blocks]

    def prefill(self, levels, labels=None):
        """Queues after the network has read the levels (B, P), P >= 1, in parallel (one full pass).

        The network input at time tau is level tau - 1 (silence at tau = 0), so
        after the prefill the next input (time P) is level P - 1.
        """
        _, inputs = self.network(self.shifted_embedding(levels), labels, return_block_inputs=True)
        length = tf.shape(levels)[1]
        queues = []
        for block, h in zip(self.blocks, inputs):
            size = block.queue_length
            last = tf.pad(h, [[0, 0], [tf.maximum(size - length, 0), 0], [0, 0]])[:, -size:]  # times P-size..P-1
            # Slot tau % size holds time tau: time P - size + i goes to slot (P + i) % size.
            queues.append(tf.roll(tf.transpose(last, [1, 0, 2]), shift=length % size, axis=0))
        return queues

    def decode_step(self, level, t, queues, conditions):
        """Reads the network input level (B,) at time t -> (logits (B, K) of sample t, new queues)."""
        h = self.embedding(level)  # (B, R)
        skips, new_queues = 0.0, []
        for block, queue, condition in zip(self.blocks, queues, conditions):
            h, skip, queue = block.step(h, queue, t, condition)
            skips = skips + skip
            new_queues.append(queue)
        return tf.cast(self.output_logits(self.output_hidden(ops.relu(skips))), tf.float32), new_queues

    def _noise(self, seed, step, shape, temperature):
        """T times Gumbel(0, 1) noise for one step, from philox seeds folded with the step."""
        u = tf.random.stateless_uniform(shape, tf.random.experimental.stateless_fold_in(seed, step, alg="philox"),
                                        minval=1e-7, maxval=1.0, alg="philox")
        return temperature * -tf.math.log(-tf.math.log(u))

    def generate_levels(self, levels, length, temperature, seed, labels=None, method="fast"):
        """Samples ``length`` levels (B, length) int32 after the given ``levels`` (B, P) in a ``tf.while_loop``.

        P may be 0 (statically: a (B, 0) tensor) to start from silence.

        Sample t is argmax(logits_t + T g_t) with g_t Gumbel(0, 1) noise drawn
        with philox from ``seed`` folded with the step, so it follows
        softmax(logits / T) for T > 0 and is greedy for T = 0; every method
        draws the same noise and hence the same samples.

        Args:
            method: ``fast`` (queues, :meth:`decode_step`), ``window`` (naive:
                every step recomputes the network over the last ``receptive_field``
                inputs, all it depends on) or ``prefix`` (naive: every step
                recomputes the whole sequence so far).
        """
        if method not in ("fast", "window", "prefix"):
            raise ValueError(f"Unknown method {method!r}; choose fast, window or prefix.")
        levels = tf.convert_to_tensor(levels, tf.int32)
        length = tf.convert_to_tensor(length, tf.int32)
        temperature = tf.convert_to_tensor(temperature, tf.float32)
        batch, prompt = tf.shape(levels)[0], tf.shape(levels)[1]
        checks = [tf.debugging.assert_positive(length, message="length must be at least 1 sample"),
                  tf.debugging.assert_non_negative(temperature, message="temperature must be >= 0 (0: greedy)")]
        with tf.control_dependencies(checks):
            levels = tf.identity(levels)
        # The network input at time tau is level tau - 1, silence at tau = 0.
        inputs = tf.concat([tf.fill([batch, 1], silence_level(self.num_levels)), levels], axis=1)  # (B, P + 1)
        out = tf.TensorArray(tf.int32, size=length)

        def pick(logits, i):
            return tf.argmax(logits + self._noise(seed, i, tf.shape(logits), temperature), axis=-1,
                             output_type=tf.int32)

        if method == "fast":
            conditions = self.conditions(labels)
            # Given levels (P >= 1) are read in one parallel pass; without them the queues start empty.
            queues = self.initial_state(batch) if levels.shape[1] == 0 else self.prefill(levels, labels)

            def body(i, level, queues, out):
                logits, queues = self.decode_step(level, prompt + i, queues, conditions)
                level = pick(logits, i)
                return i + 1, level, queues, out.write(i, level)

            _, _, _, out = tf.while_loop(lambda i, *_: i < length, body, (0, inputs[:, -1], queues, out))
        else:
            buffer = tf.concat([inputs, tf.zeros((batch, length), tf.int32)], axis=1)  # (B, P + 1 + length)
            field = self.receptive_field

            def body(i, buffer, out):
                t = prompt + i  # the time of the newest input
                start = tf.maximum(t + 1 - field, 0) if method == "window" else 0
                logits = self.network(self.embedding(buffer[:, start:t + 1]), labels)[:, -1]  # the whole window
                level = pick(tf.cast(logits, tf.float32), i)
                buffer = tf.tensor_scatter_nd_update(
                    buffer, tf.stack([tf.range(batch), tf.fill([batch], t + 1)], axis=1), level)
                return i + 1, buffer, out.write(i, level)

            _, _, out = tf.while_loop(lambda i, *_: i < length, body, (0, buffer, out))
        return tf.transpose(out.stack())  # (B, length)

    def _result(self, levels):
        return {"waveform": mulaw_decode(levels, self.num_levels), "levels": levels}

    def sample(self, num_samples, length, seed):
        """``waveform`` (N, length) in [-1, 1] and its ``levels`` (N, length), drawn from silence with queues.

        For a class-conditional model use :meth:`sample_conditional`.
        """
        if self.num_classes:
            raise ValueError(f"This WaveNet is conditioned on num_classes={self.num_classes} labels; call "
                             "sample_conditional(labels, length, seed).")
        levels = tf.zeros((num_samples, 0), tf.int32)
        return self._result(self.generate_levels(levels, length, 1.0, seed))

    def sample_conditional(self, labels, length, seed):
        """One clip per label (N,): ``waveform`` (N, length) and ``levels``, drawn from silence with queues."""
        labels = self._check_labels(tf.convert_to_tensor(labels))
        levels = tf.zeros((tf.shape(labels)[0], 0), tf.int32)
        return self._result(self.generate_levels(levels, length, 1.0, seed, labels))

    def generate(self, prompt, length, temperature, seed, labels=None):
        """Continues each prompt waveform (B, P), P >= 1, by ``length`` samples at ``temperature``.

        The prompt is read in one parallel pass (:meth:`prefill`), then the
        continuation comes from the queues, one sample per loop step.

        Returns:
            ``waveform`` (B, length) in [-1, 1] (the continuation, without the prompt) and its ``levels``.
        """
        inputs = {"waveform": prompt, "labels": labels} if self.num_classes else prompt
        prompt, labels = self._checked(inputs, "prompt")
        nonempty = tf.debugging.assert_positive(tf.shape(prompt)[1], message="the prompt needs at least one sample")
        with tf.control_dependencies([nonempty]):
            levels = mulaw_encode(prompt, self.num_levels)
        return self._result(self.generate_levels(levels, length, temperature, seed, labels))

    # --- Serving ---------------------------------------------------------------
    def serving_endpoints(self):
        waveform = tf.TensorSpec((None, None), tf.float32, name="waveform")
        prompt = tf.TensorSpec((None, None), tf.float32, name="prompt")
        length = tf.TensorSpec((), tf.int32, name="length")
        temperature = tf.TensorSpec((), tf.float32, name="temperature")
        seed = tf.TensorSpec((2,), tf.int32, name="seed")
        if self.num_classes:
            labels = tf.TensorSpec((None,), tf.int32, name="labels")
            log_prob = (self.log_prob, [waveform, labels])
            return {"serving_default": log_prob, "log_prob": log_prob,
                    "sample": (self.sample_conditional, [labels, length, seed]),
                    "generate": (self.generate, [prompt, length, temperature, seed, labels])}
        log_prob = (self.log_prob, [waveform])
        return {"serving_default": log_prob, "log_prob": log_prob,
                "sample": (self.sample, [tf.TensorSpec((), tf.int32, name="num_samples"), length, seed]),
                "generate": (self.generate, [prompt, length, temperature, seed])}

    def serving_ranges(self):
        """Class ids in [0, num_classes) for a conditional WaveNet (counts follow the exporter's rule)."""
        return {endpoint: {"labels": (0, self.num_classes - 1)}
                for endpoint in self.serving_endpoints()} if self.num_classes else {}

    def serving_examples(self):
        """Valid examples: two tones in [-1, 1], short lengths (the generated ones would ask for 0 samples)."""
        t = np.arange(64) / 16000.0
        waveform = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 1000 * t)]).astype(np.float32)
        prompt = waveform[:, :16]
        seed, length, temperature = np.array([1, 2], np.int32), np.int32(12), np.float32(1.0)
        if self.num_classes:
            labels = np.array([0, self.num_classes - 1], np.int32)
            return {"serving_default": [waveform, labels], "log_prob": [waveform, labels],
                    "sample": [labels, length, seed], "generate": [prompt, length, temperature, seed, labels]}
        return {"serving_default": [waveform], "log_prob": [waveform], "sample": [np.int32(2), length, seed],
                "generate": [prompt, length, temperature, seed]}

    def get_config(self):
        return {**super().get_config(), "num_levels": self.num_levels, "residual_channels": self.residual_channels,
                "dilation_channels": self.dilation_channels, "skip_channels": self.skip_channels,
                "kernel_size": self.kernel_size, "num_stacks": self.num_stacks,
                "layers_per_stack": self.layers_per_stack, "num_classes": self.num_classes}
