"""Input checks shared by the sequence density models: (B, T, D) float sequences, optional class labels."""

import tensorflow as tf

from mpkeras.models.common import check_float_pixels


class _SequenceInputs:
    """Input checks shared by the sequence density models: (B, T, D) float sequences, optional class labels."""

    def _check_sequences(self, x, name="sequences"):
        check_float_pixels(x, name)
        shape = tuple(x.shape)
        expected = (None, *self.input_shape)
        if len(shape) != 3 or any(e is not None and s is not None and e != s for e, s in zip(expected, shape)):
            raise ValueError(
                f"{name} has shape {shape}; expected (batch, {self.input_shape[0]} steps, {self.input_shape[1]} "
                f"numbers per step). Images (B, H, W, 1) become sequences of rows with "
                f"reshape(images, (-1, H, W)); or build the model with input_shape={shape[1:]}.")
        return x

    def _checked_binary(self, x):
        """``x`` behind a graph assertion that every entry is 0 or 1 (served graphs check too)."""
        x = self._check_sequences(tf.convert_to_tensor(x, tf.float32))
        valid = tf.reduce_all((x == 0.0) | (x == 1.0))
        with tf.control_dependencies([tf.debugging.assert_equal(
                valid, True, message="sequences must be binary (every entry 0 or 1); binarize them first")]):
            return tf.identity(x)

    def _checked_labels(self, labels):
        labels = tf.cast(labels, tf.int32)
        valid = tf.reduce_all((labels >= 0) & (labels < self.num_classes))
        with tf.control_dependencies([tf.debugging.assert_equal(
                valid, True, message=f"labels must be class ids in [0, {self.num_classes})")]):
            return tf.identity(labels)

    def _split(self, inputs):
        """(sequences, labels or None) from the model's inputs, with a clear error when labels are missing or extra."""
        name = type(self).__name__
        if isinstance(inputs, dict):
            if not self.num_classes:
                raise ValueError(f"{name} is unconditional (num_classes=0) but got a dict of inputs {sorted(inputs)}; "
                                 "pass the sequences alone (CVRNN is the class-conditional VRNN).")
            if set(inputs) != {"sequences", "labels"}:
                raise ValueError(f"A class-conditional {name} takes {{'sequences', 'labels'}}, got keys "
                                 f"{sorted(inputs)}.")
            return self._check_sequences(inputs["sequences"]), inputs["labels"]
        if self.num_classes:
            raise ValueError(f"{name} is class-conditional (num_classes={self.num_classes}); pass "
                             "{'sequences': sequences, 'labels': labels}.")
        return self._check_sequences(inputs), None
