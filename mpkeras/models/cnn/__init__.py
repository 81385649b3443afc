"""The CNN zoo: LeNet, AlexNet, VGG, GoogLeNet and ResNet on a shared image-classifier base."""

from mpkeras.models.cnn.alexnet import AlexNet, LocalResponseNorm
from mpkeras.models.cnn.base import ImageClassifier
from mpkeras.models.cnn.googlenet import GoogLeNet
from mpkeras.models.cnn.lenet import LeNet
from mpkeras.models.cnn.resnet import ResNet, ResNet18, ResNet34, resnet
from mpkeras.models.cnn.vgg import VGG

__all__ = ["AlexNet", "GoogLeNet", "ImageClassifier", "LeNet", "LocalResponseNorm", "ResNet", "ResNet18", "ResNet34",
           "VGG", "resnet"]
