"""Layout defects a reviewer rejects: borders added along the edges, and collages of several panels.

Both are straight structures that run the whole length of the image, so both are read from the
same line statistics (``line_profile``): for every row and every column of a reduced copy (longer
side ``WORK_SIDE``), its median colour and the share of its pixels within ``LINE_TOLERANCE`` of it.
A line is *uniform* when that share is at least ``UNIFORM_SHARE``.

Borders (``find_border``), per edge, walking inward from it up to ``BORDER_DEPTH`` of the side:

- the uniform lines that start at the edge are split into runs where the colour jumps by more
  than ``SPLIT_TOLERANCE`` between neighbouring lines (a gradient or a vignette changes slowly,
  a drawn frame or line changes at once);
- a run that starts at the edge, is not white and is followed by another uniform run is a solid
  frame or a band; a run further in, closed on both sides by other uniform runs, is a drawn line
  (a thin inset line, one line of a double line, or a band inset from the edge);
- a single non-white run that starts at the edge and ends at a straight step into the content
  (``STEP_SHARE`` of the line changes at once: a frame around a photograph) is a frame too; a band
  with text on it is followed through the text rows while its colour still holds half the line.

- a white run ending at such a straight step is a frame only when it does so on all four edges at
  the same depth (``WHITE_FRAME_SPREAD``) and the content there is textured, not one colour: a white
  mat around a photograph. A square box (or a framed picture) centred on white has straight edges of
  one colour and is not flagged; a white mat around a photograph whose edge row is plain sky is missed.

- over a photograph nothing is uniform from the edge in, and a reduced copy blurs a 1 px line into the
  picture: when nothing else is found, thin lines are looked for at full size (``_thin_lines``: uniform
  along the middle of the side, differing from the lines 2 px outside and inside), and a rectangle
  drawn inside the image is such lines at one depth on three edges or four.

A product that touches the edge makes the first line non-uniform (no border on that edge); the white
background of a product shot is one open run ending where the product starts (no border).

Collages (``find_collage``): gutters and divider lines are interior straight lines that are
uniform along ``GUTTER_SHARE`` (97%) of the full length, at most ``GUTTER_MAX`` of the side wide,
with panels on both sides whose edge is straight: the line next to the gutter differs from the
gutter's colour along ``PANEL_EDGE_SHARE`` of its length, and panels alike in size along each axis
(``PANEL_RATIO``). A product's own straight edges (a box, a phone) do not qualify: they do not run
the full length of the image. Product-on-white panels
separated only by white space leave no straight line: they are several items
(``vision.item_count``), not a collage here. Panels narrower than ``PANEL_MIN`` of the side are
not counted, so a line near an edge is left to the border detector.

About 0.1 s of one core for a 2000x2000 image: borders, collage and items together.

    >>> border = find_border(pixels)                          # doctest: +SKIP
    >>> border.found, border.edges, border.boxes
    >>> collage = find_collage(pixels)                        # doctest: +SKIP
    >>> collage.grid, collage.largest_panel
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal, NamedTuple

import cv2
import numpy as np

from ..errors import UsageError
from ..item import check_rgb
from .item_count import ItemCount, count_items

WORK_SIDE = 512
ALONG_STRIDE = 2  # line statistics from every 2nd pixel along the line
LINE_TOLERANCE = 24  # a pixel holds its line's colour within this (largest channel difference)
SPLIT_TOLERANCE = 10  # neighbouring lines of one run differ at most this much
CHANGED_SHARE = 0.5  # ... unless this share of their pixels changes (a drawn edge, not a median's jump)
UNIFORM_SHARE = 0.9  # a uniform line: this share of its pixels holds the line's colour
FLAT_TOLERANCE = 8  # a frame's lines all hold the same colour within this (a sky or a studio sweep drifts)
WHITE_LEVEL = 20  # a colour at most this far from RGB 255 in every channel reads as white
BORDER_DEPTH = 0.15  # borders are looked for within this share of the side from each edge
STEP_SHARE = 0.9  # a straight step into the content: this share of the line changes at once
BAND_SHARE = 0.5  # a band with text on it: its colour still holds this share of the line
GUTTER_SHARE = 0.97  # a gutter or divider is uniform along this share of the full length
GUTTER_MAX = 0.08  # the widest gutter, as a share of the side
PANEL_EDGE_SHARE = 0.85  # the line beside a gutter differs from it along this share (a straight panel edge) ...
PANEL_EDGE_MIN = 0.6  # ... on one side, and along at least this share on the other (a bright photo meets white)
WHITE_GUTTER_MAX = 0.04  # a white gutter is at most this wide (a wider white gap is space between items)
PANEL_MIN = 0.15  # the smallest panel, as a share of the side
PANEL_CONTENT = 0.1  # a panel: more than this share of its lines cross something (not empty space)
PANEL_RATIO = 0.45  # the smallest panel along an axis is at least this share of the largest
WHITE_FRAME_SPREAD = 0.01  # a white frame is as deep on all four edges, within this share of the side
WHITE_FRAME_MIN = 4  # ... and at least this many reduced px deep (a cut-out's 1 px transparent margin is no mat)
DRAWN_STRIDE = 4  # thin lines over a photograph: measured at full size on every 4th pixel along the line ...
DRAWN_CHANGED = 0.6  # ... differing from the lines 2 px outside and inside along this share ...
DRAWN_SPREAD = 0.005  # ... at one depth (within this share of the side) on three edges or four

Edge = Literal["top", "bottom", "left", "right"]
EDGES: tuple[Edge, ...] = ("top", "bottom", "left", "right")


@dataclass(frozen=True)
class LineProfile:
    """Per line (rows or columns of the reduced image): median colour (N x 3 int16) and the share of
    its pixels within ``LINE_TOLERANCE`` of it (N,)."""

    colour: np.ndarray
    uniform: np.ndarray


@dataclass(frozen=True)
class BorderFinding:
    """Where borders run. edges: edge -> depth in px of the checked image; kinds: edge -> "frame"
    (solid, from the edge), "band" (a frame or band with something drawn on it), "line" (drawn
    inside: a thin inset line, a double line, an inset band). boxes: one [x0, y0, x1, y1] strip per
    edge (exclusive ends). inner: the box inside every border (the crop that removes them)."""

    edges: dict[str, int]
    kinds: dict[str, str]
    boxes: list[list[int]]
    inner: list[int]
    confidence: float

    @property
    def found(self) -> bool:
        return bool(self.edges)


@dataclass(frozen=True)
class CollageFinding:
    """A grid of panels. grid: (rows, columns); panels: their boxes, row by row; gutters: the boxes
    of the gutters and divider lines; largest_panel: the box of the panel with the largest area.
    All boxes [x0, y0, x1, y1] with exclusive ends, in px of the checked image."""

    grid: tuple[int, int]
    panels: list[list[int]]
    gutters: list[list[int]]
    confidence: float
    largest_panel: list[int] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return len(self.panels) > 1


def reduce_image(pixels: np.ndarray, *, max_side: int = WORK_SIDE) -> tuple[np.ndarray, float]:
    """The image area-averaged so its longer side is at most ``max_side`` (never enlarged), and the
    scale from the reduced image back to ``pixels`` (>= 1)."""
    check_rgb(pixels)
    if max_side < 16:
        raise UsageError(f"max_side must be >= 16; got {max_side}")
    h, w = pixels.shape[:2]
    if max(h, w) <= max_side:
        return pixels, 1.0
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), max(h, w) / max(size[1], size[0]) * 1.0


def line_profile(pixels: np.ndarray, *, axis: Literal["rows", "columns"], stride: int = ALONG_STRIDE) -> LineProfile:
    """The median colour of each row (or column) of ``pixels`` (RGB HxWx3 uint8) and the share of its
    pixels within ``LINE_TOLERANCE`` of that colour in every channel, from every ``stride``-th pixel
    along the line (every line is kept: a thin line across them is what is looked for)."""
    check_rgb(pixels)
    if stride < 1:
        raise UsageError(f"stride must be >= 1; got {stride}")
    lines = pixels[:, ::stride] if axis == "rows" else pixels[::stride].transpose(1, 0, 2)
    colour = np.median(lines, axis=1).astype(np.int16)
    near = np.abs(lines.astype(np.int16) - colour[:, None, :]).max(axis=2) <= LINE_TOLERANCE
    return LineProfile(colour, near.mean(axis=1))


def _lines_from(pixels: np.ndarray, edge: Edge) -> np.ndarray:
    """The image's lines ordered from ``edge`` inward: (N, L, 3)."""
    if edge == "top":
        return pixels
    if edge == "bottom":
        return pixels[::-1]
    if edge == "left":
        return pixels.transpose(1, 0, 2)
    return pixels.transpose(1, 0, 2)[::-1]


