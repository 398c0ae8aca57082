"""Understanding products: classification, attributes, listing text (describe), entities and search.

The perception they build on (OCR, colours, segmentation, the noise estimate) lives in ``vision/``.
"""
