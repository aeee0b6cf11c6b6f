"""The recorder's tuning constants: sample sizes, bounds, and the activation modules it knows."""

# Activation statistics use at most this many elements of a module output per window: the
# prototype measured full-batch statistics at several percent of a CPU step, a slice at ~1%.
ACT_SAMPLE_ELEMENTS = 16384
# Update norms are exact for tensors up to this many elements; above, estimated from a fixed
# sample of this many elements (no copy of the weights): the relative error measured on real
# SGD / AdamW steps of large layers is given in SCHEMA.md (well under the order-of-magnitude
# judgements the diagnosis engine makes on update/weight ratios).
UPDATE_SAMPLE_ELEMENTS = 16384
# ... taken as runs of this many consecutive elements (one 64-byte cache line of float32).
# Weight norms of such tensors come from the same sample (it is read anyway for the update).
UPDATE_SAMPLE_RUN = 16
# The two moments a sampled tensor is read at (the keys of its kept sample buffers).
BEFORE, AFTER = 0, 1
# Dead input columns of a 2-D gradient are read on at most this many of its rows (evenly
# spaced): a column with any live input is non-zero in every row whose output unit saw that
# input, so only a layer whose sampled output units are all silent at once could misread.
DEAD_PROBE_ROWS = 128
# sigmoid/tanh outputs this close to a bound count as saturated (local gradient < ~1e-2).
SATURATION_MARGIN = 1e-2
# Events kept per window; a script that calls backward a million times without stepping still
# writes a bounded row (backward_count keeps the true count).
MAX_WINDOW_EVENTS = 10_000
# Graph walks that find raw leaf tensors (w = torch.randn(..., requires_grad=True)) run on the
# 1st, 2nd, 4th, 8th, ... backward pass: late tensors are still found, at a vanishing cost.
GRAPH_WALK_NODES = 100_000

# module class name -> activation name (written to META.modules[].activation)
ACTIVATIONS = {
    "ReLU": "relu",
    "ReLU6": "relu6",
    "LeakyReLU": "leaky_relu",
    "PReLU": "prelu",
    "RReLU": "rrelu",
    "ELU": "elu",
    "SELU": "selu",
    "CELU": "celu",
    "GELU": "gelu",
    "SiLU": "silu",
    "Mish": "mish",
    "Sigmoid": "sigmoid",
    "Hardsigmoid": "hardsigmoid",
    "Tanh": "tanh",
    "Hardtanh": "hardtanh",
    "Softplus": "softplus",
    "Softmax": "softmax",
    "LogSoftmax": "log_softmax",
}
# activation -> the (low, high) bounds its outputs saturate at
SATURATING = {
    "sigmoid": (0.0, 1.0),
    "hardsigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "hardtanh": (-1.0, 1.0),
}
