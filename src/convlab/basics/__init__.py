"""Convolution from scratch (D2L §6.1–6.5): plain tensor code, property-tested against torch.

Shapes follow PyTorch: images are ``(..., h, w)`` (any leading batch/channel dimensions), kernels
are ``(kh, kw)``, multi-channel kernels ``(c_o, c_i, kh, kw)``.
"""

from convlab.basics.channels import corr2d_multi_in, corr2d_multi_in_out, corr2d_multi_in_out_1x1
from convlab.basics.conv2d import Conv2D
from convlab.basics.corr2d import corr2d
from convlab.basics.padding_stride import conv_output_shape, corr2d_pad_stride, pad2d
from convlab.basics.pooling import pool2d

__all__ = [
    "Conv2D",
    "conv_output_shape",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_multi_in_out_1x1",
    "corr2d_pad_stride",
    "pad2d",
    "pool2d",
]
