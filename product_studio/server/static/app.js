/* Product Studio web page: plain JavaScript, no build step, no third-party code.
 *
 * Talks to the /v1 API of the server that serves it:
 *   GET  /v1/health, /v1/presets             server state and the presets menu
 *   POST /v1/process (file, preset)          one request per photo, PARALLEL at a time
 *   GET  /v1/results/{id}/input|output       images, fetched with the API key and shown as blob: URLs
 *                                            (input only when the server keeps uploads: keep_inputs)
 *   POST /v1/repair (file, mask, method)     the mask editor
 *   POST /v1/feedback {result_id, verdict, comment}
 *   /openapi.json (or GET /v1/ops)           which optional sections exist (repair, generate)
 *
 * Building blocks, each usable on its own: createCompare() (before/after slider),
 * renderCompliance(), createFeedback(), MaskEditor (brush, eraser, undo, load a pre-filled mask).
 */
"use strict";

(() => {
  const PARALLEL = 3;                 // photos processed at the same time
  const KEY_STORAGE = "product-studio.api-key";
  const PRESET_STORAGE = "product-studio.preset";

  // ------------------------------------------------------------------------------------------
  // Small helpers

  /** Create an element: el("div", {class: "x", onclick: fn}, child, "text", ...). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "style") node.style.cssText = value;
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  let uidCounter = 0;
  const uid = (prefix) => `${prefix}-${++uidCounter}`;

  const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

  function formatBytes(n) {
    if (typeof n !== "number" || !isFinite(n)) return "";
    if (n < 1000) return `${n} B`;
    if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)} kB`;
    return `${(n / 1e6).toFixed(1)} MB`;
  }

  function formatValue(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "number") return numberFormat.format(value);
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (Array.isArray(value)) return value.map(formatValue).join(", ");
    if (typeof value === "object") {
      return Object.entries(value).map(([k, v]) => `${k}: ${formatValue(v)}`).join(", ");
    }
    return String(value);
  }

  function stem(filename) {
    const base = String(filename || "image").split(/[\\/]/).pop();
    const dot = base.lastIndexOf(".");
    return (dot > 0 ? base.slice(0, dot) : base).replace(/[^\w.-]+/g, "_") || "image";
  }

  function extensionFor(format) {
    const f = String(format || "").toLowerCase();
    return { jpeg: "jpg", jpg: "jpg", png: "png", webp: "webp", tiff: "tif", gif: "gif" }[f] || f || "jpg";
  }

  /** Load an image URL into an <img>; resolves when it decoded (naturalWidth > 0). */
  function loadImg(img, src) {
    return new Promise((resolve, reject) => {
      img.addEventListener("load", () => resolve(img), { once: true });
      img.addEventListener("error", () => reject(new Error("the browser could not show this image")), { once: true });
      img.src = src;
    });
  }

  // ------------------------------------------------------------------------------------------
  // The API

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  const api = {
    key: localStorage.getItem(KEY_STORAGE) || "",

    headers(extra) {
      const headers = Object.assign({}, extra);
      if (this.key) headers["X-API-Key"] = this.key;
      return headers;
    },

    /** The human message in an error answer: FastAPI's {detail}, or {error: {message}}, or text. */
    messageOf(status, body, text) {
      let message = "";
      if (body && typeof body === "object") {
        const d = body.detail !== undefined ? body.detail : body.error !== undefined ? body.error : body.message;
        if (typeof d === "string") message = d;
        else if (Array.isArray(d)) message = d.map((x) => (x && (x.msg || x.message)) || formatValue(x)).join("; ");
        else if (d && typeof d === "object") message = d.message || d.detail || formatValue(d);
      }
      if (!message) message = (text || "").trim().slice(0, 300);
      if (status === 401 || status === 403) {
        message = `${message || "not allowed"} — enter the server's API key (top right)`;
      } else if (status === 429) {
        message = `${message || "the server is busy"} — try again in a moment`;
      } else if (status === 413) {
        message = message || "the file is larger than this server accepts";
      } else if (!message) {
        message = `the server answered ${status}`;
      }
      return message;
    },

    /**
     * One request with XMLHttpRequest (it reports upload progress, fetch does not).
     * body: FormData or a plain object (sent as JSON). Resolves to the parsed JSON (or a Blob).
     */
    request(method, url, { body, onUploadProgress, responseType = "json" } = {}) {
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open(method, url);
        for (const [k, v] of Object.entries(this.headers())) xhr.setRequestHeader(k, v);
        xhr.responseType = responseType === "blob" ? "blob" : "text";
        let payload = body;
        if (body && !(body instanceof FormData) && !(body instanceof Blob)) {
          xhr.setRequestHeader("Content-Type", "application/json");
          payload = JSON.stringify(body);
        }
        if (onUploadProgress && xhr.upload) {
          xhr.upload.addEventListener("progress", (e) => {
            if (e.lengthComputable) onUploadProgress(e.loaded / e.total);
          });
          xhr.upload.addEventListener("load", () => onUploadProgress(1));
        }
        xhr.addEventListener("error", () => reject(new ApiError("cannot reach the server — is it running?", 0)));
        xhr.addEventListener("timeout", () => reject(new ApiError("the server took too long to answer", 0)));
        xhr.addEventListener("load", async () => {
          const ok = xhr.status >= 200 && xhr.status < 300;
          if (ok && responseType === "blob") return resolve(xhr.response);
          let text = "";
          if (responseType === "blob") text = xhr.response ? await xhr.response.text() : "";
          else text = xhr.responseText || "";
          let parsed = null;
          try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
          if (ok) resolve(parsed !== null ? parsed : text);
          else reject(new ApiError(this.messageOf(xhr.status, parsed, text), xhr.status));
        });
        xhr.send(payload === undefined ? null : payload);
      });
    },

    get(url) { return this.request("GET", url); },
    post(url, body, options) { return this.request("POST", url, Object.assign({ body }, options)); },

    /** An image from the API as a blob: URL (so the API key travels with it). */
    async imageUrl(url) {
      const blob = await this.request("GET", url, { responseType: "blob" });
      return { blob, url: URL.createObjectURL(blob) };
    },
  };

  // ------------------------------------------------------------------------------------------
  // Before/after comparison slider

  /**
   * A before/after comparison: both images overlaid in one frame, the "before" clipped to the
   * left of a divider that follows the pointer (drag or click anywhere) and the keyboard
   * (arrows, Shift+arrows, Page Up/Down, Home, End).
   * Returns {root, setPosition(percent), position()}.
   */
  function createCompare({ beforeSrc, afterSrc, beforeAlt, afterAlt, width, height, label }) {
    const before = el("img", { class: "compare-before", alt: beforeAlt, draggable: "false", decoding: "async" });
    const after = el("img", { class: "compare-after", alt: afterAlt, draggable: "false", decoding: "async" });
    const divider = el("div", {
      class: "compare-divider", role: "slider", tabindex: "0",
      "aria-label": label || "Before and after divider",
      "aria-valuemin": "0", "aria-valuemax": "100", "aria-orientation": "horizontal",
    }, el("span", { class: "compare-handle", "aria-hidden": "true" }));
    const root = el("div", { class: "compare" },
      after,
      el("div", { class: "compare-before-clip" }, before),
      el("span", { class: "compare-tag compare-tag-before", "aria-hidden": "true" }, "Before"),
      el("span", { class: "compare-tag compare-tag-after", "aria-hidden": "true" }, "After"),
      divider);
    if (width && height) {
      root.style.aspectRatio = `${width} / ${height}`;
      root.style.setProperty("--ratio", String(width / height));
    }

    let position = 50;
    function setPosition(percent) {
      position = Math.max(0, Math.min(100, percent));
      const rounded = Math.round(position);
      root.style.setProperty("--pos", `${position}%`);
      divider.setAttribute("aria-valuenow", String(rounded));
      divider.setAttribute("aria-valuetext", `${rounded}% before, ${100 - rounded}% after`);
    }
    function fromPointer(event) {
      const rect = root.getBoundingClientRect();
      if (rect.width > 0) setPosition(((event.clientX - rect.left) / rect.width) * 100);
    }
    let dragging = null;
    root.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      dragging = event.pointerId;
      root.setPointerCapture(event.pointerId);
      root.classList.add("is-dragging");
      fromPointer(event);
      divider.focus({ preventScroll: true });
      event.preventDefault();
    });
    root.addEventListener("pointermove", (event) => {
      if (dragging === event.pointerId) fromPointer(event);
    });
    const stop = (event) => {
      if (dragging !== event.pointerId) return;
      dragging = null;
      root.classList.remove("is-dragging");
    };
    root.addEventListener("pointerup", stop);
    root.addEventListener("pointercancel", stop);
    divider.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 10 : 2;
      const moves = {
        ArrowLeft: position - step, ArrowDown: position - step, ArrowRight: position + step, ArrowUp: position + step,
        PageDown: position - 10, PageUp: position + 10, Home: 0, End: 100,
      };
      if (event.key in moves) {
        setPosition(moves[event.key]);
        event.preventDefault();
      }
    });
    setPosition(50);
    const ready = Promise.all([loadImg(before, beforeSrc), loadImg(after, afterSrc)]);
    return { root, ready, setPosition, position: () => position };
  }

  // ------------------------------------------------------------------------------------------
  // Compliance, rule by rule

  const STATUS_LABEL = { pass: "Pass", fail: "Fail", advice: "Advice", review: "Review" };
  const STATUS_ORDER = { fail: 0, advice: 1, pass: 2, review: 3 };

  function ruleStatus(rule) {
    if (rule.passed === true) return "pass";
    if (rule.passed === false) return rule.severity === "required" ? "fail" : "advice";
    return "review";   // not measured here: a person has to look
  }

  /** Every rule's details.boxes ([x0, y0, x1, y1] in the checked image's pixels), with its rule and status. */
  function ruleBoxes(compliance) {
    const found = [];
    for (const rule of (compliance && Array.isArray(compliance.rules) ? compliance.rules : [])) {
      const boxes = rule.details && Array.isArray(rule.details.boxes) ? rule.details.boxes : [];
      for (const box of boxes) {
        if (Array.isArray(box) && box.length === 4 && box.every((v) => Number.isFinite(v))) {
          found.push({ rule: rule.name, status: ruleStatus(rule), box });
        }
      }
    }
    return found;
  }

  /** The checked image with the rules' boxes drawn over it (an SVG in the image's own pixel space). */
  function renderBoxes(compliance, image) {
    const found = ruleBoxes(compliance);
    if (!found.length || !image || !image.url) return null;
    const width = image.width || (compliance && compliance.width);
    const height = image.height || (compliance && compliance.height);
    if (!width || !height) return null;
    const SVG = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("class", "found-boxes");
    for (const { rule, status, box } of found) {
      const rect = document.createElementNS(SVG, "rect");
      const [x0, y0, x1, y1] = box;
      rect.setAttribute("x", x0); rect.setAttribute("y", y0);
      rect.setAttribute("width", Math.max(1, x1 - x0)); rect.setAttribute("height", Math.max(1, y1 - y0));
      rect.setAttribute("class", `found-box found-${status}`);
      const tip = document.createElementNS(SVG, "title");
      tip.textContent = rule;
      rect.append(tip);
      svg.append(rect);
    }
    const names = [...new Set(found.map((f) => f.rule))].join(", ");
    return el("figure", { class: "found" },
      el("div", { class: "found-frame" }, el("img", { src: image.url, alt: `Where the rules found something: ${names}` }), svg),
      el("figcaption", {}, `Found: ${names}`));
  }

  function renderCompliance(compliance, { title = "Compliance", image = null } = {}) {
    const rules = (compliance && Array.isArray(compliance.rules) ? compliance.rules : [])
      .map((rule, index) => ({ rule, index, status: ruleStatus(rule) }))
      .sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.index - b.index);
    const count = (status) => rules.filter((r) => r.status === status).length;
    const required = rules.filter((r) => r.rule.severity === "required" && r.rule.passed !== null);
    const passed = compliance && typeof compliance.passed === "boolean"
      ? compliance.passed : count("fail") === 0;

    const summaryBits = [`${required.length - count("fail")} of ${required.length} required rules met`];
    if (count("advice")) summaryBits.push(`${count("advice")} advice`);
    if (count("review")) summaryBits.push(`${count("review")} to check by eye`);

    const verdict = el("div", { class: `verdict verdict-${passed ? "pass" : "fail"}` },
      el("span", { class: "verdict-word" }, passed ? "PASS" : "FAIL"),
      el("span", { class: "verdict-text" },
        el("strong", {}, compliance && compliance.preset ? compliance.preset : ""),
        el("span", {}, summaryBits.join(" · "))));

    const row = ({ rule, status }) => {
      const message = rule.message && rule.message !== "ok" ? rule.message : "";
      const measured = status === "review" ? null : el("span", { class: "rule-values" },
        el("span", {}, "measured ", el("b", {}, formatValue(rule.measured))),
        rule.expected ? el("span", {}, "expected ", el("b", {}, rule.expected)) : null);
      return el("li", { class: `rule rule-${status}` },
        el("span", { class: `chip chip-${status}` }, STATUS_LABEL[status]),
        el("div", { class: "rule-body" },
          el("span", { class: "rule-name" }, rule.name),
          measured,
          status === "review" && rule.expected ? el("span", { class: "rule-values" }, rule.expected) : null,
          message && status !== "review" ? el("span", { class: "rule-message" }, message) : null));
    };

    const measured = rules.filter((r) => r.status !== "review");
    const review = rules.filter((r) => r.status === "review");
    const section = el("section", { class: "compliance", "aria-label": title },
      verdict,
      renderBoxes(compliance, image),
      el("ul", { class: "rules" }, measured.map(row)));
    if (review.length) {
      section.append(el("details", { class: "review" },
        el("summary", {}, `${review.length} rules to check by eye (not measured on pixels)`),
        el("ul", { class: "rules" }, review.map(row))));
    }
    return section;
  }

  // ------------------------------------------------------------------------------------------
  // Feedback: accept / reject with a comment

  function createFeedback(resultId, { label = "Rate this result" } = {}) {
    const commentId = uid("comment");
    const comment = el("textarea", { id: commentId, rows: "2", maxlength: "2000",
      placeholder: "What is right or wrong with it? (optional)" });
    const status = el("p", { class: "feedback-status", role: "status", "aria-live": "polite" });
    const accept = el("button", { type: "button", class: "btn btn-accept", "aria-pressed": "false" },
      el("span", { "aria-hidden": "true" }, "✓ "), "Accept");
    const reject = el("button", { type: "button", class: "btn btn-reject", "aria-pressed": "false" },
      el("span", { "aria-hidden": "true" }, "✕ "), "Reject");

    async function send(verdict) {
      accept.disabled = reject.disabled = true;
      status.className = "feedback-status";
      status.textContent = "Sending…";
      try {
        const answer = await api.post("/v1/feedback", {
          result_id: resultId, verdict, comment: comment.value.trim(),
        });
        accept.setAttribute("aria-pressed", String(verdict === "accept"));
        reject.setAttribute("aria-pressed", String(verdict === "reject"));
        const ref = answer && answer.id !== undefined ? ` (#${answer.id})` : "";
        const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        status.className = "feedback-status is-recorded";
        status.textContent = `Recorded: ${verdict === "accept" ? "accepted" : "rejected"}${ref} at ${time}. Thank you.`;
      } catch (error) {
        status.className = "feedback-status is-error";
        status.textContent = `Not recorded: ${error.message}`;
      } finally {
        accept.disabled = reject.disabled = false;
      }
    }
    accept.addEventListener("click", () => send("accept"));
    reject.addEventListener("click", () => send("reject"));

    return el("fieldset", { class: "feedback" },
      el("legend", {}, label),
      el("label", { for: commentId, class: "visually-hidden" }, "Comment"),
      comment,
      el("div", { class: "feedback-buttons" }, accept, reject),
      status);
  }

  // ------------------------------------------------------------------------------------------
  // Mask editor: paint the area to repair over a photo

  const PAINT = "rgb(255, 45, 85)";
  const UNDO_DEPTH = 10;

  class MaskEditor {
    constructor() {
      this.dialog = document.getElementById("mask-dialog");
      this.stage = document.getElementById("mask-stage");
      this.image = document.getElementById("mask-image");
      this.canvas = document.getElementById("mask-canvas");
      this.cursor = document.getElementById("brush-cursor");
      this.size = document.getElementById("brush-size");
      this.sizeOut = document.getElementById("brush-size-out");
      this.undoButton = document.getElementById("mask-undo");
      this.status = document.getElementById("mask-status");
      this.apply = document.getElementById("mask-apply");
      this.method = document.getElementById("repair-method");
      this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
      this.undoStack = [];
      this.busy = false;
      this.wire();
    }

    get tool() {
      return document.querySelector('input[name="mask-tool"]:checked').value;
    }

    wire() {
      this.dialog.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => this.close()));
      this.dialog.addEventListener("cancel", (e) => { if (this.busy) e.preventDefault(); });
      this.size.addEventListener("input", () => this.showSize());
      document.getElementById("mask-clear").addEventListener("click", () => {
        this.snapshot();
        this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
      });
      this.undoButton.addEventListener("click", () => this.undo());
      document.getElementById("mask-file").addEventListener("change", async (event) => {
        const file = event.target.files[0];
        event.target.value = "";
        if (!file) return;
        const url = URL.createObjectURL(file);
        try {
          await this.loadMask(url);
          this.say("Mask loaded: white = area to fill.");
        } catch (error) {
          this.say(`Could not load that mask: ${error.message}`, true);
        } finally {
          URL.revokeObjectURL(url);
        }
      });
      this.apply.addEventListener("click", () => this.submit());
      this.dialog.addEventListener("keydown", (event) => {
        if (event.target.matches("input[type=text], textarea, select")) return;
        if (event.key === "[" || event.key === "]") {
          this.size.value = Number(this.size.value) + (event.key === "]" ? 4 : -4);
          this.showSize();
        } else if (event.key === "e" || event.key === "E") {
          document.getElementById("tool-eraser").checked = true;
        } else if (event.key === "b" || event.key === "B") {
          document.getElementById("tool-brush").checked = true;
        } else if (event.key === "z" && (event.ctrlKey || event.metaKey)) {
          this.undo();
          event.preventDefault();
        }
      });

      let last = null;
      const point = (event) => {
        const rect = this.canvas.getBoundingClientRect();
        const scale = this.canvas.width / rect.width;
        return { x: (event.clientX - rect.left) * scale, y: (event.clientY - rect.top) * scale, scale };
      };
      const stroke = (from, to) => {
        const ctx = this.ctx;
        ctx.globalCompositeOperation = this.tool === "eraser" ? "destination-out" : "source-over";
        ctx.strokeStyle = ctx.fillStyle = PAINT;
        ctx.lineCap = ctx.lineJoin = "round";
        ctx.lineWidth = Number(this.size.value) * to.scale;
        ctx.beginPath();
        if (from) {
          ctx.moveTo(from.x, from.y);
          ctx.lineTo(to.x, to.y);
          ctx.stroke();
        } else {
          ctx.arc(to.x, to.y, ctx.lineWidth / 2, 0, Math.PI * 2);
          ctx.fill();
        }
      };
      this.canvas.addEventListener("pointerdown", (event) => {
        if (event.button !== 0 || this.busy) return;
        this.canvas.setPointerCapture(event.pointerId);
        this.snapshot();
        last = point(event);
        stroke(null, last);
        event.preventDefault();
      });
      this.canvas.addEventListener("pointermove", (event) => {
        this.moveCursor(event);
        if (!last) return;
        const next = point(event);
        stroke(last, next);
        last = next;
      });
      const end = () => { last = null; };
      this.canvas.addEventListener("pointerup", end);
      this.canvas.addEventListener("pointercancel", end);
      this.canvas.addEventListener("pointerleave", () => { this.cursor.hidden = true; });

    }

    showSize() {
      this.sizeOut.textContent = `${this.size.value} px`;
    }

    moveCursor(event) {
      const rect = this.stage.getBoundingClientRect();
      const d = Number(this.size.value);
      this.cursor.hidden = false;
      this.cursor.style.width = this.cursor.style.height = `${d}px`;
      this.cursor.style.transform =
        `translate(${event.clientX - rect.left - d / 2}px, ${event.clientY - rect.top - d / 2}px)`;
    }

    snapshot() {
      if (!this.canvas.width) return;
      this.undoStack.push(this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height));
      if (this.undoStack.length > UNDO_DEPTH) this.undoStack.shift();
      this.undoButton.disabled = false;
    }

    undo() {
      const previous = this.undoStack.pop();
      if (previous) this.ctx.putImageData(previous, 0, 0);
      this.undoButton.disabled = this.undoStack.length === 0;
    }

    say(message, isError = false) {
      this.status.textContent = message;
      this.status.classList.toggle("is-error", isError);
    }

    /**
     * Open the editor over an image.
     * source: {url (shown), blob + name (sent to /v1/repair), maskUrl (optional pre-filled mask),
     *          onResult(answer, maskBlob) called with the /v1/repair answer}.
     */
    async open(source) {
      this.source = source;
      this.undoStack = [];
      this.undoButton.disabled = true;
      this.say("");
      this.showSize();
      this.cursor.hidden = true;
      this.image.alt = `Photo to repair: ${source.name}`;
      await loadImg(this.image, source.url);
      const w = this.image.naturalWidth;
      const h = this.image.naturalHeight;
      this.canvas.width = w;
      this.canvas.height = h;
      this.stage.style.aspectRatio = `${w} / ${h}`;
      this.stage.style.setProperty("--ratio", String(w / h));
      this.ctx.clearRect(0, 0, w, h);
      if (source.maskUrl) {
        try {
          await this.loadMask(source.maskUrl);
          this.say("A suggested mask is loaded; adjust it with the brush and eraser.");
        } catch (error) {
          this.say(`The suggested mask could not be loaded: ${error.message}`, true);
        }
      }
      if (!this.dialog.open) this.dialog.showModal();
    }

    close() {
      if (this.busy) return;
      if (this.dialog.open) this.dialog.close();
    }

    /** Paint a mask image (white or opaque = fill) onto the canvas, scaled to the photo. */
    async loadMask(url) {
      const img = await loadImg(new Image(), url);
      const w = this.canvas.width;
      const h = this.canvas.height;
      const scratch = el("canvas", { width: w, height: h });
      const sctx = scratch.getContext("2d", { willReadFrequently: true });
      sctx.imageSmoothingEnabled = false;
      sctx.drawImage(img, 0, 0, w, h);
      const data = sctx.getImageData(0, 0, w, h);
      const px = data.data;
      // A mask with any transparency says "fill" with its alpha; an opaque one with its lightness.
      let hasAlpha = false;
      for (let i = 3; i < px.length; i += 4) if (px[i] < 255) { hasAlpha = true; break; }
      for (let i = 0; i < px.length; i += 4) {
        const fill = hasAlpha ? px[i + 3] : (px[i] + px[i + 1] + px[i + 2]) / 3;
        px[i] = 255; px[i + 1] = 45; px[i + 2] = 85;
        px[i + 3] = fill >= 128 ? 255 : 0;
      }
      this.snapshot();
      this.ctx.putImageData(data, 0, 0);
    }

    /**
     * The mask as a PNG at the photo's size: painted pixels opaque white, the rest transparent
     * black, so "alpha = fill" and "white = fill" read the same. Null when nothing is painted.
     */
    async maskBlob() {
      const w = this.canvas.width;
      const h = this.canvas.height;
      const data = this.ctx.getImageData(0, 0, w, h);
      const px = data.data;
      let painted = 0;
      for (let i = 0; i < px.length; i += 4) {
        const on = px[i + 3] >= 128;
        painted += on;
        px[i] = px[i + 1] = px[i + 2] = px[i + 3] = on ? 255 : 0;
      }
      if (!painted) return null;
      const out = el("canvas", { width: w, height: h });
      out.getContext("2d").putImageData(data, 0, 0);
      return new Promise((resolve) => out.toBlob(resolve, "image/png"));
    }

    async submit() {
      if (this.busy) return;
      const mask = await this.maskBlob();
      if (!mask) {
        this.say("Paint the area to repair first.", true);
        return;
      }
      const form = new FormData();
      form.append("file", this.source.blob, this.source.name);
      form.append("mask", mask, "mask.png");
      form.append("method", this.method.value);
      form.append("dilate", String(Math.max(0, Math.min(100, Number(document.getElementById("repair-grow").value) || 0))));
      this.busy = true;
      this.apply.disabled = true;
      this.dialog.classList.add("is-busy");
      this.say("Repairing…");
      try {
        const answer = await api.post("/v1/repair", form);
        this.busy = false;
        this.close();
        await this.source.onResult(answer, mask);
      } catch (error) {
        this.say(`Repair failed: ${error.message}`, true);
      } finally {
        this.busy = false;
        this.apply.disabled = false;
        this.dialog.classList.remove("is-busy");
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // One card per photo

  const state = {
    presets: [],
    capabilities: { repair: true, generate: false, generateInfo: null },
    photos: [],
  };
  let maskEditor = null;

  class PhotoCard {
    constructor(file) {
      this.file = file;
      this.id = uid("photo");
      this.status = "queued";     // queued | running | done | error
      this.preset = null;         // the preset of the last finished run
      this.urls = [];             // blob: URLs to revoke when the card goes
      this.build();
    }

    build() {
      const titleId = `${this.id}-title`;
      this.badge = el("span", { class: "badge" });
      this.progress = el("progress", { max: "100", value: "0", "aria-label": `Progress of ${this.file.name}` });
      this.statusBox = el("div", { class: "card-status", role: "status", "aria-live": "polite" },
        this.badge, this.progress);
      this.meta = el("p", { class: "card-meta" }, `${formatBytes(this.file.size)} · waiting`);
      this.error = el("p", { class: "card-error", role: "alert", hidden: true });
      this.viewer = el("div", { class: "card-viewer" });
      this.side = el("div", { class: "card-side" });
      this.repair = el("section", { class: "card-repair", hidden: true, "aria-label": `Repair of ${this.file.name}` });
      const remove = el("button", { type: "button", class: "btn-icon", "aria-label": `Remove ${this.file.name}`,
        onclick: () => removePhoto(this) }, "×");
      this.root = el("li", { class: "card", id: this.id, "aria-labelledby": titleId, dataset: { state: "queued" } },
        el("header", { class: "card-head" },
          el("div", { class: "card-title" },
            el("h3", { id: titleId, title: this.file.name }, this.file.name),
            this.meta),
          this.statusBox,
          remove),
        this.error,
        el("div", { class: "card-body" }, this.viewer, this.side),
        this.repair);
      this.showPreview();
      this.setStatus("queued");
    }

    track(url) {
      this.urls.push(url);
      return url;
    }

    dispose() {
      this.urls.forEach((u) => URL.revokeObjectURL(u));
      this.urls = [];
    }

    /** Until it is processed: the photo as the browser sees it (or a placeholder). */
    showPreview() {
      const url = this.track(URL.createObjectURL(this.file));
      const placeholder = el("div", { class: "preview-placeholder" }, "No preview");
      const img = el("img", { class: "preview", alt: `Original photo: ${this.file.name}`, decoding: "async" });
      img.addEventListener("error", () => img.replaceWith(placeholder), { once: true });
      img.src = url;
      this.viewer.replaceChildren(el("div", { class: "preview-frame" }, img));
    }

    setStatus(status, detail) {
      this.status = status;
      this.root.dataset.state = status;
      const label = { queued: "Waiting", running: "Processing", done: "Done", error: "Failed" }[status];
      this.badge.textContent = detail || label;
      this.badge.className = `badge badge-${status}`;
      this.progress.hidden = status !== "running";
    }

    setProgress(fraction, text) {
      this.progress.value = Math.round(fraction * 100);
      this.badge.textContent = text;
    }

    showError(message) {
      this.error.hidden = false;
      this.error.textContent = message;
    }

    async process(preset) {
      this.error.hidden = true;
      this.setStatus("running", "Uploading 0%");
      this.setProgress(0, "Uploading 0%");
      const started = performance.now();
      const form = new FormData();
      form.append("file", this.file, this.file.name);
      form.append("preset", preset);
      let answer;
      try {
        answer = await api.post("/v1/process", form, {
          onUploadProgress: (f) => {
            if (f < 1) this.setProgress(f * 0.4, `Uploading ${Math.round(f * 100)}%`);
            else this.setProgress(0.5, "Processing…");
          },
        });
        this.setProgress(0.85, "Loading images…");
        await this.showResult(answer, preset, (performance.now() - started) / 1000);
      } catch (error) {
        this.setStatus("error");
        this.showError(error.message);
        this.meta.textContent = `${formatBytes(this.file.size)} · not processed`;
        return;
      }
      this.preset = preset;
      this.setStatus("done", answer.compliance && answer.compliance.passed === false ? "Done · needs work" : "Done");
    }

    async showResult(answer, preset, elapsed) {
      this.result = answer;
      // The server keeps uploads only when its keep_inputs setting asks for it (input.url is null
      // otherwise): the "before" is then the file this page still holds.
      const [input, output] = await Promise.all([
        answer.input && answer.input.url
          ? api.imageUrl(answer.input.url)
          : Promise.resolve({ blob: this.file, url: URL.createObjectURL(this.file) }),
        api.imageUrl(answer.output.url),
      ]);
      this.track(input.url);
      this.track(output.url);
      this.inputImage = input;
      const compare = createCompare({
        beforeSrc: input.url, afterSrc: output.url,
        beforeAlt: `Before: ${this.file.name} as uploaded`,
        afterAlt: `After: ${this.file.name} processed for ${preset}`,
        width: answer.output.width, height: answer.output.height,
        label: `Before and after divider for ${this.file.name}`,
      });
      await compare.ready;
      this.viewer.replaceChildren(compare.root);

      const out = answer.output;
      const seconds = typeof answer.seconds === "number" ? answer.seconds : elapsed;
      this.meta.textContent = [
        `${answer.input.width}×${answer.input.height} → ${out.width}×${out.height}`,
        out.format ? String(out.format).toUpperCase() : "",
        formatBytes(out.bytes),
        `${seconds.toFixed(1)} s`,
      ].filter(Boolean).join(" · ");

      const filename = `${stem(this.file.name)}-${preset}.${extensionFor(out.format)}`;
      const download = el("a", { class: "btn btn-primary", href: output.url, download: filename },
        el("span", { "aria-hidden": "true" }, "↓ "), "Download");
      const actions = el("div", { class: "card-actions" }, download);
      if (state.capabilities.repair) {
        actions.append(el("button", { type: "button", class: "btn", onclick: () => this.editMask() },
          "Edit mask & repair"));
      }
      const steps = Array.isArray(answer.steps) && answer.steps.length
        ? el("details", { class: "steps" },
          el("summary", {}, `${answer.steps.length} steps`),
          el("ol", {}, answer.steps.map((s) => el("li", {}, describeStep(s)))))
        : null;
      this.side.replaceChildren(
        renderCompliance(answer.compliance, {
          title: `Compliance of ${this.file.name}`,
          image: { url: output.url, width: out.width, height: out.height },
        }),
        actions,
        createFeedback(answer.id, { label: "Rate this result" }),
        steps);
    }

    /** Open the mask editor on this photo's input (a pre-filled mask when the server gave one). */
    editMask() {
      const r = this.result || {};
      const maskUrl = (r.mask && r.mask.url) || (r.defect_mask && r.defect_mask.url) || null;
      const open = (maskBlobUrl) => maskEditor.open({
        url: this.inputImage.url, blob: this.file, name: this.file.name, maskUrl: maskBlobUrl,
        onResult: (answer) => this.showRepair(answer),
      });
      if (maskUrl) {
        api.imageUrl(maskUrl).then((m) => open(this.track(m.url)), () => open(null));
      } else {
        open(null);
      }
    }

    async showRepair(answer) {
      this.repairResult = answer;
      this.repair.hidden = false;
      this.repair.replaceChildren(el("p", { class: "hint" }, "Loading the repaired photo…"));
      try {
        const output = await api.imageUrl(answer.output.url);
        this.track(output.url);
        const compare = createCompare({
          beforeSrc: this.inputImage.url, afterSrc: output.url,
          beforeAlt: `Before repair: ${this.file.name}`, afterAlt: `After repair: ${this.file.name}`,
          width: answer.output.width, height: answer.output.height,
          label: `Before and after repair divider for ${this.file.name}`,
        });
        await compare.ready;
        const ext = extensionFor(answer.output.format || this.file.type.split("/")[1]);
        const download = el("a", { class: "btn btn-primary", href: output.url,
          download: `${stem(this.file.name)}-repaired.${ext}` }, el("span", { "aria-hidden": "true" }, "↓ "),
        "Download repaired");
        const again = el("button", { type: "button", class: "btn", onclick: () => this.editMask() }, "Paint again");
        this.repair.replaceChildren(
          el("h4", {}, "Repaired"),
          el("div", { class: "card-body" },
            el("div", { class: "card-viewer" }, compare.root),
            el("div", { class: "card-side" },
              el("p", { class: "hint" }, "The painted area was filled from its surroundings."),
              el("div", { class: "card-actions" }, download, again),
              createFeedback(answer.id, { label: "Rate this repair" }))));
        this.repair.scrollIntoView({ behavior: "smooth", block: "nearest" });
      } catch (error) {
        this.repair.replaceChildren(el("p", { class: "card-error", role: "alert" }, error.message));
      }
    }
  }

  function describeStep(step) {
    if (typeof step === "string") return step;
    if (!step || typeof step !== "object") return formatValue(step);
    const name = step.op || step.name || step.step || "step";
    const time = typeof step.seconds === "number" ? ` (${(step.seconds * 1000).toFixed(0)} ms)`
      : typeof step.ms === "number" ? ` (${step.ms.toFixed(0)} ms)` : "";
    return `${name}${time}`;
  }

  // ------------------------------------------------------------------------------------------
  // The page

  const $ = (id) => document.getElementById(id);

  function setServerStatus(kind, text) {
    const box = $("server-status");
    box.dataset.state = kind;
    box.querySelector(".text").textContent = text;
  }

  function showIntakeMessage(message) {
    const box = $("intake-message");
    box.hidden = !message;
    box.textContent = message || "";
  }

  function currentPreset() {
    return $("preset").value;
  }

  function pendingPhotos() {
    const preset = currentPreset();
    return state.photos.filter((p) => !p.scheduled && p.status !== "running" && (p.status !== "done" || p.preset !== preset));
  }

  function refreshButtons() {
    const pending = pendingPhotos().length;
    const ready = state.presets.length > 0;
    const button = $("process-btn");
    button.disabled = !pending || !ready;
    button.textContent = pending ? `Process ${pending} photo${pending === 1 ? "" : "s"}` : "Process";
    $("clear-btn").disabled = state.photos.length === 0;
    $("empty-state").hidden = state.photos.length > 0;
    $("results-title").hidden = state.photos.length === 0;
  }

  function addFiles(fileList) {
    const files = Array.from(fileList || []).filter((f) => f && f.size !== undefined);
    if (!files.length) return;
    showIntakeMessage("");
    const list = $("results");
    for (const file of files) {
      const card = new PhotoCard(file);
      state.photos.push(card);
      list.append(card.root);
    }
    refreshButtons();
  }

  function removePhoto(card) {
    if (card.status === "running") return;
    card.dispose();
    card.root.remove();
    state.photos = state.photos.filter((p) => p !== card);
    refreshButtons();
    $("file-input").focus();
  }

  async function processAll() {
    const preset = currentPreset();
    const queue = pendingPhotos();
    if (!queue.length) return;
    localStorage.setItem(PRESET_STORAGE, preset);
    queue.forEach((p) => { p.scheduled = true; p.setStatus("queued"); });
    refreshButtons();
    const worker = async () => {
      while (queue.length) {
        const card = queue.shift();
        card.scheduled = false;
        if (!state.photos.includes(card)) continue;
        card.scheduled = true;
        const promise = card.process(preset);
        refreshButtons();
        await promise;
        card.scheduled = false;
        refreshButtons();
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
    refreshButtons();
  }

  async function loadPresets() {
    const select = $("preset");
    try {
      const answer = await api.get("/v1/presets");
      const presets = Array.isArray(answer) ? answer : (answer && (answer.presets || answer.items)) || [];
      state.presets = presets.map((p) => (typeof p === "string" ? { name: p, title: p } : p));
      const remembered = localStorage.getItem(PRESET_STORAGE);
      select.replaceChildren(...state.presets.map((p) => el("option", { value: p.name }, p.title || p.name)));
      const names = state.presets.map((p) => p.name);
      const preferred = (state.presets.find((p) => p.default) || state.presets[0] || {}).name;
      select.value = names.includes(remembered) ? remembered : preferred;
      select.disabled = false;
      showPresetInfo();
      showIntakeMessage("");
    } catch (error) {
      state.presets = [];
      select.replaceChildren(el("option", {}, "No presets"));
      select.disabled = true;
      showIntakeMessage(`Could not load the marketplace presets: ${error.message}`);
      if (error.status === 401 || error.status === 403) $("key-panel").open = true;
    }
    refreshButtons();
  }

  function showPresetInfo() {
    const preset = state.presets.find((p) => p.name === currentPreset());
    const info = $("preset-info");
    if (!preset) { info.textContent = ""; return; }
    const bits = [];
    if (preset.marketplace) bits.push(preset.marketplace);
    if (preset.name !== preset.title) bits.push(preset.name);
    info.textContent = [bits.join(" · "), preset.description].filter(Boolean).join(" — ");
  }

  async function checkHealth() {
    try {
      const health = await api.get("/v1/health");
      const version = health && health.version ? ` · v${health.version}` : "";
      setServerStatus("ok", `Server ready${version}`);
    } catch (error) {
      setServerStatus("error", error.status ? `Server: ${error.message}` : "Server not reachable");
    }
  }

  /** Which optional sections to show: GET /v1/ops when the server has it, else the OpenAPI paths. */
  async function loadCapabilities() {
    let paths = {};
    try {
      const schema = await fetch("/openapi.json", { headers: api.headers() }).then((r) => (r.ok ? r.json() : {}));
      paths = (schema && schema.paths) || {};
    } catch {
      paths = {};
    }
    const has = (p) => Object.prototype.hasOwnProperty.call(paths, p);
    let names = null;
    for (const candidate of ["/v1/ops", "/v1/capabilities"]) {
      if (!has(candidate)) continue;
      try {
        const answer = await api.get(candidate);
        const list = Array.isArray(answer) ? answer : (answer && (answer.ops || answer.capabilities || answer.commands)) || [];
        names = new Map(list.map((x) => (typeof x === "string" ? [x, { name: x }] : [x.name, x])));
        break;
      } catch {
        names = null;
      }
    }
    const available = (name) => (names ? names.has(name) || has(`/v1/${name}`) : has(`/v1/${name}`));
    state.capabilities.repair = Object.keys(paths).length ? available("repair") : true;
    state.capabilities.generate = available("generate");
    state.capabilities.generateInfo = names && names.get("generate");
    setupGenerate();
  }

  // ------------------------------------------------------------------------------------------
  // Generate (only where the server has it)

  function setupGenerate() {
    const section = $("generate-section");
    section.hidden = !state.capabilities.generate;
    if (section.hidden) return;
    const info = state.capabilities.generateInfo || {};
    const categories = info.categories || info.classes || [];
    const select = $("generate-category");
    if (categories.length) {
      select.replaceChildren(...categories.map((c) => el("option", { value: c }, c)));
    } else {
      const input = el("input", { id: "generate-category", name: "category", type: "text", required: true,
        placeholder: "e.g. sneaker" });
      select.replaceWith(input);
    }
  }

  async function generate(event) {
    event.preventDefault();
    const status = $("generate-status");
    const grid = $("generate-grid");
    const form = new FormData();
    form.append("category", $("generate-category").value);
    form.append("count", $("generate-count").value);
    status.classList.remove("is-error");
    status.textContent = "Generating…";
    try {
      const answer = await api.post("/v1/generate", form);
      const items = Array.isArray(answer) ? answer
        : answer.images || answer.outputs || answer.results || (answer.output ? [answer.output] : []);
      const cells = await Promise.all(items.map(async (item, i) => {
        const url = typeof item === "string" ? item : item.url || (item.output && item.output.url);
        const image = await api.imageUrl(url);
        return el("figure", {}, el("img", { src: image.url, alt: `Generated ${$("generate-category").value} ${i + 1}` }),
          el("figcaption", {}, el("a", { href: image.url, download: `generated-${i + 1}.png` }, "Download")));
      }));
      grid.replaceChildren(...cells);
      status.textContent = `${cells.length} image${cells.length === 1 ? "" : "s"} generated.`;
    } catch (error) {
      status.classList.add("is-error");
      status.textContent = `Generation failed: ${error.message}`;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Wiring

  function wireDropzone() {
    const zone = $("dropzone");
    const input = $("file-input");
    input.addEventListener("change", () => {
      addFiles(input.files);
      input.value = "";
    });
    let depth = 0;
    zone.addEventListener("dragenter", (e) => { e.preventDefault(); depth += 1; zone.classList.add("is-over"); });
    zone.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) zone.classList.remove("is-over"); });
    zone.addEventListener("dragover", (e) => { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; });
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      depth = 0;
      zone.classList.remove("is-over");
      addFiles(e.dataTransfer.files);
    });
    // A photo dropped next to the drop zone must not make the browser navigate away to it.
    window.addEventListener("dragover", (e) => e.preventDefault());
    window.addEventListener("drop", (e) => {
      e.preventDefault();
      if (!zone.contains(e.target)) addFiles(e.dataTransfer.files);
    });
  }

  function wireKey() {
    const input = $("api-key");
    input.value = api.key;
    $("key-form").addEventListener("submit", (e) => {
      e.preventDefault();
      api.key = input.value.trim();
      if (api.key) localStorage.setItem(KEY_STORAGE, api.key);
      else localStorage.removeItem(KEY_STORAGE);
      $("key-panel").open = false;
      start();
    });
    $("key-forget").addEventListener("click", () => {
      api.key = "";
      input.value = "";
      localStorage.removeItem(KEY_STORAGE);
    });
  }

  function start() {
    checkHealth();
    loadPresets();
    loadCapabilities();
  }

  document.addEventListener("DOMContentLoaded", () => {
    maskEditor = new MaskEditor();
    wireDropzone();
    wireKey();
    $("preset").addEventListener("change", () => { showPresetInfo(); refreshButtons(); });
    $("process-btn").addEventListener("click", processAll);
    $("clear-btn").addEventListener("click", () => {
      state.photos.filter((p) => p.status !== "running").forEach(removePhoto);
    });
    $("generate-form").addEventListener("submit", generate);
    refreshButtons();
    start();
  });

  // For the browser test and for later features (e.g. loading an automatic defect mask).
  window.productStudio = { api, createCompare, renderCompliance, ruleBoxes, createFeedback, get maskEditor() { return maskEditor; }, state };
})();
