"""The recipe shape of the VAEs (``recipes/vae.py``, ``recipes/beta_vae.py``) on binary or 8-bit images.

Data, by ``--likelihood``:

* ``bernoulli``: binarized images (:func:`mpkeras.data.pipelines.binarized_data`: train binarization from
  ``--binarization``, val and test static with fixed seeds). Refused on colour photographs.
* ``gaussian``: dequantized 8-bit images y = (k + u) / 256 in [0, 1) (:func:`mpkeras.train.flows.dequantized_data`:
  new noise every train epoch, fixed noise for val and test). The default on colour photographs
  (:func:`mpkeras.data.catalogue.is_colour_photographs`); refused on pre-binarized data, which has no levels
  to dequantize.

Evaluation: test ELBO and its terms, and the IWAE NLL with ``--iwae-samples``, in nats per image. The Gaussian
VAE's nats are densities of y, so it also reports bits/dim of the 8-bit images,
(NLL_y / D + log 256) / log 2 (an upper bound, :func:`mpkeras.metrics.dequantized_bits_per_dim`), next to the
independent per-sub-pixel baselines of the same data (:func:`mpkeras.train.pixel_baselines.pixel_baselines`).
"""

import numpy as np

from mpkeras import flags
from mpkeras.data import catalogue, pipelines
from mpkeras.errors import UsageError
from mpkeras.metrics import dataset_elbo, dequantized_bits_per_dim, iwae_nll
from mpkeras.train import flows
from mpkeras.train.pixel_baselines import pixel_baselines

COLOUR_DEFAULTS = {"likelihood": "gaussian", "conv_filters": (32, 64, 64), "hidden_units": (256,), "latent_dim": 32,
                   "epochs": 40, "schedule": "cosine", "iwae_samples": 100}
"""Flag defaults on colour photographs. Convolutional networks: the dense ones (512, 256) over 3,072 inputs
(5.0M weights) fitted the train photographs and got worse on photos32's test photographs as they trained (test
ELBO 6.88 bits/dim after 10 epochs, 7.34 after 60, while val, cut from the train photographs, kept improving);
the convolutional ones (0.8M) generalize across photographs: 6.51 bits/dim (IWAE) after these 40 epochs.
k = 100 IWAE samples: 0.13 bits/dim below the ELBO on that run; k = 1000 would cost 10x the decoder passes
(1.5M on photos32's test split)."""

IWAE_FLOATS = 2**23
"""Decoder outputs per IWAE batch on 8-bit images (k * B * D * 2 floats, ~64 MB): B = IWAE_FLOATS // (k D)."""


def add_likelihood_arguments(p):
    p.add_argument("--likelihood", choices=("bernoulli", "gaussian"), default="bernoulli",
                   help="p(x|z): bernoulli over binarized pixels, or gaussian over dequantized 8-bit sub-pixels "
                        "(y = (k + u) / 256); gaussian is the default on colour photographs")
    pipelines.add_binarization_arguments(p)


def likelihood_defaults(dataset):
    """``Recipe.dataset_defaults``: colour photographs get the Gaussian likelihood (:data:`COLOUR_DEFAULTS`)."""
    return dict(COLOUR_DEFAULTS) if catalogue.is_colour_photographs(dataset) else {}


def vae_data(args):
    """``Data`` for ``args.likelihood``: binarized images (bernoulli) or dequantized 8-bit images (gaussian)."""
    if args.likelihood == "bernoulli":
        if catalogue.is_colour_photographs(args.dataset):
            raise UsageError(f"--likelihood bernoulli: {args.dataset} has colour photographs, and binarizing them "
                             "throws away what the model should learn; use --likelihood gaussian (the default on "
                             "colour datasets), which models their 8-bit levels.")
        return pipelines.binarized_data(args)
    if catalogue.is_prebinarized(args.dataset):
        raise UsageError(f"--likelihood gaussian: {args.dataset} has binary pixels only, and a Gaussian over "
                         "dequantized 0/255 pixels measures nothing useful; use --likelihood bernoulli, or mnist "
                         "for its 8-bit images.")
    return flows.dequantized_data(args)


def likelihood_metrics(model, data, args):
    """Test ELBO terms and IWAE NLL in nats per image; for the Gaussian VAE also bits/dim and the baselines."""
    images = data.extras["test_images"]
    k = 10 if args.smoke else args.iwae_samples
    if model.likelihood == "bernoulli":
        elbo = dataset_elbo(model, images)
        return {"test_nll_nats": iwae_nll(model, images, num_samples=k), "test_elbo_nats": elbo["elbo"],
                "test_kl_nats": elbo["kl"], "test_reconstruction_nats": elbo["reconstruction"], "iwae_samples": k}
    images = images[:100] if args.smoke else images
    d = images[0].size
    elbo = dataset_elbo(model, images)
    nll = iwae_nll(model, images, num_samples=k, batch_size=max(1, min(50, IWAE_FLOATS // (k * d))))
    return {
        "test_nll_nats": nll,
        "test_elbo_nats": elbo["elbo"],
        "test_kl_nats": elbo["kl"],
        "test_reconstruction_nats": elbo["reconstruction"],
        "test_bits_per_dim": dequantized_bits_per_dim(nll, d),
        "test_elbo_bits_per_dim": dequantized_bits_per_dim(-elbo["elbo"], d),
        **pixel_baselines(args),
        "iwae_samples": k,
        "test_images": len(images),
        "nats": "densities of the dequantized y = (k + u) / 256 in [0, 1)^D (one fixed u per test image); "
                "bits/dim: of the 8-bit images, an upper bound",
        "trainable_parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
    }


def add_model_arguments(p, latent_dim):
    p.add_argument("--latent-dim", type=flags.positive_int, default=latent_dim)
    p.add_argument("--hidden-units", type=flags.int_tuple, default=(512, 256))
    p.add_argument("--conv-filters", type=flags.int_tuple_or_none, default=(),
                   help="filters of convolutional networks, one stride-2 level each (e.g. 32,64,64), or none: "
                        "dense networks over the flattened image (default: %(default)s)")
