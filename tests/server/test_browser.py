"""The web page in a real browser: Debian's chromium, headless, driven by Playwright, against the
real server on loopback (conftest's ``live``: uvicorn in a thread, a fresh data dir).

Upload a sample photo, process it for amazon-main, see the before/after (both images decoded),
the compliance verdict, move the slider, rate the result (and find the rating in the server's
store), then upload a text file named .jpg and see the server's error next to it. The page may load
nothing from outside the server (it must work offline) and may log no errors of its own.

A screenshot of the processed result is written to tmp_path; with PRODUCT_STUDIO_UPDATE_SCREENSHOT=1
it is also copied to docs/screenshots/ for the README (a plain test run leaves the tree alone).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "boot_on_deck.jpg"
SCREENSHOT_COPY = REPO / "docs" / "screenshots" / "web-page.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PROCESS_TIMEOUT_MS = 180_000  # one photo through background removal on a small CPU


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian's chromium is not installed ({CHROMIUM} is missing): run `make test`, which installs it "
            "with apt (or `apt-get install chromium`). The browser test never downloads a browser."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live):
    """A page on the live server that records console errors, page errors and off-server requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.console_errors = []
    page.page_errors = []
    page.outside_requests = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.page_errors.append(str(e)))
    server = urlsplit(live.url).netloc

    def guard(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != server:
            page.outside_requests.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
    yield page
    context.close()


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


def _natural_widths(card) -> list[int]:
    return card.locator(".compare img").evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")


def test_upload_process_compare_rate_and_error(page, live, tmp_path):
    from playwright.sync_api import expect

    server = live.url
    page.goto(server + "/")
    expect(page).to_have_title("Product Studio")
    expect(page.locator("#server-status")).to_contain_text("Server ready")
    expect(page.locator("#preset option[value='amazon-main']")).to_have_count(1)
    page.select_option("#preset", "amazon-main")

    # Upload a real photo and process it.
    page.set_input_files("#file-input", str(SAMPLE))
    card = page.locator(".card").first
    expect(card.locator("h3")).to_have_text(SAMPLE.name)
    page.click("#process-btn")
    expect(card).to_have_attribute("data-state", "done", timeout=PROCESS_TIMEOUT_MS)

    # Before and after: both images decoded, the output at the size the server reports.
    compare = card.locator(".compare")
    expect(compare).to_be_visible()
    page.wait_for_function(
        "card => [...card.querySelectorAll('.compare img')].every(i => i.complete && i.naturalWidth > 0)",
        arg=card.element_handle(),
    )
    widths = _natural_widths(card)
    assert len(widths) == 2 and all(w > 0 for w in widths), widths
    meta = card.locator(".card-meta").inner_text()
    out_w = card.locator(".compare-after").evaluate("i => i.naturalWidth")
    assert f"→ {out_w}×" in meta, meta
    for alt in card.locator(".compare img").evaluate_all("imgs => imgs.map(i => i.alt)"):
        assert SAMPLE.name in alt

    # The compliance verdict, rule by rule.
    expect(card.locator(".verdict-word")).to_have_text("PASS")
    expect(card.locator(".rule-fail")).to_have_count(0)
    rules = card.locator(".rules .rule")
    assert rules.count() >= 8
    expect(card.locator(".rule", has_text="background").locator(".chip")).to_have_text("Pass")
    expect(card.locator(".rule", has_text="fill").first).to_contain_text("expected")

    # The slider: drag the divider to the left, then move it with the keyboard.
    divider = card.locator(".compare-divider")
    assert divider.get_attribute("aria-valuenow") == "50"
    compare.evaluate("e => e.scrollIntoView({block: 'center'})")
    start = divider.bounding_box()
    box = compare.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2, steps=8)
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()
    moved = divider.bounding_box()
    assert moved["x"] < start["x"] - box["width"] * 0.25, (start, moved)
    assert 15 <= int(divider.get_attribute("aria-valuenow")) <= 25
    clip = card.locator(".compare-before-clip").evaluate("e => getComputedStyle(e).clipPath")
    assert clip.startswith("inset("), clip  # the "before" image is cut at the divider
    divider.focus()
    page.keyboard.press("End")
    assert divider.get_attribute("aria-valuenow") == "100"
    page.keyboard.press("Home")
    assert divider.get_attribute("aria-valuenow") == "0"
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    assert divider.get_attribute("aria-valuenow") == "40"

    # Rate it: accept with a comment; the server stores it.
    comment = "Clean white background, boot well centred."
    card.locator(".feedback textarea").fill(comment)
    card.locator(".feedback .btn-accept").click()
    expect(card.locator(".feedback-status")).to_contain_text("Recorded: accepted")
    expect(card.locator(".feedback .btn-accept")).to_have_attribute("aria-pressed", "true")
    result_id = page.evaluate("() => window.productStudio.state.photos[0].result.id")
    stored = _stored_feedback(live.app.state.settings, result_id)
    assert [(f.verdict, f.comment, f.preset) for f in stored] == [("accept", comment, "amazon-main")]
    report = _get_json(f"{server}/v1/feedback/report")
    assert report["total"]["votes"] == 1 and report["total"]["accepted"] == 1, report
    assert {"key": "amazon-main", "votes": 1, "accepted": 1}.items() <= report["by_preset"][0].items(), report

    # The picture for the README: the processed result, rated.
    page.evaluate("() => window.scrollTo(0, 0)")
    shot = tmp_path / "web-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    if os.environ.get("PRODUCT_STUDIO_UPDATE_SCREENSHOT") == "1":  # refresh the README's picture on request only
        SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT_COPY)

    # A text file named .jpg: the server's message is shown next to that photo.
    fake = tmp_path / "not_a_photo.jpg"
    fake.write_text("this is text, not a JPEG\n" * 20)
    page.set_input_files("#file-input", str(fake))
    bad = page.locator(".card").nth(1)
    expect(bad.locator("h3")).to_have_text(fake.name)
    page.click("#process-btn")
    expect(bad).to_have_attribute("data-state", "error", timeout=60_000)
    error = bad.locator(".card-error")
    expect(error).to_be_visible()
    expected = _server_error(server, fake)
    expect(error).to_contain_text(expected[:60])
    # The good card is untouched.
    expect(card).to_have_attribute("data-state", "done")
    expect(card.locator(".verdict-word")).to_have_text("PASS")

    # Offline and clean: nothing fetched from elsewhere; the only console error is the browser's own
    # note about the rejected upload (a 4xx answer).
    assert page.outside_requests == []
    assert page.page_errors == []
    unexpected = [m for m in page.console_errors if not re.search(r"status of 4\d\d", m)]
    assert unexpected == [], page.console_errors
    assert len(page.console_errors) <= 1, page.console_errors


