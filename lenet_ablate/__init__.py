"""lenet_ablate: Hydra-configured ablation studies of LeNet-5 on Fashion-MNIST and MNIST."""

__version__ = "0.1.0"
