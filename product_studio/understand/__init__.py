"""Understanding products: classification (and later OCR, attributes, descriptions, search)."""