def _differs(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def _is_white(colour: np.ndarray) -> bool:
    return int(colour.min()) >= 255 - WHITE_LEVEL


def _share_near(line: np.ndarray, colour: np.ndarray, tolerance: int = LINE_TOLERANCE) -> float:
    """Share of the pixels of ``line`` (L x 3) within ``tolerance`` of ``colour``."""
    return float((np.abs(line.astype(np.int16) - colour[None, :]).max(axis=1) <= tolerance).mean())


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the pixels that change by more than SPLIT_TOLERANCE from line ``a`` to line ``b`` (L x 3):
    a drawn edge changes the whole line; a line's median can also jump when a product covers half of it."""
    return float((np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=1) > SPLIT_TOLERANCE).mean())


def _flat(colours: np.ndarray) -> bool:
    ref = np.median(colours, axis=0)
    return bool(np.abs(colours - ref[None, :]).max() <= FLAT_TOLERANCE)


class _EdgeRuns(NamedTuple):
    depth: int  # the border's depth from this edge in reduced px; 0: none
    kind: str
    contrast: int  # the colour step that marks it
    white_step: int  # where a white run from the edge meets content along a straight line (0: nowhere)


def _step_share(line: np.ndarray, colour: np.ndarray, depth: int) -> float:
    """Share of ``line`` that differs from ``colour``, leaving out ``depth`` px at each end (where the
    frame's other edges cross it)."""
    inner = line[depth : len(line) - depth] if len(line) - 2 * depth > 10 else line
    return 1.0 - _share_near(inner, colour)


