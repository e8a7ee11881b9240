"""Generates the PyTorch archives that weights/pth_torch_test.go reads.

Run with a Python that has PyTorch (made with Debian's python3-torch 1.13.1):
    /usr/bin/python3 weights/testdata/torch-variants/gen.py
The values are formulas of arange so the Go test computes what to expect on its own;
the TorchScript archive is checked against the state dict saved beside it.
"""
import collections
import os

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)

base = torch.arange(24, dtype=torch.float32).reshape(4, 6)  # one storage shared by views
views = collections.OrderedDict()
views["transposed"] = base.t()                    # strides (1, 6)
views["slice"] = base[1:3, 2:5]                   # offset 8, strides (6, 1)
views["row"] = nn.Parameter(base[2])              # a Parameter over a view at offset 12
views["column"] = base[:, 4]                      # offset 4, stride 6
views["expanded"] = torch.arange(3, dtype=torch.float32).expand(2, 3)  # stride (0, 1)
views["scalar"] = torch.tensor(2.5)
views["empty"] = torch.zeros(0, 3)
views["half"] = (base / 8).half()[1:3]            # float16, offset 6
views["bf16"] = (base - 10).bfloat16().t()        # bfloat16, transposed
views["double"] = base.double() / 10              # float64, rounded to float32
views["count"] = torch.tensor(12345, dtype=torch.int64)  # like num_batches_tracked
views["mask"] = torch.tensor([True, False, True])
views["bytes"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
checkpoint = {"model": views, "epoch": 3, "note": "not a tensor", "optimizer": {"lr": 0.1}}
torch.save(checkpoint, os.path.join(HERE, "views.pth"))

# An int64 value that float32 cannot hold exactly.
torch.save({"big": torch.tensor([2**24 + 1], dtype=torch.int64)}, os.path.join(HERE, "inexact.pth"))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)
        self.register_buffer("scale", torch.full((3,), 0.5))

    def forward(self, x):
        return self.bn(self.lin(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(4, 4), nn.GELU())
        self.blocks = nn.ModuleList([Block(), Block()])
        self.gamma = nn.Parameter(torch.randn(3))

    def forward(self, x):
        x = self.stem(x)
        return self.blocks[0](x) + self.blocks[1](x) * self.gamma


class Wrapper(nn.Module):  # nests the model as the authors' tracing wrapper does
    def __init__(self):
        super().__init__()
        self.inner = Net()

    def forward(self, x):
        return self.inner(x)


model = Wrapper().eval()
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_()
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(7)
torch.save(model.state_dict(), os.path.join(HERE, "net_state.pth"))
torch.jit.trace(model, torch.randn(2, 4)).save(os.path.join(HERE, "net_trace.pt"))
torch.jit.script(model).save(os.path.join(HERE, "net_script.pt"))
torch.save(model, os.path.join(HERE, "net_pickled_module.pth"))  # whole module: refused
