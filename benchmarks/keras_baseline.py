"""Plain Keras LeNet-5 on MNIST as the keras-io examples write it: Adam, batch 128, ``model.fit`` on NumPy arrays.

The peer that ``compare_speed.py`` measures zoo against. Same network as ``zoo/models/lenet.py`` (61,706 params).
    python benchmarks/keras_baseline.py MNIST.npz [--epochs 2]
Prints one JSON line: seconds of each epoch, training images per epoch, test accuracy.
"""

import argparse
import json
import time

import keras
import numpy as np
from keras import layers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("npz", help="x_train, y_train, x_test, y_test as uint8 (written by compare_speed.py)")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    d = np.load(args.npz)
    x_train, x_test = d["x_train"].astype("float32") / 255, d["x_test"].astype("float32") / 255
    y_train, y_test = d["y_train"], d["y_test"]

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(6, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

    seconds = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    model.fit(
        x_train, y_train, batch_size=128, epochs=args.epochs, validation_split=0.1, verbose=0, callbacks=[Timer()]
    )
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    train_images = int(len(x_train) * 0.9)
    print(
        json.dumps(
            {
                "name": "plain Keras (fit on NumPy)",
                "params": model.count_params(),
                "epoch_seconds": seconds,
                "train_images": train_images,
                "test_accuracy": accuracy,
                "epochs": args.epochs,
            }
        )
    )


if __name__ == "__main__":
    main()
