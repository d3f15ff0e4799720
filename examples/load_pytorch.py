#!/usr/bin/env python3
"""Load a traind checkpoint (safetensors) into PyTorch with strict=True and predict with it.

The model is rebuilt from the checkpoint's own metadata (its config): `layers` is an nn.ModuleList
whose index i is the spec's layer i (nn.Linear for dense, nn.Dropout for dropout), so the state
dict's keys are exactly the file's tensor names `layers.{i}.weight` / `layers.{i}.bias`, plus
`normalize.mean` / `normalize.std` when the spec normalizes. Activations are separate modules
without parameters, so they add no keys (a plain nn.Sequential(Linear, ReLU, Linear) numbers its
activations too, and would not match).

    /usr/bin/python3 examples/load_pytorch.py best.safetensors                # describe the model
    /usr/bin/python3 examples/load_pytorch.py best.safetensors rows.json      # predict, like /predict

rows.json is what /predict takes: {"inputs": [[...], ...]} or just [[...], ...]. The output is
/predict's JSON: {"outputs": [{"probabilities": [...], "label": k} | {"value": [...]}, ...]}.
Needs PyTorch only (Debian: apt-get install python3-torch); the file is parsed here by hand.
"""

import json
import struct
import sys

import torch
from torch import nn


def read_safetensors(path):
    """(tensors by name, metadata) of a float32 safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    metadata = header.pop("__metadata__", {})
    body = bytearray(data[8 + header_len :])
    tensors = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {t['dtype']}, expected F32")
        start, end = t["data_offsets"]
        flat = torch.frombuffer(body, dtype=torch.float32, count=(end - start) // 4, offset=start)
        tensors[name] = flat.reshape(t["shape"]).clone()
    return tensors, metadata


class Standardize(nn.Module):
    """(x - mean) / std per feature, with the training split's mean and std (the checkpoint's)."""

    def __init__(self, width):
        super().__init__()
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("std", torch.ones(width))

    def forward(self, x):
        return (x - self.mean) / self.std


def activation(name, alpha):
    if name == "linear":
        return nn.Identity()
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01 if alpha is None else alpha)
    if name == "elu":
        return nn.ELU(1.0 if alpha is None else alpha)
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "gelu":
        return nn.GELU()  # the exact erf form, as traind
    if name == "softmax":
        return nn.Softmax(dim=1)
    raise ValueError(f"unknown activation {name!r}")


class TraindModel(nn.Module):
    """The checkpoint's model: forward gives what the stored output layer gives (metadata "output":
    logits for classifiers, values for regressors); predict applies "output_transform"."""

    def __init__(self, config, input_width, output, output_transform):
        super().__init__()
        if config["normalize"] == "standard":
            self.normalize = Standardize(input_width)
        self.output_transform = output_transform
        layers, activations = [], []
        width = input_width
        last = len(config["layers"]) - 1
        for i, layer in enumerate(config["layers"]):
            if layer["type"] == "dense":
                layers.append(nn.Linear(width, layer["units"], bias=layer["useBias"]))
                width = layer["units"]
                # A classifier's output layer stores logits: its softmax/sigmoid is output_transform.
                logits_here = i == last and output == "logits"
                activations.append(nn.Identity() if logits_here else activation(layer["activation"], layer.get("alpha")))
            else:
                layers.append(nn.Dropout(layer["rate"]))
                activations.append(nn.Identity())
        self.layers = nn.ModuleList(layers)  # index i = the spec's layer i
        self.activations = nn.ModuleList(activations)  # no parameters: no state-dict keys

    def forward(self, x):
        if hasattr(self, "normalize"):
            x = self.normalize(x)
        for layer, act in zip(self.layers, self.activations):
            x = act(layer(x))
        return x

    @torch.no_grad()
    def predict(self, x):
        """What /predict answers: probabilities for classifiers, values for regressors."""
        self.eval()
        out = self(x)
        if self.output_transform == "softmax":
            return torch.softmax(out, dim=1)
        if self.output_transform == "sigmoid":
            return torch.sigmoid(out)
        return out


def load(path):
    """(model with the checkpoint's weights, loaded strictly, and the checkpoint's metadata)."""
    tensors, meta = read_safetensors(path)
    config = json.loads(meta["config"])
    # Checkpoints written before "output"/"output_transform" existed: the loss says the same.
    loss = config["loss"]["type"]
    transform = meta.get("output_transform") or {"softmax_cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss, "none")
    output = meta.get("output") or ("logits" if transform != "none" else "values")
    model = TraindModel(config, int(meta["input_width"]), output, transform)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model, meta


def predict_json(model, meta, rows):
    probs = model.predict(torch.tensor(rows, dtype=torch.float32))
    outputs = []
    for row in probs.tolist():
        if meta["task"] != "classification":
            outputs.append({"value": row})
        elif len(row) == 1:
            outputs.append({"probabilities": row, "label": 1 if row[0] >= 0.5 else 0})
        else:
            outputs.append({"probabilities": row, "label": max(range(len(row)), key=lambda k: (row[k], -k))})
    return {"outputs": outputs}


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    model, meta = load(argv[1])
    if len(argv) == 2:
        print(model)
        for key in ("task", "epoch", "input_width", "input_scaling", "output", "output_transform", "class_names", "metrics"):
            if key in meta:
                print(f"{key}: {meta[key]}")
        return 0
    with open(argv[2]) as f:
        body = json.load(f)
    rows = body["inputs"] if isinstance(body, dict) else body
    json.dump(predict_json(model, meta, rows), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
