"""The one catalogue of mpkeras models.

Every public model class is decorated with :func:`register_model`, which records
the short name used by the CLI (``mpkeras train vae``), the recipe that trains it
and the embedded dataset the recipe uses by default.

Example:
    >>> from mpkeras import registry
    >>> registry.list_models()
    ['beta_vae', 'mlp', 'vae']
    >>> VAE = registry.get_model("vae")
"""

from __future__ import annotations

import dataclasses
import difflib

from mpkeras.errors import UserError


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """What the registry knows about one model.

    Attributes:
        name: short name (``"vae"``).
        cls: the ``keras.Model`` subclass.
        recipe: recipe path relative to the project root (``"recipes/vae.py"``).
        dataset: default (embedded) dataset of the recipe.
        metric: name of the headline metric the recipe reports (``"test_nll_nats"``).
    """

    name: str
    cls: type
    recipe: str
    dataset: str
    metric: str


_MODELS: dict[str, ModelEntry] = {}


class UnknownModelError(UserError, KeyError):
    """Raised for a model name that is not registered."""

    def __str__(self):  # KeyError quotes its message; show it plainly.
        return str(self.args[0])


def register_model(name: str, *, dataset: str, metric: str, recipe: str | None = None):
    """Class decorator that registers a model under ``name``."""

    def decorate(cls):
        if name in _MODELS and _MODELS[name].cls.__qualname__ != cls.__qualname__:
            raise ValueError(
                f"Model name {name!r} is already registered to "
                f"{_MODELS[name].cls.__qualname__}; pick another name."
            )
        _MODELS[name] = ModelEntry(
            name=name,
            cls=cls,
            recipe=recipe or f"recipes/{name}.py",
            dataset=dataset,
            metric=metric,
        )
        cls.registry_name = name
        return cls

    return decorate


def _ensure_loaded():
    # Importing the model package runs every @register_model decorator.
    import mpkeras.models  # noqa: F401


def get_entry(name: str) -> ModelEntry:
    _ensure_loaded()
    if name not in _MODELS:
        close = difflib.get_close_matches(name, _MODELS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"Unknown model {name!r}.{hint} Registered models: {', '.join(sorted(_MODELS))}. "
            "Run `mpkeras list` to see them."
        )
    return _MODELS[name]


def get_model(name: str) -> type:
    """Returns the model class registered as ``name``."""
    return get_entry(name).cls


def list_models() -> list[str]:
    """Returns the sorted names of all registered models."""
    _ensure_loaded()
    return sorted(_MODELS)
