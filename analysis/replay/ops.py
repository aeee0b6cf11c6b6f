"""The operators a replayed program may call: an explicit allowlist of ATen overload names.

A name is resolved to ``torch.ops.aten.<op>.<overload>`` only after it was found in this set,
so no string from an upload ever reaches ``getattr`` on anything else. Pure tensor maths and
shape ops; nothing that reads files, allocates on a device, or calls back into Python.
"""

from __future__ import annotations

import operator

ALLOWED_OPS = frozenset(
    f"aten.{name}"
    for name in (
        # linear algebra
        "linear.default addmm.default mm.default matmul.default bmm.default baddbmm.default "
        "t.default einsum.default "
        # activations
        "relu.default relu_.default sigmoid.default tanh.default gelu.default silu.default "
        "leaky_relu.default elu.default softplus.default hardtanh.default relu6.default "
        "mish.default hardsigmoid.default hardswish.default selu.default celu.default "
        "prelu.default softmax.int log_softmax.int _softmax.default _log_softmax.default "
        # convolutions, pooling, normalisation, dropout
        "conv1d.default conv2d.default conv3d.default convolution.default "
        "conv_transpose1d.default conv_transpose2d.input "
        "batch_norm.default layer_norm.default group_norm.default instance_norm.default "
        "rms_norm.default dropout.default alpha_dropout.default feature_dropout.default "
        "max_pool1d.default max_pool2d.default avg_pool1d.default avg_pool2d.default "
        "adaptive_avg_pool1d.default adaptive_avg_pool2d.default adaptive_max_pool1d.default "
        "adaptive_max_pool2d.default max_pool2d_with_indices.default "
        # shapes and views
        "flatten.using_ints view.default reshape.default permute.default transpose.int "
        "unsqueeze.default squeeze.dim squeeze.dims squeeze.default contiguous.default "
        "expand.default clone.default alias.default detach.default slice.Tensor select.int "
        "narrow.default chunk.default split.Tensor split_with_sizes.default unbind.int "
        "cat.default stack.default repeat.default flip.default roll.default "
        "index.Tensor index_select.default gather.default embedding.default "
        # elementwise and reductions
        "add.Tensor add.Scalar add_.Tensor sub.Tensor sub.Scalar rsub.Scalar mul.Tensor "
        "mul.Scalar div.Tensor div.Scalar neg.default pow.Tensor_Scalar pow.Tensor_Tensor "
        "sqrt.default rsqrt.default exp.default log.default abs.default clamp.default "
        "clamp_min.default sin.default cos.default mean.dim mean.default sum.dim_IntList "
        "sum.default var.correction std.correction amax.default max.dim logsumexp.default "
        "linalg_vector_norm.default cumsum.default where.self eq.Scalar lt.Scalar gt.Scalar "
        "ne.Scalar logical_not.default masked_fill.Scalar masked_fill_.Scalar "
        "masked_fill.Tensor triu.default tril.default type_as.default to.dtype "
        "_to_copy.default lift_fresh_copy.default "
        # loss functions (a hand-written loss's program, SCHEMA.md section 7)
        "mse_loss.default nll_loss.default "
        # creation (sizes are checked against the program's caps)
        "ones.default zeros.default zeros_like.default ones_like.default full.default "
        "arange.default arange.start scalar_tensor.default new_zeros.default new_ones.default "
        # recurrent layers and attention
        "lstm.input gru.input rnn_tanh.input rnn_relu.input scaled_dot_product_attention.default "
        "unflatten.int"
    ).split()
) | {"getitem"}

# Ops a replay leaves out: assertions about metadata that export inserts (no effect on values).
SKIPPED_OPS = frozenset({"aten._assert_tensor_metadata.default"})


def resolve(name: str):
    """The callable of an allowlisted op name; KeyError for anything else."""
    if name not in ALLOWED_OPS:
        raise KeyError(name)
    if name == "getitem":
        return operator.getitem
    import torch  # lazily: reading a trace and the engine need no torch

    _, op, overload = name.split(".")
    return getattr(getattr(torch.ops.aten, op), overload)
