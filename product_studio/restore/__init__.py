"""Restoration (issue 6): learned denoising, upscaling and defect repair, and the data they learn from.

    data.py      the photographs (sources, licences, the fixed train/eval split), patches, degradations
    train.py     ``train_denoiser`` / ``train_upscaler`` on the project's Trainer
    defects.py   synthetic scratches, stains, dust and text, each with its exact mask
    repair_data.py, repair_training.py  patches and training of the defect detector and the inpainter

The networks run in the recipe steps ``denoise`` (ops/denoise.py), ``upscale`` (ops/upscale.py) and ``inpaint``,
``repair_defects``, ``remove_text`` (ops/repair.py). Nothing here is
imported by ``product_studio`` itself: torch loads only when a network runs.
"""
