"""Build the bundled camera-trap detector (MegadetectorLite, a YOLOX-tiny) as full-integer TFLite.

Sources, all from PyPI: the weights inside the wheel ``zamba==2.7.2`` (MIT), the network definition of
``pixeltable-yolox==0.4.3`` (Apache-2.0), PyTorch 2.13 (CPU), onnx2tf 1.28, TensorFlow 2.21.

Route, per input size S:
  1. YOLOX-tiny with the zamba weights; its "Focus" stem (space-to-depth, then a 3x3 conv) rewritten as
     the equivalent 6x6 stride-2 convolution, checked against the original.
  2. A head that emits, per grid cell, the box encoding (ty, tx, th, tw) and the score
     sigmoid(objectness) * sigmoid(class), in the anchor order of step 4.
  3. PyTorch -> ONNX (opset 13) -> onnx2tf (a Keras model, NHWC).
  4. TFLite's standard detection post-processing appended: YOLOX's decode, cx = (tx + gx) * s and
     w = exp(tw) * s, is the SSD centre-size decode with anchors (gy*s, gx*s, s, s) / S and box scales 1.
  5. TFLiteConverter, full int8 with uint8 input (raw RGB pixels, scale 1, zero point 0), calibrated on
     the photos in --calibration (a plain stretch resize of the whole frame to S x S).

Run it through ``models/detector/build.sh``, which makes the conversion venv. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

# Fewer sources of run-to-run differences; set before TensorFlow is imported.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from yolox_torch import anchors_for, build_torch_model, export_head, export_onnx, log  # noqa: E402 (sibling)

MAX_DETECTIONS = 20
NMS_IOU = 0.45
SCORE_FLOOR = 0.05
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


# ---------------------------------------------------------------- calibration photos


def calibration_files(folder: Path, count: int | None) -> list[Path]:
    """The photos in ``folder`` (sorted by name); with ``count``, that many spread evenly over them."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"--calibration: no .jpg/.jpeg/.png photos in {folder}; point it at a folder of photos")
    if count and count < len(files):
        files = [files[(i * len(files)) // count] for i in range(count)]
    return files


def stretch_rgb(path: Path, size: int) -> np.ndarray:
    """The whole frame, stretched to size x size, RGB uint8 [size, size, 3] (what the station feeds)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


# ---------------------------------------------------------------- TensorFlow side


def postprocess_signature() -> str:
    attrs = [
        'name: "TFLite_Detection_PostProcess"',
        f'attr {{ key: "max_detections" value {{ i: {MAX_DETECTIONS} }} }}',
        'attr { key: "max_classes_per_detection" value { i: 1 } }',
        'attr { key: "detections_per_class" value { i: 100 } }',
        'attr { key: "use_regular_nms" value { b: false } }',
        f'attr {{ key: "nms_score_threshold" value {{ f: {SCORE_FLOOR:f} }} }}',
        f'attr {{ key: "nms_iou_threshold" value {{ f: {NMS_IOU:f} }} }}',
        'attr { key: "y_scale" value { f: 1.0 } }',
        'attr { key: "x_scale" value { f: 1.0 } }',
        'attr { key: "h_scale" value { f: 1.0 } }',
        'attr { key: "w_scale" value { f: 1.0 } }',
        'attr { key: "num_classes" value { i: 1 } }',
    ]
    return " ".join(attrs)


def save_detector(keras_model, size: int, folder: Path) -> None:
    """A SavedModel: images -> keras model -> TFLite_Detection_PostProcess (fused by the converter)."""
    import tensorflow as tf

    @tf.function(experimental_implements=postprocess_signature())
    def detection_postprocess(box_encodings, class_predictions, anchors):  # noqa: ARG001
        # No TensorFlow op does this; the converter replaces this function with TFLite's own op.
        boxes = tf.constant(0.0, dtype=tf.float32, name="boxes")
        classes = tf.constant(0.0, dtype=tf.float32, name="classes")
        scores = tf.constant(0.0, dtype=tf.float32, name="scores")
        count = tf.constant(0.0, dtype=tf.float32, name="num_detections")
        return boxes, classes, scores, count

    class Detector(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = keras_model
            self.anchors = tf.constant(anchors_for(size))

        @tf.function(input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32, name="images")])
        def serve(self, images):
            encodings, scores = self.model(images)
            boxes, classes, scores, count = detection_postprocess(encodings, scores, self.anchors)
            # Keys in sorted order = the op's output order: the converter then keeps the standard order.
            return {"detection_boxes": boxes, "detection_classes": classes, "detection_scores": scores,
                    "num_detections": count}

    detector = Detector()
    tf.saved_model.save(detector, str(folder), signatures=detector.serve)


def to_tflite(saved: Path, photos: Sequence[Path], size: int) -> bytes:
    import tensorflow as tf

    def representative() -> Iterator[list[np.ndarray]]:
        for i, path in enumerate(photos, 1):
            log(f"  calibrating {i}/{len(photos)}: {path.name}")
            yield [stretch_rgb(path, size)[None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.allow_custom_ops = True
    return converter.convert()


def onnx_to_keras(onnx_path: Path, head, probe: np.ndarray):
    """onnx2tf's Keras model (NHWC input), checked against PyTorch on one photo."""
    import onnx2tf
    import onnx2tf.onnx2tf as onnx2tf_main
    import torch

    # onnx2tf's self-check fetches sample images from the internet; hand it photos of ours instead.
    sample = np.stack([np.asarray(Image.fromarray(probe).resize((128, 128), Image.Resampling.BILINEAR))]) / 255.0
    onnx2tf_main.download_test_image_data = lambda: sample.astype(np.float32)
    keras_model = onnx2tf.convert(input_onnx_file_path=str(onnx_path), output_folder_path=str(onnx_path.parent),
                                  not_use_onnxsim=True, disable_model_save=True, verbosity="error")
    tf_enc, tf_scores = (np.asarray(t) for t in keras_model(probe[None].astype(np.float32)))
    with torch.no_grad():
        pt_enc, pt_scores = (t.numpy() for t in head(torch.from_numpy(probe.astype(np.float32)).permute(2, 0, 1)[None]))
    if tf_enc.shape != pt_enc.shape or tf_scores.shape != pt_scores.shape:
        raise RuntimeError(f"onnx2tf changed the output shapes: {tf_enc.shape} {tf_scores.shape}")
    enc_diff = float(np.abs(tf_enc - pt_enc).max())
    score_diff = float(np.abs(tf_scores - pt_scores).max())
    log(f"  onnx2tf vs PyTorch on one photo: max |encoding diff| {enc_diff:.2e}, max |score diff| {score_diff:.2e}")
    if enc_diff > 1e-2 or score_diff > 1e-3:
        raise RuntimeError("the TensorFlow model does not compute what the PyTorch model does")
    return keras_model


def standard_output_order(model: bytes) -> bytes:
    """Make the model's outputs the post-processing op's own order: boxes, classes, scores, count.

    The converter orders a SavedModel's outputs in its own way (it changed between a float and an int8
    conversion of the same graph); the station and most tools expect the standard order.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    tree = flatbuffer_utils.read_model_from_bytearray(bytearray(model))
    graph = tree.subgraphs[0]
    (op,) = [o for o in graph.operators
             if tree.operatorCodes[o.opcodeIndex].customCode == b"TFLite_Detection_PostProcess"]
    wanted = [int(i) for i in op.outputs]
    if sorted(wanted) != sorted(int(i) for i in graph.outputs):
        raise RuntimeError("the post-processing op's outputs are not the model's outputs")
    graph.outputs = np.array(wanted, dtype=np.int32)
    for signature in tree.signatureDefs or []:
        signature.outputs.sort(key=lambda tensor_map: wanted.index(tensor_map.tensorIndex))
    return bytes(flatbuffer_utils.convert_object_to_bytearray(tree))


def check_tflite(model: bytes, photo: Path, size: int) -> None:
    """The int8 model loads in LiteRT, takes raw uint8 pixels and gives the 4 standard outputs."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model, num_threads=1)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    if inp["dtype"] != np.uint8 or tuple(inp["quantization"]) != (1.0, 0):
        raise RuntimeError(f"input is {inp['dtype']} {inp['quantization']}, not uint8 (1.0, 0)")
    interpreter.set_tensor(inp["index"], stretch_rgb(photo, size)[None])
    interpreter.invoke()
    shapes = [tuple(int(n) for n in o["shape"]) for o in interpreter.get_output_details()]
    if shapes != [(1, MAX_DETECTIONS, 4), (1, MAX_DETECTIONS), (1, MAX_DETECTIONS), (1,)]:
        names = [o["name"] for o in interpreter.get_output_details()]
        raise RuntimeError(f"outputs are {shapes} ({names}), not boxes, classes, scores, count")
    scores = interpreter.get_tensor(interpreter.get_output_details()[2]["index"])[0]
    log(f"  LiteRT check on {photo.name}: best score {scores.max():.3f}")


def build(size: int, model, photos: Sequence[Path], out: Path, work: Path) -> Path:
    log(f"input {size}x{size}:")
    head = export_head(model, size)
    onnx_path = work / f"mdlite-{size}" / "detector.onnx"
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(head, size, onnx_path)
    keras_model = onnx_to_keras(onnx_path, head, stretch_rgb(photos[0], size))
    saved = onnx_path.parent / "saved_model"
    save_detector(keras_model, size, saved)
    tflite = standard_output_order(to_tflite(saved, photos, size))
    check_tflite(tflite, photos[-1], size)
    target = out / f"mdlite-yolox-tiny-{size}.tflite"
    target.write_bytes(tflite)
    log(f"  wrote {target}: {len(tflite):,} bytes, sha256 {hashlib.sha256(tflite).hexdigest()}")
    return target


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, required=True,
                        help="the zamba-2.7.2 wheel (pip download --no-deps zamba==2.7.2)")
    parser.add_argument("--calibration", type=Path, required=True,
                        help="folder of camera-trap photos (.jpg/.png) to calibrate the int8 ranges on")
    parser.add_argument("--calibration-count", type=int, default=None,
                        help="use this many photos, spread evenly over the folder's sorted names (default: all)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 320], help="input sizes (multiples of 32)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="where the .tflite go")
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the intermediate ONNX and SavedModel files here (default: a temporary folder)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch and TensorFlow")
    return parser.parse_args(argv)


def usage_problem(args: argparse.Namespace) -> str | None:
    """The user's mistake in the arguments, as one line, or None."""
    for size in args.sizes:
        if size % 32:
            return f"--sizes: {size} is not a multiple of 32 (the head's largest stride)"
    if not args.wheel.is_file():
        return f"--wheel: {args.wheel} does not exist; run: pip download --no-deps zamba==2.7.2"
    if not args.calibration.is_dir():
        return f"--calibration: {args.calibration} is not a folder of photos"
    try:
        calibration_files(args.calibration, args.calibration_count)
    except ValueError as exc:
        return str(exc)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    problem = usage_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    import tensorflow as tf
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    photos = calibration_files(args.calibration, args.calibration_count)
    log(f"calibration: {len(photos)} photos from {args.calibration}: {' '.join(p.name for p in photos)}")
    model = build_torch_model(args.wheel)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mdlite-convert-") as scratch:
        work = args.work or Path(scratch)
        for size in args.sizes:
            build(size, model, photos, args.out, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