def _stored_feedback(settings, result_id: str) -> list:
    """The feedback rows the server's store holds for one result (read from its database)."""
    from product_studio.store import open_database
    from product_studio.store.repository import iter_feedback

    db = open_database(settings.resolved_database_url)
    try:
        return [f for f in iter_feedback(db) if f.result_id == result_id]
    finally:
        db.dispose()


def _server_error(server: str, path: Path) -> str:
    """What /v1/process answers for this file: the message the page must show."""
    boundary = "----browser-test-boundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"preset\"\r\n\r\namazon-main\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
        f"Content-Type: image/jpeg\r\n\r\n"
    ).encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{server}/v1/process", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as exc:
        assert 400 <= exc.code < 500, exc.code
        body = json.loads(exc.read())
        detail = body.get("detail", body.get("error", body.get("message")))
        if isinstance(detail, dict):
            detail = detail.get("message") or detail.get("detail")
        assert isinstance(detail, str) and detail, body
        return detail
    raise AssertionError("the server accepted a text file named .jpg")


def _process_sample(page, server: str):
    """Open the page, process the sample for amazon-main; the card, once done."""
    from playwright.sync_api import expect

    page.goto(server + "/")
    expect(page.locator("#preset option[value='amazon-main']")).to_have_count(1)
    page.select_option("#preset", "amazon-main")
    page.set_input_files("#file-input", str(SAMPLE))
    page.click("#process-btn")
    card = page.locator(".card").first
    expect(card).to_have_attribute("data-state", "done", timeout=PROCESS_TIMEOUT_MS)
    return card