def _edge_profile(lines: np.ndarray, depth_max: int, *, stride: int = ALONG_STRIDE) -> LineProfile:
    """The profile of the first ``depth_max + 1`` lines from an edge, each measured between the depths it
    lies at from the two edges it meets (line d over [d, L - d]): a rectangle drawn d px inside the
    image leaves d px at each end of its sides to whatever is outside it."""
    n, length = min(depth_max + 1, len(lines)), lines.shape[1]
    colour, uniform = np.empty((n, 3), np.int16), np.empty(n)
    for d in range(n):
        seg = lines[d, d : length - d : stride] if length - 2 * d > 10 else lines[d, ::stride]
        colour[d] = np.median(seg, axis=0)
        uniform[d] = _share_near(seg, colour[d])
    return LineProfile(colour, uniform)


def _edge_border(lines: np.ndarray, profile: LineProfile, depth_max: int) -> _EdgeRuns:
    """The border along one edge, from its lines ordered inward and their profile (same order)."""
    colour, uniform = profile.colour, profile.uniform
    if depth_max < 2 or uniform[0] < UNIFORM_SHARE:
        return _EdgeRuns(0, "", 0, 0)
    f = 1
    while f < depth_max and uniform[f] >= UNIFORM_SHARE:
        f += 1
    cuts = [d for d in range(1, f)
            if _differs(colour[d], colour[d - 1]) > SPLIT_TOLERANCE and _changed(lines[d - 1], lines[d]) >= CHANGED_SHARE]
    runs = list(zip([0, *cuts], [*cuts, f]))
    first = runs[0][1]
    white_step = 0
    if (_is_white(colour[0]) and _flat(colour[:first]) and WHITE_FRAME_MIN <= first < depth_max and uniform[first] < UNIFORM_SHARE
            and _step_share(lines[first], colour[0], first) >= STEP_SHARE):
        white_step = first  # a white frame only when all four edges agree (find_border)
    depth, kind, contrast = 0, "", 0
    inner = colour[runs[-1][0]]  # the colour the lines settle on before the content
    for i, (a, b) in enumerate(runs[:-1]):  # every run closed on its inner side by another uniform run
        step = _differs(colour[b], colour[b - 1])
        if i == 0 and not _is_white(colour[0]) and _flat(colour[a:b]):
            depth, kind, contrast = b, "frame", max(contrast, step)
        elif i > 0 and any(_differs(colour[p], inner) <= SPLIT_TOLERANCE for p, _ in runs[:i]):
            # a drawn line: the colour before it comes back after it (an edge into a box does not)
            depth, kind, contrast = b, kind or "line", max(contrast, step)
    if depth or len(runs) != 1 or f >= depth_max:
        return _EdgeRuns(depth, kind, contrast, white_step)
    # one coloured run from the edge, ending where the content starts: a frame when the content starts
    # along a straight line (a band with text on it: follow it while its colour holds)
    c = colour[0]
    if _is_white(c) or not _flat(colour[:f]):
        return _EdgeRuns(0, "", 0, white_step)
    e = f
    while e < depth_max and _share_near(lines[e], c) >= BAND_SHARE:
        e += 1
    if e >= depth_max or _step_share(lines[e], c, e) < STEP_SHARE:
        return _EdgeRuns(0, "", 0, white_step)
    step = _differs(c, np.median(lines[e], axis=0).astype(np.int16))
    return _EdgeRuns(e, "frame" if e == f else "band", step, white_step)


