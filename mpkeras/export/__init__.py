"""SavedModel export, TF Serving layout and verification.

Example:
    >>> from mpkeras.export import export_model, verify_savedmodel
    >>> path = export_model(model, "vae", model_card={"dataset": "mnist5k"})
    >>> verify_savedmodel(path)["ok"]
    True
"""

from mpkeras.export.savedmodel import export_model, next_version, refresh_models_config
from mpkeras.export.verify import VerificationError, main_verify, verify_savedmodel

__all__ = ["export_model", "next_version", "refresh_models_config", "verify_savedmodel",
           "VerificationError", "main_verify"]
