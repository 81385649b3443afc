"""Rosenblatt's perceptron, trained by its own online update rule (no gradients)."""

import math

import keras
import tensorflow as tf
from keras import ops

from mpkeras.models.common import check_input
from mpkeras.registry import register_model


def step(scores):
    """The Heaviside step 1[s > 0] as float (a score of exactly 0 gives 0)."""
    return tf.cast(scores > 0, scores.dtype)


SEQUENTIAL_RULE = ("Rosenblatt's online rule is sequential (one example after the other, each classified with the "
                   "weights the previous ones left), so replicas working on different examples at once have no "
                   "single set of weights to update")


def check_single_replica(strategy):
    """Raises when ``strategy`` runs more than one replica: the online rule is sequential.

    Rosenblatt's rule updates theta after every example, and the next example is
    classified with the updated theta. Replicas working on different examples at
    the same time have no single theta to update, so the algorithm is not defined
    for them (averaging their updates would be a different, batch algorithm).
    """
    replicas = strategy.num_replicas_in_sync
    if replicas > 1:
        raise RuntimeError(
            f"{SEQUENTIAL_RULE}: it cannot run on {replicas} replicas of {type(strategy).__name__}. Train it on "
            "one device: `--strategy default` in the recipes, or build and compile the model outside any "
            "tf.distribute strategy scope."
        )