def _thin_lines(pixels: np.ndarray, edge: Edge) -> list[int]:
    """Depths (full-size px) of the thin lines drawn along ``edge``: a line uniform along its inner span
    that differs from the lines two px outside and inside it (over a photograph, where nothing is
    uniform from the edge in, and where a reduced copy would blur a 1 px line into the picture)."""
    lines = _lines_from(pixels, edge)
    depth_max = int(len(lines) * BORDER_DEPTH)
    # every line between the depths it could lie at on the other edges: the middle of the side
    middle = lines[: depth_max + 3, depth_max : lines.shape[1] - depth_max : DRAWN_STRIDE]
    profile = line_profile(np.ascontiguousarray(middle), axis="rows", stride=1)
    return [d for d in range(2, depth_max)
            if profile.uniform[d] >= UNIFORM_SHARE and _differs(profile.colour[d], profile.colour[d - 2]) > SPLIT_TOLERANCE
            and _changed(lines[d - 2, ::DRAWN_STRIDE], lines[d, ::DRAWN_STRIDE]) >= DRAWN_CHANGED
            and _changed(lines[d, ::DRAWN_STRIDE], lines[d + 2, ::DRAWN_STRIDE]) >= DRAWN_CHANGED]


def _drawn_rectangle(pixels: np.ndarray, scale: float) -> dict[str, _EdgeRuns]:
    """Edges with a rectangle drawn inside the image: thin lines at one depth on at least three edges.
    The depths returned are in reduced px (``scale``), one past the deepest line agreed on."""
    found = {edge: _thin_lines(pixels, edge) for edge in EDGES}
    slack = max(2, round(DRAWN_SPREAD * min(pixels.shape[:2])))
    best: dict[str, int] = {}
    for depth in sorted({d for ds in found.values() for d in ds}, reverse=True):  # the deepest first
        near = {e: max(d for d in ds if abs(d - depth) <= slack) for e, ds in found.items()
                if any(abs(d - depth) <= slack for d in ds)}
        if len(near) >= 3:
            best = near
            break
    return {e: _EdgeRuns(int(np.ceil((d + 1) / scale)), "line", 2 * SPLIT_TOLERANCE, 0) for e, d in best.items()}


