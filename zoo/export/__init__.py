"""Exports of a saved model for other applications, each checked against the Keras model (parity): the formats and
:func:`export` (:mod:`zoo.export.formats`), the TFLite conversions (:mod:`zoo.export.tflite`), and the folding of
affine layers that the quantized ones use (:mod:`zoo.export.fold`)."""

from zoo.export.formats import FORMATS, QUANTIZATIONS, export, format_names

__all__ = ["FORMATS", "QUANTIZATIONS", "export", "format_names"]
