"""Model families. Importing this package registers every model."""

from mpkeras.models.autoregressive import (
    FVSBN, MADE, NADE, AutoregressiveImageModel, GatedPixelCNN, PixelCNN, PixelRNN, WaveNet)
from mpkeras.models.cnn import VGG, AlexNet, GoogLeNet, ImageClassifier, LeNet, ResNet, ResNet18, ResNet34, resnet
from mpkeras.models.convlstm import ConvLSTMPredictor
from mpkeras.models.flows import ConditionalGlow, FlowModel, Glow, MultiScaleRealNVP, RealNVP
from mpkeras.models.language import CharLanguageModel, CharLSTM, TransformerLM
from mpkeras.models.mlp import MLP
from mpkeras.models.perceptron import Perceptron
from mpkeras.models.rnn import LSTMClassifier, RecurrentClassifier, RNNClassifier
from mpkeras.models.segmentation import FCN, Segmenter, UNet
from mpkeras.models.vae import VAE, BetaVAE, MixturePrior
from mpkeras.models.autoencoders import (
    PSD, Autoencoder, DenoisingAutoencoder, LinearAutoencoder, SparseAutoencoder, SparseCoding)
from mpkeras.models.vrnn import CVRNN, VRNN, LSTMDensity, VRNNCell
from mpkeras.models.gan import GAN, WGAN, WGANGP
from mpkeras.models.dcgan import CGAN, DCGAN
from mpkeras.models.unrolled_gan import UnrolledGAN
from mpkeras.models.pix2pix import Pix2Pix

__all__ = [
    "AlexNet", "BetaVAE", "AutoregressiveImageModel", "FVSBN", "GatedPixelCNN", "MADE", "NADE", "PixelCNN", "PixelRNN", "CharLanguageModel", "CharLSTM", "ConvLSTMPredictor", "FCN", "GoogLeNet", "ImageClassifier", "LeNet", "LSTMClassifier",
    "MLP", "MixturePrior", "Perceptron", "RecurrentClassifier", "ResNet", "ResNet18", "ResNet34", "RNNClassifier",
    "Segmenter", "TransformerLM", "UNet", "VAE", "VGG", "WaveNet", "resnet",
    "Autoencoder", "DenoisingAutoencoder", "LinearAutoencoder", "PSD", "SparseAutoencoder", "SparseCoding",
    "CVRNN", "LSTMDensity", "VRNN", "VRNNCell",
    "MultiScaleRealNVP", "RealNVP",
    "ConditionalGlow", "FlowModel", "Glow",
    "GAN", "WGAN", "WGANGP", "UnrolledGAN",
    "CGAN", "DCGAN",
    "Pix2Pix",
]
from mpkeras.models.body import LBS, SMPL  # noqa: E402,F401
from mpkeras.models.implicit import DVR, IGRSDF, NeRF, OccupancyNetwork  # noqa: E402,F401
from mpkeras.models.rl import DQN, REINFORCE, ActorCritic, StochasticPolicy  # noqa: E402,F401
