"""The papers' configurations of the headline models: ``mpkeras train <model> --preset NAME``.

A :class:`Preset` is a set of flag defaults (keys are argparse dests: ``batch_size``, ``filters``, ...) plus what
the paper reports. :meth:`mpkeras.train.Recipe.parse_args` applies it over the recipe's defaults and its
``dataset_defaults``; flags given on the command line still win. The run's ``metrics.json`` and model card record
the preset (:func:`mpkeras.train.recipe.preset_card`).

None of the published figures below was measured here: these machines have no network (the catalogue datasets
are not prepared) and no GPU. ``tests/test_presets.py`` builds each preset's model at the paper's input size, runs
one training step on mock data and pins its parameter count.

Where a paper leaves a setting out (a learning rate, an epoch count, a channel width), the preset says which value
it uses instead and that the value is ours; where our model cannot match a detail, ``notes`` says so.

Example:
    >>> from mpkeras.train.presets import presets_of
    >>> presets_of("glow")["paper"].flags["steps"]
    32
"""

from __future__ import annotations

import dataclasses
import types


@dataclasses.dataclass(frozen=True)
class Preset:
    """One paper's configuration of one recipe.

    Attributes:
        flags: flag defaults, ``{argparse dest: parsed value}`` (tuples for list flags).
        paper: the citation.
        published: the paper's figure for this configuration, with its units and split (or why there is none).
        summary: a few words for ``--help``.
        parameters: the parameter count the paper publishes, or None when it publishes none.
        notes: what the preset sets from the paper, what it had to choose, and what differs from the paper.
    """

    flags: dict
    paper: str
    published: str
    summary: str
    parameters: int | None = None
    notes: str = ""

    def __post_init__(self):
        object.__setattr__(self, "flags", types.MappingProxyType(dict(self.flags)))  # frozen all the way down


PIXEL_RNN = ("van den Oord, Kalchbrenner and Kavukcuoglu, \"Pixel Recurrent Neural Networks\", ICML 2016")
GATED = ("van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves and Kavukcuoglu, \"Conditional Image Generation "
         "with PixelCNN Decoders\", NeurIPS 2016")
GLOW = "Kingma and Dhariwal, \"Glow: Generative Flow with Invertible 1x1 Convolutions\", NeurIPS 2018"
NADE = "Larochelle and Murray, \"The Neural Autoregressive Distribution Estimator\", AISTATS 2011"
MADE = ("Germain, Gregor, Murray and Larochelle, \"MADE: Masked Autoencoder for Distribution Estimation\", "
        "ICML 2015")
IWAE = "Burda, Grosse and Salakhutdinov, \"Importance Weighted Autoencoders\", ICLR 2016"
DCGAN = ("Radford, Metz and Chintala, \"Unsupervised Representation Learning with Deep Convolutional Generative "
         "Adversarial Networks\", ICLR 2016")
WGAN_GP = ("Gulrajani, Ahmed, Arjovsky, Dumoulin and Courville, \"Improved Training of Wasserstein GANs\", "
           "NeurIPS 2017")
RESNET = "He, Zhang, Ren and Sun, \"Deep Residual Learning for Image Recognition\", CVPR 2016"
UNET = ("Ronneberger, Fischer and Brox, \"U-Net: Convolutional Networks for Biomedical Image Segmentation\", "
        "MICCAI 2015")
WAVENET = "van den Oord et al., \"WaveNet: A Generative Model for Raw Audio\", arXiv:1609.03499, 2016"

IWAE_DECAY_EPOCHS = tuple(sum(3**j for j in range(i + 1)) for i in range(7))
"""Burda et al.'s schedule: 3^i passes at 1e-3 * 10^(-i/7) for i = 0..7, i.e. drops after epochs 1, 4, 13, ..., 1093
(3,280 passes in all)."""