def find_border(pixels: np.ndarray, *, max_side: int = WORK_SIDE) -> BorderFinding:
    """Frames, lines and bands added along the edges of ``pixels`` (RGB HxWx3 uint8): see the module
    docstring. Depths and boxes are in px of ``pixels``."""
    small, scale = reduce_image(pixels, max_side=max_side)
    h, w = small.shape[:2]
    H, W = pixels.shape[:2]
    edges: dict[str, int] = {}
    kinds: dict[str, str] = {}
    contrasts = []
    found = {}
    for edge in EDGES:
        lines = _lines_from(small, edge)
        depth_max = int(len(lines) * BORDER_DEPTH)
        found[edge] = _edge_border(lines, _edge_profile(lines, depth_max), depth_max)
    white = [found[e].white_step for e in EDGES if found[e].white_step and not found[e].depth]
    if len(white) == 4 and max(white) - min(white) <= max(2, WHITE_FRAME_SPREAD * min(h, w)):
        # a white frame around content that starts along a straight line at one depth on all four edges
        found = {e: _EdgeRuns(r.white_step, "frame", 255 - int(np.median(_lines_from(small, e)[r.white_step])), 0)
                 for e, r in found.items()}
    if not any(r.depth for r in found.values()):
        found.update(_drawn_rectangle(pixels, scale))
    for edge in EDGES:
        depth, kind, contrast, _ = found[edge]
        if depth:
            full = H if edge in ("top", "bottom") else W
            # one reduced line more: the border's last line blurs into the next one at the reduced size
            edges[edge] = min(full // 2, int(np.ceil((depth + 1) * scale)))
            kinds[edge] = kind
            contrasts.append(contrast)
    boxes = []
    for edge, d in edges.items():
        boxes.append({"top": [0, 0, W, d], "bottom": [0, H - d, W, H], "left": [0, 0, d, H], "right": [W - d, 0, W, H]}[edge])
    inner = [edges.get("left", 0), edges.get("top", 0), W - edges.get("right", 0), H - edges.get("bottom", 0)]
    confidence = 0.0
    if edges:
        by_count = {1: 0.7, 2: 0.85, 3: 0.9}.get(len(edges), 0.97)
        confidence = round(by_count * min(1.0, 0.6 + min(contrasts) / (6 * SPLIT_TOLERANCE)), 3)
    return BorderFinding(edges, kinds, boxes, inner, confidence)


def _gutters(small: np.ndarray, profile: LineProfile, lines: np.ndarray) -> list[tuple[int, int, float]]:
    """Interior gutters along one axis: (start, end, strength) in reduced px, ``lines`` (N, L, 3) in
    the profile's order."""
    n = len(profile.uniform)
    candidate = profile.uniform >= GUTTER_SHARE
    found = []
    i = 0
    while i < n:
        if not candidate[i]:
            i += 1
            continue
        j = i + 1
        while j < n and candidate[j] and _differs(profile.colour[j], profile.colour[j - 1]) <= SPLIT_TOLERANCE:
            j += 1
        # run [i, j); interior on both sides, narrow, with a straight panel edge on both sides
        if i > 0 and j < n and j - i <= max(1, GUTTER_MAX * n):
            c = np.median(profile.colour[i:j], axis=0).astype(np.int16)
            # the panels' edges: the first line beyond the gutter, or the next (an edge blurred over one line)
            before = max(1.0 - _share_near(lines[k], c, SPLIT_TOLERANCE) for k in {i - 1, max(0, i - 2)})
            after = max(1.0 - _share_near(lines[k], c, SPLIT_TOLERANCE) for k in {j, min(n - 1, j + 1)})
            narrow = not _is_white(c) or j - i <= max(1, WHITE_GUTTER_MAX * n)
            if narrow and max(before, after) >= PANEL_EDGE_SHARE and min(before, after) >= PANEL_EDGE_MIN:
                found.append((i, j, min(before, after)))
        i = j
    return _keep_panels(found, candidate)


def _keep_panels(gutters: list[tuple[int, int, float]], uniform: np.ndarray) -> list[tuple[int, int, float]]:
    """Drop gutters that would leave a panel narrower than PANEL_MIN of the side, or an empty one (no
    more than PANEL_CONTENT of its lines cross anything: the white space beside a product, whose
    anti-aliased edge reads as a thin line); merge neighbours (an anti-aliased line reads as two or
    three runs side by side). ``uniform``: which lines are uniform along the full length."""
    n = len(uniform)
    merged: list[tuple[int, int, float]] = []
    for g in gutters:
        if merged and g[0] - merged[-1][1] <= max(2, 0.01 * n):
            a, _, s = merged[-1]
            merged[-1] = (a, g[1], max(s, g[2]))
        else:
            merged.append(g)
    kept: list[tuple[int, int, float]] = []
    for g in sorted(merged, key=lambda g: -g[2]):
        bounds = sorted([(0, 0), (n, n), *[(k[0], k[1]) for k in kept], (g[0], g[1])])
        if all(b[0] - a[1] >= PANEL_MIN * n and (~uniform[a[1] : b[0]]).mean() > PANEL_CONTENT
               for a, b in zip(bounds, bounds[1:])):
            kept.append(g)
    bounds = [0, *[x for k in sorted(kept) for x in k[:2]], n]
    sizes = [b - a for a, b in zip(bounds[::2], bounds[1::2])]
    if kept and min(sizes) < PANEL_RATIO * max(sizes):  # a grid's panels are alike; a horizon at 70% is not a gutter
        return []
    return sorted(kept)


def find_collage(pixels: np.ndarray, *, max_side: int = WORK_SIDE) -> CollageFinding:
    """Panels in a grid separated by gutters or divider lines that span the image (RGB HxWx3 uint8):
    see the module docstring. Boxes in px of ``pixels``; a single panel means no collage."""
    small, scale = reduce_image(pixels, max_side=max_side)
    h, w = small.shape[:2]
    H, W = pixels.shape[:2]
    rows, cols = line_profile(small, axis="rows"), line_profile(small, axis="columns")
    across = _gutters(small, rows, small)  # horizontal gutters: rows
    down = _gutters(small, cols, small.transpose(1, 0, 2))  # vertical gutters: columns

    def to_full(v: int, full: int, n: int) -> int:
        return min(full, round(v * full / n))

    ys = [(to_full(a, H, h), to_full(b, H, h)) for a, b, _ in across]
    xs = [(to_full(a, W, w), to_full(b, W, w)) for a, b, _ in down]
    y_spans = list(zip([0, *[b for _, b in ys]], [*[a for a, _ in ys], H]))
    x_spans = list(zip([0, *[b for _, b in xs]], [*[a for a, _ in xs], W]))
    panels = [[x0, y0, x1, y1] for y0, y1 in y_spans for x0, x1 in x_spans]
    gutters = [[0, a, W, b] for a, b in ys] + [[a, 0, b, H] for a, b in xs]
    if len(panels) == 1:
        return CollageFinding((1, 1), panels, [], 0.0, panels[0])
    strengths = [s for _, _, s in across + down]
    count = len(across) + len(down)
    confidence = round(min(0.98, (0.75 if count == 1 else 0.9) * (0.7 + 0.3 * min(strengths)) / 0.97 + 0.05), 3)
    largest = max(panels, key=lambda p: (p[2] - p[0]) * (p[3] - p[1]))
    return CollageFinding((len(y_spans), len(x_spans)), panels, gutters, confidence, largest)


def _shift(box: list[int], dx: int, dy: int) -> list[int]:
    return [box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy]


class LayoutInspection:
    """The layout of one image, each part found once, when first asked for:

    - ``border``: ``find_border`` on the whole image;
    - ``collage``: ``find_collage`` inside the border (a frame around a collage would hide its
      gutters' ends), boxes in px of the whole image;
    - ``items``: ``vision.item_count.count_items`` in the collage's largest panel inside the border
      (what a fix keeps), boxes in px of the whole image.

    pixels: RGB HxWx3 uint8; alpha: HxW uint8 product mask when known (a cut-out: the pixels are judged
    composited on white, and the items are the alpha's components).
    """

    def __init__(self, pixels: np.ndarray, alpha: np.ndarray | None = None) -> None:
        check_rgb(pixels)
        if alpha is not None:  # judged as shown on a white page: what lies under alpha 0 is not seen
            a = alpha.astype(np.float32)[..., None] * (1.0 / 255.0)
            pixels = (pixels * a + 255.0 * (1.0 - a) + 0.5).astype(np.uint8)
        self.pixels, self.alpha = pixels, alpha

    @cached_property
    def border(self) -> BorderFinding:
        return find_border(self.pixels)

    @cached_property
    def collage(self) -> CollageFinding:
        x0, y0, x1, y1 = self.border.inner
        if x1 - x0 < 16 or y1 - y0 < 16:
            whole = [x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)]
            return CollageFinding((1, 1), [whole], [], 0.0, whole)
        found = find_collage(self.pixels[y0:y1, x0:x1])
        panels = [_shift(p, x0, y0) for p in found.panels]
        return CollageFinding(found.grid, panels, [_shift(g, x0, y0) for g in found.gutters], found.confidence,
                              _shift(found.largest_panel, x0, y0))

    @cached_property
    def items(self) -> ItemCount:
        x0, y0, x1, y1 = self.collage.largest_panel
        alpha = None if self.alpha is None else self.alpha[y0:y1, x0:x1]
        found = count_items(np.ascontiguousarray(self.pixels[y0:y1, x0:x1]), alpha)
        return replace(found, boxes=[_shift(b, x0, y0) for b in found.boxes])