def test_mask_editor_paints_and_repairs(page, live, tmp_path):
    """Paint a stroke in the mask editor, repair; then load a prepared mask file and repair again.

    The server stores the mask it got: white exactly where the page painted (or where the loaded
    mask was white), at the photo's size; the repaired pixels change only inside it."""
    import numpy as np
    from PIL import Image
    from playwright.sync_api import expect

    from product_studio import load_image
    from product_studio.store import BlobStore, open_database
    from product_studio.store.repository import get_result

    card = _process_sample(page, live.url)
    settings = live.app.state.settings
    settings.keep_inputs = True  # the server keeps uploads, masks too, only when asked (the default keeps outputs only)
    page.get_by_role("button", name="Edit mask & repair").click()
    dialog = page.locator("#mask-dialog")
    expect(dialog).to_be_visible()
    page.wait_for_function("() => document.getElementById('mask-image').naturalWidth > 0")
    canvas = page.locator("#mask-canvas")
    w, h = canvas.evaluate("c => [c.width, c.height]")
    original = load_image(SAMPLE.read_bytes(), name=SAMPLE.name).pixels
    assert (h, w) == original.shape[:2]  # the mask is drawn at the photo's own size

    # Paint a horizontal stroke across the upper left (the sky), erase its right end, repair.
    box = canvas.bounding_box()
    y = box["y"] + box["height"] * 0.25
    page.fill("#brush-size", "30")  # 30 screen px
    page.mouse.move(box["x"] + box["width"] * 0.10, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.40, y, steps=12)
    page.mouse.up()
    page.locator("label[for='tool-eraser']").click()
    page.mouse.move(box["x"] + box["width"] * 0.36, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, y, steps=4)
    page.mouse.up()
    page.locator("#mask-apply").click()
    repair = card.locator(".card-repair")
    expect(repair.locator(".compare")).to_be_visible(timeout=60_000)
    expect(dialog).to_be_hidden()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card-repair .compare img')].every(i => i.complete && i.naturalWidth > 0)")

    db = open_database(settings.resolved_database_url)
    blobs = BlobStore(Path(settings.data_dir) / "blobs")
    try:
        first_id = page.evaluate("() => window.productStudio.state.photos[0].repairResult.id")
        result = get_result(db, first_id)
        assert result.kind == "repair" and result.status == "done"
        mask = np.asarray(Image.open(blobs.folder(first_id) / "mask.png").convert("RGBA"))
        assert mask.shape[:2] == (h, w)
        fill = mask[..., 3] > 0
        assert (mask[fill][:, :3] == 255).all() and (mask[~fill][:, :3] == 0).all()  # white = fill, black elsewhere
        row = round(h * 0.25)
        scale = w / box["width"]  # photo pixels per screen pixel
        stroke = 30 * scale       # the brush's diameter, in photo pixels
        painted = np.flatnonzero(fill[row])
        slack = 3 * scale
        # From where the brush went down (less its round cap) to where the eraser's round cap began.
        assert abs(painted.min() - (0.10 * w - stroke / 2)) <= slack, (painted.min(), 0.10 * w, stroke)
        assert abs(painted.max() - (0.36 * w - stroke / 2)) <= slack, (painted.max(), 0.36 * w, stroke)
        assert not fill[: int(row - stroke), :].any() and not fill[int(row + stroke):, :].any()
        repaired = load_image(Path(result.output_path).read_bytes(), name="repaired").pixels
        assert repaired.shape == original.shape
        changed = np.any(repaired != original, axis=-1)
        assert changed[fill].mean() > 0.5          # the painted sky was filled in ...
        assert not changed[~fill].any()            # ... and nothing else moved

        # Again, with a prepared mask file: a rectangle; the server must receive exactly it.
        prepared = np.zeros((h, w), np.uint8)
        prepared[h // 10: h // 5, w // 2: w // 2 + w // 8] = 255
        mask_file = tmp_path / "prepared-mask.png"
        Image.fromarray(prepared, "L").save(mask_file)
        repair.get_by_role("button", name="Paint again").click()
        expect(dialog).to_be_visible()
        page.locator("#mask-clear").click()
        page.set_input_files("#mask-file", str(mask_file))
        expect(page.locator("#mask-status")).to_contain_text("Mask loaded")
        page.locator("#mask-apply").click()
        expect(dialog).to_be_hidden(timeout=60_000)
        page.wait_for_function(f"() => window.productStudio.state.photos[0].repairResult.id !== {json.dumps(first_id)}")
        second_id = page.evaluate("() => window.productStudio.state.photos[0].repairResult.id")
        sent = np.asarray(Image.open(blobs.folder(second_id) / "mask.png").convert("RGBA"))
        assert np.array_equal(sent[..., 3] > 0, prepared > 0)
    finally:
        db.dispose()

    # The repair is rated like any result.
    repair.locator(".feedback .btn-reject").click()
    expect(repair.locator(".feedback-status")).to_contain_text("Recorded: rejected")
    assert page.page_errors == []
    assert page.console_errors == []
    assert page.outside_requests == []


def test_docs_and_redoc_render_offline(page, live):
    """Swagger UI and ReDoc render the API's operations with every request outside the server refused
    (the page fixture aborts them and records them): their assets come from the package."""
    from playwright.sync_api import expect

    page.goto(live.url + "/docs")
    expect(page.locator(".opblock-summary-path[data-path='/v1/process']").first).to_be_visible()
    assert page.locator(".opblock").count() >= 17
    page.goto(live.url + "/redoc")
    expect(page.locator("h2", has_text="Process one uploaded image with a preset's recipe or your own").first).to_be_visible()
    page.get_by_role("link", name="API docs by Redocly").wait_for()  # its logo comes from a CDN: blocked by the page's CSP
    page.wait_for_timeout(500)
    assert page.page_errors == []
    assert page.outside_requests == []
    blocked = [e for e in page.console_errors if "Content Security Policy" in e]
    assert all("cdn.redoc.ly" in e for e in blocked), blocked  # the only thing the policy had to stop