PRESETS = {
    "pixelcnn": {
        "paper": Preset(
            flags=dict(dataset="cifar10", levels=256, filters=128, num_blocks=15, first_kernel=7, kernel_size=3,
                       output_filters=1024, optimizer="rmsprop", batch_size=16, learning_rate=1e-3,
                       schedule="constant", patience=0),
            paper=PIXEL_RNN,
            published="3.14 bits/dim on the CIFAR-10 test set",
            summary="PixelCNN on CIFAR-10 (15 residual blocks, h = 128, 1024-wide output layers, RMSProp, batch 16)",
            notes=("From the paper: 7x7 mask-A input layer, 15 residual blocks of 2h = 256 features with 3x3 mask-B "
                   "convolutions, two ReLU + 1x1 output layers with 1024 feature maps, a 256-way softmax per "
                   "sub-pixel, RMSProp, batch 16. Ours: h is rounded up to 129 and the output width to 1026 "
                   "(one equal feature group per colour channel; the paper's groups are not equal); the paper gives "
                   "no learning rate or epoch count, so the preset uses RMSProp at 1e-3, no schedule, and the "
                   "recipe's epochs."),
        ),
        "paper-mnist": Preset(
            flags=dict(dataset="binarized_mnist", levels=2, filters=16, num_blocks=7, first_kernel=7, kernel_size=3,
                       output_filters=32, optimizer="rmsprop", batch_size=16, learning_rate=1e-3,
                       schedule="constant", patience=0),
            paper=PIXEL_RNN,
            published="81.30 nats test NLL on binarized MNIST",
            summary="PixelCNN on binarized MNIST (7 layers, h = 16, 32-wide output layer, RMSProp, batch 16)",
            notes=("The paper's MNIST settings are 7 layers of h = 16 with a 32-map output layer; this preset uses "
                   "them as 7 residual blocks. Learning rate and epochs are not published: RMSProp at 1e-3, the "
                   "recipe's epochs. binarized_mnist is Larochelle and Murray's fixed binarization."),
        ),
    },
    "gated_pixelcnn": {
        "paper": Preset(
            flags=dict(dataset="cifar10", levels=256, filters=384, num_layers=20, first_kernel=7, kernel_size=5,
                       output_filters=1024, batch_size=16, learning_rate=1e-3, schedule="constant", patience=0),
            paper=GATED,
            published="3.03 bits/dim on the CIFAR-10 test set",
            summary="Gated PixelCNN on CIFAR-10 (20 gated layers of 384 features, 5x5 filters)",
            notes=("From the paper: 20 gated layers, 384 features per stack, 5x5 filters (the sizes it states for "
                   "its large models). Not published there and chosen here: the first layer's 7x7 kernel, the "
                   "1024-map output layer of the PixelCNN paper (1026: three equal colour groups), Adam at 1e-3, "
                   "batch 16 and the recipe's epochs."),
        ),
    },
    "glow": {
        "paper": Preset(
            flags=dict(dataset="cifar10", levels=3, steps=32, hidden_units=512, preprocessing="shift",
                       batch_size=512, learning_rate=1e-3, schedule="constant", clip_norm=None, patience=0),
            paper=GLOW,
            published="3.35 bits/dim on the CIFAR-10 test set",
            summary="Glow on CIFAR-10 (L = 3 levels, K = 32 steps, 512-wide affine couplings, Adam 1e-3)",
            notes=("From the paper: L = 3, K = 32, affine coupling networks 512 wide, learned prior, actnorm, "
                   "invertible 1x1 convolutions (LU), Adam at 1e-3, minibatch 512 (over several GPUs). Not matched: "
                   "the paper warms the learning rate up linearly and averages weights (Polyak) for evaluation; "
                   "neither is done here. Epochs: the recipe's."),
        ),
    },
    "nade": {
        "paper": Preset(
            flags=dict(dataset="binarized_mnist", hidden_units=500, batch_size=100, patience=0),
            paper=NADE,
            published="88.86 nats test NLL on binarized MNIST",
            parameters=None,
            summary="NADE on binarized MNIST (500 hidden units, one fixed order)",
            notes=("From the paper: 500 sigmoid hidden units, the pixels' natural order, W shared across the "
                   "conditionals. The paper trained with SGD and picked its learning rate by validation; the preset "
                   "keeps the recipe's Adam, learning rate, schedule, epochs and minibatch 100."),
        ),
    },
    "made": {
        "paper": Preset(
            flags=dict(dataset="binarized_mnist", hidden_units=(500,), ordering="natural", num_masks=1,
                       batch_size=100, patience=30),
            paper=MADE,
            published="88.40 nats test NLL on binarized MNIST (one hidden layer, one mask)",
            summary="MADE on binarized MNIST (1 hidden layer of 500, one mask, natural order)",
            notes=("From the paper: one hidden layer of 500 ReLU units, a single mask set, natural input order, "
                   "minibatch 100, early stopping with a look-ahead of 30 epochs. Ours: Adam at the recipe's "
                   "learning rate (the paper's optimizer settings are not reproduced); no direct input-to-output "
                   "connections."),
        ),
    },
    "vae": {
        "paper": Preset(
            flags=dict(dataset="binarized_mnist", hidden_units=(200, 200), latent_dim=50, batch_size=20,
                       learning_rate=1e-3, epsilon=1e-4, schedule="step", decay_epochs=IWAE_DECAY_EPOCHS,
                       decay_factor=10 ** (-1 / 7), epochs=3280, patience=0, iwae_samples=5000),
            paper=IWAE,
            published="86.76 nats test NLL on MNIST (VAE, k = 1, one stochastic layer); the IWAE with k = 50: 84.78",
            summary="VAE of Burda et al. on binarized MNIST (784-200-200-50, Adam eps 1e-4, batch 20, 3,280 passes)",
            notes=("From the paper: one stochastic layer of 50 Gaussian units, two deterministic layers of 200 in "
                   "the encoder and decoder, Adam (beta 0.9, 0.999, epsilon 1e-4), minibatch 20, 3^i passes at "
                   "1e-3 * 10^(-i/7) for i = 0..7, test NLL from k = 5000 importance samples. Not matched: the "
                   "paper's hidden units are tanh and recipes/vae.py has no activation flag (the model's default "
                   "is used); the recipe trains the ELBO (k = 1), so it reproduces the VAE row, not the IWAE one."),
        ),
    },
    "dcgan": {
        "paper": Preset(
            flags=dict(dataset="celeb_a", filters=(128, 256, 512, 1024), latent_dim=100, batch_size=128,
                       learning_rate=2e-4, beta_1=0.5, beta_2=0.999, epochs=5),
            paper=DCGAN,
            published=("no sample-quality figure: the paper shows 64x64 samples; its numbers are transfer "
                       "accuracies (82.8% on CIFAR-10 from the discriminator's features)"),
            summary="DCGAN at 64x64 on celeb_a (G: 1024-512-256-128, z = 100, Adam 2e-4 beta_1 0.5, batch 128)",
            notes=("From the paper: the 64x64 architecture of its Figure 1 (z = 100 projected to 4x4x1024, then "
                   "512, 256, 128 fractionally-strided convolutions to 64x64x3; the discriminator mirrors it), batch "
                   "norm, ReLU in G, LeakyReLU 0.2 in D, Adam 2e-4 with beta_1 0.5, minibatch 128. Not matched: the "
                   "paper draws z uniformly and initializes weights from N(0, 0.02); the model keeps its own. The "
                   "paper trained on LSUN bedrooms, ImageNet and a scraped faces set, not CelebA; 5 epochs is ours "
                   "(it shows LSUN after 1 and 5)."),
        ),
    },
    "wgan_gp": {
        "paper": Preset(
            flags=dict(dataset="cifar10", filters=(128, 256, 512), latent_dim=128, batch_size=64,
                       learning_rate=1e-4, beta_1=0.0, beta_2=0.9, discriminator_steps=5,
                       gradient_penalty_weight=10.0, epochs=128),
            paper=WGAN_GP,
            published=("Inception score 7.86 +- 0.07 on CIFAR-10, unsupervised, for the paper's ResNet networks; "
                       "this preset builds its DCGAN-style networks, whose runs the paper shows only as curves"),
            summary="WGAN-GP on CIFAR-10 (DCGAN-style networks 128-256-512, lambda 10, 5 critic steps, Adam 1e-4 (0, 0.9))",
            notes=("From the paper (Algorithm 1): lambda = 10, 5 critic steps per generator step, Adam 1e-4 with "
                   "beta 0 and 0.9, minibatch 64, no batch norm in the critic. Ours: the DCGAN-style networks of "
                   "128, 256, 512 filters at 32x32; the critic's 5 steps reuse one real batch (the paper draws a new "
                   "one each); 128 epochs of 781 steps are about 100,000 generator steps."),
        ),
    },
    "resnet18": {
        "paper": Preset(
            flags=dict(dataset="cifar10", stem="small", width=64, optimizer="sgd", momentum=0.9,
                       learning_rate=0.1, batch_size=128, weight_decay=5e-5, schedule="step",
                       decay_epochs=(91, 137), decay_factor=0.1, epochs=182, shift=0.125, rotation=0.0, flip=True,
                       patience=0),
            paper=RESNET,
            published=("none for this network: the paper's CIFAR-10 networks are the 6n+2-layer ones (ResNet-20: "
                       "8.75% test error, 0.27M parameters; ResNet-110: 6.43%)"),
            summary="ResNet-18 (ImageNet layout, 3x3 stem) on CIFAR-10 with He et al.'s CIFAR training schedule",
            notes=("The network is the paper's ImageNet ResNet-18 (2-2-2-2 basic blocks of 64-128-256-512) with a "
                   "3x3 stride-1 stem and no max-pool for 32x32 inputs, not the paper's CIFAR ResNets (16-32-64 "
                   "filters, 6n+2 layers). The training is the paper's CIFAR-10 recipe: SGD momentum 0.9, batch 128, "
                   "lr 0.1 divided by 10 at 32k and 48k iterations, stop at 64k (epochs 91, 137, 182 at 351 steps "
                   "of 45k images), weight decay 1e-4 (L2 coefficient 5e-5 here: Keras adds lambda w^2, whose "
                   "gradient is 2 lambda w), 4-pixel shifts and horizontal flips. Not matched: padding-and-crop is "
                   "a random translation here."),
        ),
    },
    "unet": {
        "paper": Preset(
            flags=dict(dataset="oxford_iiit_pet", filters=(64, 128, 256, 512, 1024), convs_per_block=2,
                       upsampling="transposed", batch_norm=False, dropout=0.5, optimizer="sgd", momentum=0.99,
                       learning_rate=1e-2, batch_size=1, image_size=256, patience=0),
            paper=UNET,
            published=("none on Oxford pets: the paper reports EM segmentation (warping error 0.000353) and cell "
                       "tracking IoU (92.03% PhC-U373, 77.56% DIC-HeLa)"),
            summary="U-Net on Oxford pets (64-1024 filters, 2 convs per level, up-convolutions, SGD momentum 0.99)",
            notes=("From the paper: five levels of two 3x3 convolutions with 64, 128, 256, 512, 1024 filters, 2x2 "
                   "max pooling, 2x2 up-convolutions, skip concatenations, dropout at the end of the contracting "
                   "path, no batch norm, SGD with momentum 0.99 on single images. Not matched: our convolutions "
                   "are padded (the paper's are not, 572x572 in, 388x388 out), there is no pixel-weighted loss, and "
                   "pets are resized to 256x256 (our choice). The paper gives no learning rate: 1e-2 is ours."),
        ),
    },
    "wavenet": {
        "paper": Preset(
            flags=dict(dataset="speech_commands", num_stacks=5, layers_per_stack=10, kernel_size=2,
                       residual_channels=32, dilation_channels=32, skip_channels=256, conditional=False,
                       patience=0),
            paper=WAVENET,
            published=("no likelihood on speech: the paper reports listener scores for text-to-speech (MOS 4.21 "
                       "US English) and 18.8 PER on TIMIT, neither of which this preset reproduces"),
            summary="WaveNet on speech_commands (5 stacks of dilations 1..512, receptive field 320 ms at 16 kHz)",
            notes=("From the paper: 256 mu-law levels at 16 kHz, gated causal dilated convolutions of kernel 2, "
                   "dilations 1, 2, ..., 512 repeated, a receptive field of about 300 ms for its multi-speaker "
                   "speech model (5 stacks: 5,116 samples, 320 ms). The paper publishes no channel widths, "
                   "optimizer or batch size: 32 residual and dilation channels, 256 skip channels, and the "
                   "recipe's Adam, batch and epochs are ours. The paper's speech set is VCTK; speech_commands is "
                   "the catalogue's speech here. Unconditional, as the paper's speaker-free generation."),
        ),
    },
}
"""``{recipe name: {preset name: Preset}}``. realnvp has none yet (its image recipe is being written)."""


def presets_of(model):
    """``{name: Preset}`` of the recipe ``model`` (empty when it has none)."""
    return PRESETS.get(model, {})

