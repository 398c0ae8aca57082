"""Perception that both ``ops/`` and ``understand/`` use: segmentation, OCR, faces, colours, the
noise estimate, the product's box and tiled inference.

It sits below both and imports neither (tests/test_layers.py checks it).
"""
