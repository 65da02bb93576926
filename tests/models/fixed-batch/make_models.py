#!/usr/bin/python3
"""Exports three small models with torch.onnx.export as users do, for the scorer's tests.

fixed-batch.onnx:   exported WITHOUT dynamic_axes, so its input is [1, 30] and its output [1, 1]. The scorer serves it
                    by running every batch as 1-row chunks (issue #12; until then it refused it up front).
dynamic-batch.onnx: the same network exported WITH a dynamic batch axis ([batch, 30] -> [batch, 1]).
warmup-fails.onnx:  declares the dynamic batch axis, but its traced graph reshapes the input to exactly one row
                    (x.view(1, -1) becomes a constant shape), so ONNX Runtime infers its output as [1, 1] and fails
                    on any larger batch. The scorer takes the fixed output batch as the batch size and serves it in
                    1-row chunks; it no longer fails at warm-up, whatever its name says.

All three: logistic regression on the 30 features of data/breast_cancer_wisconsin.csv (standardised inside the graph),
input "features", output "probability" = P(label = 1), as the scorer's model.json expects by default. The committed
.onnx files are what the tests load; CI never runs this script (it needs Debian's python3-torch 1.13).

Run from the repository root: /usr/bin/python3 tests/models/fixed-batch/make_models.py
"""
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "data", "breast_cancer_wisconsin.csv")


class LogisticRegression(torch.nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.linear = torch.nn.Linear(len(mean), 1)

    def forward(self, features):
        return torch.sigmoid(self.linear((features - self.mean) / self.std))


class OneRowOnly(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, features):
        return self.inner(features.view(1, -1))


def main():
    torch.manual_seed(42)
    table = np.genfromtxt(DATA, delimiter=",", skip_header=1, dtype=np.float64)
    x, y = table[:, :-1], table[:, -1:]
    std = x.std(axis=0)
    std[std == 0] = 1.0
    model = LogisticRegression(x.mean(axis=0), std)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    inputs, labels = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    for _ in range(200):
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy(model(inputs), labels)
        loss.backward()
        optimiser.step()

    model.eval()
    accuracy = ((model(inputs) >= 0.5).float() == labels).float().mean().item()
    print(f"training accuracy {accuracy:.3f}")
    example = inputs[:1]
    torch.onnx.export(model, example, os.path.join(HERE, "fixed-batch.onnx"), input_names=["features"],
                      output_names=["probability"], opset_version=13)
    torch.onnx.export(model, example, os.path.join(HERE, "dynamic-batch.onnx"), input_names=["features"],
                      output_names=["probability"], opset_version=13,
                      dynamic_axes={"features": {0: "batch"}, "probability": {0: "batch"}})
    torch.onnx.export(OneRowOnly(model), example, os.path.join(HERE, "warmup-fails.onnx"), input_names=["features"],
                      output_names=["probability"], opset_version=13,
                      dynamic_axes={"features": {0: "batch"}, "probability": {0: "batch"}})


if __name__ == "__main__":
    main()
