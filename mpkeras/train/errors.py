"""Errors the training runner raises for reasons the user can fix; each prints as one line (see mpkeras.errors)."""

from mpkeras.errors import UsageError, UserError


class UnsupportedFlagError(UsageError):
    """A flag this model or recipe cannot honour, refused with the reason.

    Raise it anywhere the runner calls (``make_data``, ``make_model``, a recipe hook), e.g. in a recipe::

        if args.jit:
            raise UnsupportedFlagError("--jit", "fcn", "XLA has no MaxPoolWithArgmax")

    and the run ends with ``mpkeras train fcn: error: --jit is not supported by fcn: XLA has no
    MaxPoolWithArgmax`` and exit status 2.
    """

    def __init__(self, flag, model, reason):
        super().__init__(f"{flag} is not supported by {model}: {reason}")
        self.flag, self.model, self.reason = flag, model, reason

    def __reduce__(self):
        return type(self), (self.flag, self.model, self.reason)


class SplitTooSmallError(UsageError):
    """A split yields no batch (train batches drop their remainder), so training or evaluation would do nothing."""


class NonFiniteDataError(UserError, ValueError):
    """A float feature of the training or validation data holds NaN or inf."""
