"""ganlens: train GANs with PyTorch Lightning and see what their units learn.

An implementation of GAN Dissection (Bau et al., "GAN Dissection: Visualizing and Understanding
Generative Adversarial Networks", ICLR 2019, arXiv:1811.10597) as torchmetrics metrics and Lightning
callbacks, with a procedural scene world (:mod:`ganlens.data`) as the offline ground truth.
"""

__version__ = "0.1.0"
