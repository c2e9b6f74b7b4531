"""What the model scripts share: deterministic TensorFlow, the small CNN, training, full-integer conversion.

Used by ``train_pipeline.py`` (the bundled model) and ``train.py`` (a model from labelled photos). Needs the
training venv (``tensorflow-cpu``); TensorFlow is imported only by ``configure_tensorflow``, so callers can
fork rendering or decoding processes before it is loaded.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from station.config.toml import dumps
from station.vision.card import load_card

#: (filters, stride) of each 3x3 convolution of the small CNN.
CONV_LAYERS: tuple[tuple[int, int], ...] = ((16, 2), (24, 1), (32, 2), (48, 1), (64, 2), (96, 2))
BATCH = 64


def progress_printer(script: str) -> Callable[[str], None]:
    """A ``say(message)`` for the person running ``script``: timestamped lines on stderr (stdout stays clean)."""
    def say(message: str) -> None:
        print(f"[{script} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    return say


def configure_tensorflow(seed: int, threads: int) -> Any:
    """Import TensorFlow (after any forking, so no child inherits it) and make it deterministic.

    Op determinism makes every kernel reproducible for a given thread count; oneDNN is switched off because
    its fused kernels may order float sums differently from run to run."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


def build_model(tf: Any, side: int, classes: int, *, name: str, flip: bool = False, seed: int = 0,
                bn_momentum: float = 0.99) -> Any:
    """A small CNN: strided 3x3 convolutions, global pooling, softmax. Pixel values 0..255 go in.

    ``flip`` adds a random left-right mirror while training (a camera trap sees animals walk both ways);
    it is a no-op at inference and leaves no trace in the converted model. A lower ``bn_momentum`` lets the
    batch-norm statistics the int8 model keeps settle within the few hundred steps a small data set gives."""
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(side, side, 3), name="image")
    x = layers.RandomFlip("horizontal", seed=seed)(inputs) if flip else inputs
    x = layers.Rescaling(1.0 / 255.0)(x)
    for filters, strides in CONV_LAYERS:
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
        x = layers.ReLU(6.0)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(classes, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(inputs, outputs, name=name)


def progress_callback(tf: Any, epochs: int, say: Callable[[str], None]) -> Any:
    """A Keras callback that reports each epoch through ``say`` (Keras' own progress bar goes to stdout)."""
    class EpochReport(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            say(f"epoch {epoch + 1}/{epochs}: loss {logs.get('loss', 0.0):.4f} "
                f"accuracy {logs.get('accuracy', 0.0):.4f}")

    return EpochReport()


def train(tf: Any, model: Any, images: np.ndarray, labels: np.ndarray, epochs: int, seed: int,
          say: Callable[[str], None], *, class_weight: dict[int, float] | None = None,
          min_steps_per_epoch: int = 0) -> None:
    """Adam with a cosine-decaying learning rate, shuffled batches of 64 (reshuffled every epoch).

    With ``min_steps_per_epoch``, a small data set is repeated so that every epoch has that many batches."""
    steps_per_epoch = int(np.ceil(len(images) / BATCH))
    repeat = steps_per_epoch < min_steps_per_epoch
    steps = epochs * (min_steps_per_epoch if repeat else steps_per_epoch)
    schedule = tf.keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=steps, alpha=0.02)
    model.compile(optimizer=tf.keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data = (tf.data.Dataset.from_tensor_slices((images, labels))
            .shuffle(len(images), seed=seed, reshuffle_each_iteration=True))
    data = (data.repeat() if repeat else data).batch(BATCH).map(lambda x, y: (tf.cast(x, tf.float32), y))
    model.fit(data, epochs=epochs, verbose=0, callbacks=[progress_callback(tf, epochs, say)],
              class_weight=class_weight, steps_per_epoch=min_steps_per_epoch if repeat else None)


def representative(images: np.ndarray, count: int = 300) -> Iterator[list[np.ndarray]]:
    """Calibration frames spread over the training set. The first holds one black and one white pixel, so
    the input range is exactly 0..255 and a uint8 pixel is its own quantized value (scale 1, zero point 0),
    as in standard models."""
    count = min(count, len(images))
    for i in range(count):
        frame = images[i * (len(images) // count)].astype(np.float32)
        if i == 0:
            frame[0, 0], frame[0, 1] = 0.0, 255.0
        yield [frame[None, ...]]


def convert(tf: Any, model: Any, images: np.ndarray) -> bytes:
    """Full-integer TFLite: int8 weights and activations, uint8 input and output."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: representative(images)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    with contextlib.redirect_stdout(sys.stderr):  # the converter prints its SavedModel signature
        return converter.convert()


def predict_int8(model_path: Path, images: np.ndarray) -> np.ndarray:
    """Argmax of the int8 model under LiteRT for each image, quantizing input from the tensor's own params."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path), num_threads=1)
    interpreter.allocate_tensors()
    tensor_in = interpreter.get_input_details()[0]
    tensor_out = interpreter.get_output_details()[0]
    scale, zero = tensor_in["quantization"]
    info = np.iinfo(tensor_in["dtype"])
    predicted = np.empty(len(images), dtype=np.int64)
    for i, image in enumerate(images):
        quantized = np.clip(np.round(image / scale + zero), info.min, info.max).astype(tensor_in["dtype"])
        interpreter.set_tensor(tensor_in["index"], quantized[None, ...])
        interpreter.invoke()
        predicted[i] = int(np.argmax(interpreter.get_tensor(tensor_out["index"])[0]))
    return predicted


def write_card(doc: dict[str, Any], card_path: Path, *, header: str) -> Path:
    """Write the card and read it back as the station does (a card the station refuses is never left)."""
    card_path.write_text(dumps(doc, header=header), encoding="utf-8")
    load_card(card_path)
    return card_path