@register_model("perceptron", dataset="mnist5k", metric="test_accuracy")
@keras.saving.register_keras_serializable(package="mpkeras")
class Perceptron(keras.Model):
    """Rosenblatt's perceptron: y_hat = 1[theta^T x + b > 0], trained by its own rule.

    For every training example (x, y), in order, the online rule (Rosenblatt 1958) is

        y_hat = 1[theta^T x + b > 0]
        theta <- theta + eta (y - y_hat) x,        b <- b + eta (y - y_hat)

    so the weights change only when the example is misclassified (y - y_hat is
    +1 or -1), and the next example already sees the new weights. ``train_step``
    runs exactly this, example by example through the batch in a
    ``tf.while_loop``; no gradient is ever computed, and the weights are
    non-trainable variables changed with ``assign_add``. ``fit``, callbacks,
    early stopping and checkpoints work as for any Keras model.

    Multi-class (``num_outputs`` = K > 1) is one-vs-rest: unit k has its own
    theta_k, b_k and applies the rule to the target 1[y == k]; the class is
    argmax_k (theta_k^T x + b_k). With ``num_outputs=1`` the labels are binary
    in {0, 1} and the class is 1[theta^T x + b > 0].

    Convergence (Novikoff 1962): if some unit vector u (bias folded into x as a
    constant 1) separates the data with margin gamma = min_i |u^T x_i| > 0 and
    R = max_i ||x_i||, the rule makes at most (R / gamma)^2 mistakes, whatever
    the order of the examples and eta, then stops changing. If the data are not
    linearly separable -- XOR (Minsky and Papert 1969) -- it never stops.
    Weights start at zero, so eta only scales theta and the decisions never
    depend on it.

    Training reports (``fit`` / ``evaluate`` logs):

    * ``loss``: the error rate of the rule, i.e. the fraction of examples on
      which at least one unit was wrong. In training these are exactly the
      examples that caused an update, so early stopping can watch ``val_loss``.
    * ``num_updates`` (training only): the non-trainable counter of rule
      applications that changed weights, summed over the K units (for K = 1 the
      number of mistakes, which Novikoff's bound limits).
    * metrics passed to ``compile`` (e.g. ``"accuracy"``) are computed on the
      hard ``probabilities`` (one-hot of ``class_id``).

    ``compile`` accepts an ``optimizer`` like every Keras model (the recipes
    pass one), but **the optimizer is never used**: nothing is trained by
    gradient descent, and ``optimizer.iterations`` stays 0. A ``loss`` is
    refused. The model runs in float32 whatever the global dtype policy
    (decisions are signs; float16 would only flip some of them). Sample
    weights and more than one replica (``tf.distribute``) are refused with an
    explanation.

    Args:
        input_shape: shape of one example, e.g. ``(28, 28, 1)``; it is flattened.
        num_outputs: K, the number of one-vs-rest units (classes); 1 for binary labels.
        learning_rate: eta > 0, the step of the rule.

    Example:
        >>> model = Perceptron(input_shape=(28, 28, 1), num_outputs=10)
        >>> model.compile(metrics=["accuracy"])  # the optimizer, if given, is unused
        >>> model.fit(images, labels, epochs=20, validation_split=0.1)
        >>> int(model.num_updates)  # rule applications so far
        >>> model.predict_outputs(images)["class_id"]

    Reference:
        Rosenblatt, "The perceptron: a probabilistic model for information
        storage and organization in the brain", Psychological Review 65(6), 1958;
        Novikoff, "On convergence proofs on perceptrons", Symposium on the
        Mathematical Theory of Automata, 1962; Minsky and Papert,
        "Perceptrons", MIT Press, 1969.
    """

    # The conformance kit checks shapes but no gradient tape, and asserts there
    # is nothing trainable: this model is trained by its own rule.
    trained_by_gradients = False

    def __init__(self, input_shape=(28, 28, 1), num_outputs=10, learning_rate=1.0, **kwargs):
        kwargs.setdefault("dtype", "float32")  # hard decisions: no mixed precision
        super().__init__(**kwargs)
        if int(num_outputs) < 1:
            raise ValueError(f"num_outputs must be >= 1 (1 for binary labels), got {num_outputs}.")
        if not learning_rate > 0:
            raise ValueError(f"learning_rate (eta) must be > 0, got {learning_rate}.")
        # === Layers ===
        # The weights (kernel theta, bias b, counter num_updates) are created in build().
        self.error_tracker = keras.metrics.Mean(name="loss")  # the rule's error rate
        # === Config ===
        self.input_shape = tuple(input_shape)
        self.num_outputs = int(num_outputs)
        self.learning_rate = float(learning_rate)

    @property
    def input_dim(self):
        """D, the length of a flattened example."""
        return math.prod(self.input_shape)

    def build(self, input_shape):
        if math.prod(input_shape[1:]) != self.input_dim:
            raise ValueError(
                f"Perceptron built for examples of shape {self.input_shape} got a batch of shape "
                f"{tuple(input_shape)}; build it with input_shape={tuple(input_shape[1:])}."
            )
        zeros = keras.initializers.Zeros()  # theta_0 = 0, as in Novikoff's bound
        self.kernel = self.add_weight(shape=(self.input_dim, self.num_outputs), initializer=zeros,
                                      trainable=False, name="kernel")  # (D, K): column k is theta_k
        self.bias = self.add_weight(shape=(self.num_outputs,), initializer=zeros, trainable=False, name="bias")  # (K,)
        self.num_updates = self.add_weight(shape=(), initializer=zeros, dtype="int64", trainable=False,
                                           name="num_updates")
        super().build(input_shape)

    def call(self, x, training=False):
        """Scores theta_k^T x + b_k, (B, K)."""
        x = ops.reshape(ops.cast(x, "float32"), (-1, self.input_dim))  # (B, D)
        return ops.matmul(x, self.kernel) + self.bias  # (B, K)

    # --- Decisions ----------------------------------------------------------
    def decide(self, scores):
        """class_id (B,) int32 from scores (B, K): argmax for K > 1, the step for K = 1."""
        if self.num_outputs == 1:
            return tf.cast(scores[:, 0] > 0, tf.int32)
        return tf.argmax(scores, axis=-1, output_type=tf.int32)

    def hard_probabilities(self, class_id):
        """One-hot of class_id, (B, K); for K = 1 the hard P(class 1) = class_id, (B, 1)."""
        if self.num_outputs == 1:
            return tf.cast(class_id, tf.float32)[:, None]
        return tf.one_hot(class_id, self.num_outputs, dtype=tf.float32)

    def targets(self, y):
        """Per-unit targets t_k = 1[y == k] (B, K) from class ids y (B,) or (B, 1)."""
        y = tf.convert_to_tensor(y)
        if y.dtype.is_floating:  # e.g. numpy labels that went through a float pipeline
            y = tf.cast(y, tf.int64)
        if y.shape.rank is not None and (y.shape.rank > 2 or (y.shape.rank == 2 and y.shape[-1] != 1)):
            raise ValueError(
                f"labels have shape {tuple(y.shape)}; the perceptron takes class ids of shape (batch,) "
                "(not one-hot vectors): use tf.argmax(labels, -1)."
            )
        y = tf.reshape(y, [-1])
        classes = max(self.num_outputs, 2)
        message = (f"labels must be class ids in [0, {classes}) (num_outputs={self.num_outputs}; "
                   "use 0/1 labels, not -1/+1, when num_outputs=1)")
        checks = [
            tf.debugging.assert_non_negative(y, message=message),
            tf.debugging.assert_less(y, tf.cast(classes, y.dtype), message=message),
        ]
        with tf.control_dependencies([c for c in checks if c is not None]):  # ops in graphs, None eagerly
            y = tf.identity(y)
        if self.num_outputs == 1:
            return tf.cast(y, tf.float32)[:, None]  # (B, 1)
        return tf.one_hot(y, self.num_outputs, dtype=tf.float32)  # (B, K)

    # --- Training: Rosenblatt's rule -----------------------------------------
    def unsupported_flags(self):
        """Several replicas: the rule is sequential (see :func:`check_single_replica`)."""
        return {"replicas": SEQUENTIAL_RULE}

    def compile(self, optimizer="sgd", loss=None, **kwargs):
        """``keras.Model.compile``; the optimizer is accepted for the API's sake and never used.

        Args:
            optimizer: ignored by training (nothing is trained by gradients).
            loss: must be None: the loss is the rule's own error rate.
            **kwargs: ``metrics`` (on the hard probabilities), ``jit_compile``, ...
        """
        if loss is not None:
            raise ValueError(
                "Perceptron trains by Rosenblatt's rule and reports its error rate as `loss`; "
                f"do not pass a loss (got {loss!r})."
            )
        check_single_replica(self.distribute_strategy)
        # Create every variable now, eagerly: Keras would create them in the first trace of the
        # train function, and after a first trace that failed (bad input) a retry could not.
        if not self.built:  # input_shape is known
            self.build((None, *self.input_shape))
        super().compile(optimizer=optimizer, **kwargs)
        self.compute_metrics(None, tf.zeros((1,), tf.int64), self.hard_probabilities(tf.zeros((1,), tf.int32)))
        self.reset_metrics()

    def compile_from_config(self, config):
        # Reloaded models come back compiled (our compile() takes the saved arguments unchanged).
        self.compile(**keras.saving.deserialize_keras_object(config))

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(
                "Perceptron does not take sample weights or class weights: Rosenblatt's rule "
                "weighs every mistake the same."
            )
        if y is None:
            raise ValueError("Perceptron is supervised: pass labels, e.g. model.fit(x, y).")
        x = check_input(x, self.input_shape, "x")
        return tf.reshape(x, [-1, self.input_dim]), self.targets(y), y  # (B, D), (B, K)

    def online_rule(self, x, targets):
        """Applies the rule to the rows of ``x`` in order and returns the total change.

        Args:
            x: (B, D) flattened examples.
            targets: (B, K) per-unit targets in {0, 1}.

        Returns:
            ``(d_kernel, d_bias, scores)``: the sum of the B sequential updates,
            (D, K) and (K,), and the scores each example got when it was classified,
            (B, K). Example i is classified with kernel + (the updates of examples
            0..i-1), exactly as if the variables were updated after each one.
        """
        kernel, bias = tf.convert_to_tensor(self.kernel), tf.convert_to_tensor(self.bias)
        eta = tf.constant(self.learning_rate, tf.float32)
        n = tf.shape(x)[0]

        def body(i, d_kernel, d_bias, scores):
            x_i = x[i]  # (D,)
            score = tf.linalg.matvec(kernel + d_kernel, x_i, transpose_a=True) + (bias + d_bias)  # (K,)
            correction = targets[i] - step(score)  # y - y_hat, (K,) in {-1, 0, 1}
            d_kernel += eta * x_i[:, None] * correction[None, :]  # theta_k += eta (y_k - y_hat_k) x
            d_bias += eta * correction  # b_k += eta (y_k - y_hat_k)
            return i + 1, d_kernel, d_bias, scores.write(i, score)

        # Each iteration reads the weights the previous one left: a data dependency, so strictly sequential.
        _, d_kernel, d_bias, scores = tf.while_loop(
            lambda i, *_: i < n,
            body,
            (tf.constant(0), tf.zeros_like(kernel), tf.zeros_like(bias),
             tf.TensorArray(tf.float32, size=n, element_shape=[self.num_outputs])),
        )
        return d_kernel, d_bias, scores.stack()

    def train_step(self, data):
        check_single_replica(tf.distribute.get_strategy())
        x, targets, y = self._unpack(data)
        d_kernel, d_bias, scores = self.online_rule(x, targets)
        self.kernel.assign_add(d_kernel)
        self.bias.assign_add(d_bias)
        corrections = targets - step(scores)  # (B, K) in {-1, 0, 1}; nonzero = an update
        self.num_updates.assign_add(tf.cast(tf.reduce_sum(tf.abs(corrections)), "int64"))
        self.error_tracker.update_state(tf.cast(tf.reduce_any(corrections != 0, axis=-1), tf.float32))
        # Compiled metrics see the decision each example got when it was classified (online accuracy).
        self.compute_metrics(x, y, self.hard_probabilities(self.decide(scores)))
        logs = {m.name: m.result() for m in self.metrics}
        logs["num_updates"] = tf.identity(self.num_updates.value)
        return logs

    def test_step(self, data):
        x, targets, y = self._unpack(data)
        scores = self(x, training=False)  # (B, K)
        wrong = tf.reduce_any(step(scores) != targets, axis=-1)  # the rule would update on these
        self.error_tracker.update_state(tf.cast(wrong, tf.float32))
        self.compute_metrics(x, y, self.hard_probabilities(self.decide(scores)))
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        # Our error rate is the loss; Keras's own loss tracker (never updated here) is left out.
        return [self.error_tracker, *(m for m in super().metrics if m.name != "loss")]

    # --- Serving ------------------------------------------------------------
    def predict_outputs(self, x):
        """Named outputs: class_id (B,) int32, scores (B, K) and probabilities.

        The perceptron makes hard decisions and has no probability model:
        ``probabilities`` is the one-hot of ``class_id`` (B, K) -- for K = 1 the
        hard P(class 1) = class_id, (B, 1) -- kept for the classifier contract.
        """
        x = check_input(x, self.input_shape, "x")
        scores = self(x, training=False)
        class_id = self.decide(scores)
        return {"class_id": class_id, "scores": scores, "probabilities": self.hard_probabilities(class_id)}

    def serving_endpoints(self):
        spec = [tf.TensorSpec((None, *self.input_shape), tf.float32, name="x")]
        return {"serving_default": (self.predict_outputs, spec)}

    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": self.input_shape,
            "num_outputs": self.num_outputs,
            "learning_rate": self.learning_rate,
        }
