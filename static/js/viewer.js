// A dark ultrasound viewer, reusable: fit and 1:1, zoom (wheel, + -), pan (drag, arrow keys
// when zoomed), window/level (right-drag, [ ] { }), cine loops (Space, , .), a calliper (M)
// and a strip of the exam's other images (E, then a click or a digit; Esc returns).
//
//   const viewer = OvaViewer.create(rootElement, {onChange: fn});
//   viewer.load({id, width, height, pixel_spacing_mm, frames: [url...], exam_images: [...]});
//   document.addEventListener("keydown", e => { if (viewer.handleKey(e)) e.preventDefault(); });
//
// The root holds a `.viewer-stage` with an <img>; the viewer adds its overlay (calliper) and,
// when the root has a `.viewer-strip`, fills it with the exam's thumbnails. Image detail
// pages (a `frames` json_script and the #brightness/#contrast/#fit/#actual/#reset controls)
// are wired automatically at the end of this file.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const MIN_SCALE = 0.05, MAX_SCALE = 16;
  const cache = new Map();  // url -> HTMLImageElement, kept so preloads are not collected
  let filterCount = 0;

  function preload(image) {
    if (!image) return [];
    return (image.frames || []).map(function (url) {
      if (!cache.has(url)) {
        const element = new Image();
        element.decoding = "async";
        element.src = url;
        cache.set(url, element);
        if (cache.size > 400) cache.delete(cache.keys().next().value);
      }
      return cache.get(url);
    });
  }

  function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }

  function create(root, options) {
    options = options || {};
    const stage = root.querySelector(".viewer-stage");
    const img = stage.querySelector("img");
    const strip = root.querySelector(".viewer-strip");
    const onChange = options.onChange || function () {};
    const fitKeys = options.fitKeys || ["0"];
    const frameMs = options.frameMs || 80;

    // Window/level as an SVG linear transfer (out = in / W + 0.5 - L / W), so it is a true
    // window/level on greyscale and a brightness/contrast on colour (Doppler) images.
    const filterId = "ova-wl-" + (++filterCount);
    const defs = document.createElementNS(SVG, "svg");
    defs.setAttribute("width", "0"); defs.setAttribute("height", "0");
    defs.setAttribute("aria-hidden", "true");
    defs.style.position = "absolute";
    const filter = document.createElementNS(SVG, "filter");
    filter.id = filterId;
    filter.setAttribute("color-interpolation-filters", "sRGB");
    const transfer = document.createElementNS(SVG, "feComponentTransfer");
    const funcs = ["feFuncR", "feFuncG", "feFuncB"].map(function (name) {
      const func = document.createElementNS(SVG, name);
      func.setAttribute("type", "linear");
      transfer.appendChild(func);
      return func;
    });
    filter.appendChild(transfer); defs.appendChild(filter); root.appendChild(defs);

    const overlay = document.createElementNS(SVG, "svg");
    overlay.setAttribute("class", "viewer-overlay");
    Object.assign(overlay.style, { position: "absolute", inset: "0", width: "100%", height: "100%", pointerEvents: "none" });
    stage.appendChild(overlay);
    Object.assign(stage.style, { position: "relative", overflow: "hidden" });
    Object.assign(img.style, { position: "absolute", left: "0", top: "0", maxWidth: "none", maxHeight: "none", transformOrigin: "0 0" });
    img.draggable = false;

    const state = {
      image: null, main: null, peekIndex: null,
      scale: 1, x: 0, y: 0, mode: "fit",  // mode: fit | actual | free
      window: 1, level: 0.5,
      frame: 0, timer: null,
      calliper: false, points: [], hover: null,
    };

    function size() {
      const image = state.image || {};
      return [img.naturalWidth || image.width || 1, img.naturalHeight || image.height || 1];
    }
    function stageBox() { return stage.getBoundingClientRect(); }
    function fitScale() {
      const box = stageBox(), dims = size();
      return Math.min(box.width / dims[0], box.height / dims[1]) || 1;
    }
    function centre(scale) {
      const box = stageBox(), dims = size();
      state.scale = scale;
      state.x = (box.width - dims[0] * scale) / 2;
      state.y = (box.height - dims[1] * scale) / 2;
    }
    function info() {
      const image = state.image || {};
      return {
        image: image, main: state.main, peeking: state.peekIndex !== null, peekIndex: state.peekIndex,
        zoom: state.scale, mode: state.mode,
        window: Math.round(state.window * 255), level: Math.round(state.level * 255),
        frame: state.frame, frames: (image.frames || []).length, playing: !!state.timer,
        calliper: state.calliper, measurement: measurement(), stripOpen: stripOpen(),
      };
    }
    function apply() {
      img.style.width = size()[0] + "px";
      img.style.height = size()[1] + "px";
      img.style.transform = "translate(" + state.x + "px," + state.y + "px) scale(" + state.scale + ")";
      img.style.imageRendering = state.scale >= 3 ? "pixelated" : "auto";  // zoomed in: true pixels
      const slope = 1 / state.window, intercept = 0.5 - state.level / state.window;
      funcs.forEach(function (func) {
        func.setAttribute("slope", slope.toFixed(5));
        func.setAttribute("intercept", intercept.toFixed(5));
      });
      img.style.filter = state.window === 1 && state.level === 0.5 ? "none" : "url(#" + filterId + ")";
      drawOverlay();
      onChange(info());
    }
    function refit() {
      if (state.mode === "fit") centre(fitScale());
      else if (state.mode === "actual") centre(1);
      apply();
    }
    function fit() { state.mode = "fit"; refit(); }
    function actual() { state.mode = "actual"; refit(); }
    function reset() { state.window = 1; state.level = 0.5; state.points = []; fit(); }
    function zoomAt(factor, cx, cy) {
      const box = stageBox();
      if (cx === undefined) { cx = box.width / 2; cy = box.height / 2; }
      const scale = clamp(state.scale * factor, MIN_SCALE, MAX_SCALE);
      state.x = cx - (cx - state.x) * (scale / state.scale);
      state.y = cy - (cy - state.y) * (scale / state.scale);
      state.scale = scale; state.mode = "free";
      apply();
    }
    function panBy(dx, dy) { state.x += dx; state.y += dy; state.mode = "free"; apply(); }
    function zoomed() { return state.scale > fitScale() * 1.001; }
    function adjust(dWindow, dLevel) {
      state.window = clamp(state.window * Math.exp(dWindow), 0.02, 4);
      state.level = clamp(state.level + dLevel, -1, 2);
      apply();
    }
    function setWindow(window, level) {
      state.window = clamp(window, 0.02, 4); state.level = clamp(level, -1, 2); apply();
    }

    // Cine loops.
    function showFrame(index) {
      const frames = (state.image && state.image.frames) || [];
      if (!frames.length) return;
      state.frame = (index + frames.length) % frames.length;
      const url = frames[state.frame];
      if (img.getAttribute("src") !== url) img.src = url;
      apply();
    }
    function stop() { if (state.timer) { clearInterval(state.timer); state.timer = null; } }
    function togglePlay() {
      const frames = (state.image && state.image.frames) || [];
      if (state.timer) stop();
      else if (frames.length > 1) state.timer = setInterval(function () { showFrame(state.frame + 1); }, frameMs);
      apply();
    }
    function step(delta) { stop(); showFrame(state.frame + delta); }

    // Calliper: two clicks; the distance in mm when the pixel spacing is known, else in px.
    function toImage(event) {
      const box = stageBox();
      return [(event.clientX - box.left - state.x) / state.scale, (event.clientY - box.top - state.y) / state.scale];
    }
    function toScreen(point) { return [point[0] * state.scale + state.x, point[1] * state.scale + state.y]; }
    function measurement() {
      if (state.points.length < 2) return null;
      const a = state.points[0], b = state.points[1];
      const pixels = Math.hypot(b[0] - a[0], b[1] - a[1]);
      const spacing = state.image && state.image.pixel_spacing_mm;
      return spacing
        ? { value: pixels * spacing, unit: "mm", text: (pixels * spacing).toFixed(1) + " mm" }
        : { value: pixels, unit: "px", text: pixels.toFixed(0) + " px" };
    }
    function svg(name, attributes, text) {
      const element = document.createElementNS(SVG, name);
      Object.keys(attributes).forEach(function (key) { element.setAttribute(key, attributes[key]); });
      if (text) element.textContent = text;
      overlay.appendChild(element);
    }
    function drawOverlay() {
      overlay.textContent = "";
      const points = state.points.slice();
      if (state.calliper && points.length === 1 && state.hover) points.push(state.hover);
      const screen = points.map(toScreen);
      screen.forEach(function (p) {
        svg("path", { d: "M" + (p[0] - 6) + " " + p[1] + "h12M" + p[0] + " " + (p[1] - 6) + "v12", class: "calliper-mark" });
      });
      if (screen.length === 2) {
        svg("line", { x1: screen[0][0], y1: screen[0][1], x2: screen[1][0], y2: screen[1][1], class: "calliper-line" });
        const result = measurement();
        if (result) {
          svg("text", { x: (screen[0][0] + screen[1][0]) / 2 + 8, y: (screen[0][1] + screen[1][1]) / 2 - 8, class: "calliper-text" }, result.text);
        }
      }
    }
    function toggleCalliper(on) {
      state.calliper = on === undefined ? !state.calliper : on;
      if (state.calliper) state.points = [];
      stage.classList.toggle("measuring", state.calliper);
      apply();
    }

    // The exam's other images: a strip of thumbnails; one opens for a look, Esc returns.
    function examImages() { return (state.main && state.main.exam_images) || []; }
    function stripOpen() { return !!strip && !strip.hidden; }
    function renderStrip() {
      if (!strip) return;
      strip.textContent = "";
      const images = examImages();
      if (!images.length) {
        const empty = document.createElement("span");
        empty.className = "muted"; empty.textContent = "No other images in this exam.";
        strip.appendChild(empty);
      }
      images.forEach(function (image, index) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "strip-thumb" + (state.peekIndex === index ? " current" : "");
        button.dataset.index = index;
        button.title = "Exam image " + image.id + (index < 9 ? " (key " + (index + 1) + ")" : "");
        const thumb = document.createElement("img");
        thumb.src = image.thumbnail_url; thumb.alt = "Exam image " + image.id;
        const key = document.createElement("kbd");
        key.textContent = index < 9 ? String(index + 1) : "";
        button.append(thumb, key);
        button.addEventListener("click", function () { peek(index); });
        strip.appendChild(button);
      });
    }
    function toggleStrip(open) {
      if (!strip) return;
      strip.hidden = open === undefined ? !strip.hidden : !open;
      if (!strip.hidden) renderStrip();
      apply();
    }
    function show(image) {
      stop();
      state.image = image;
      state.frame = 0; state.points = []; state.hover = null; state.mode = "fit";
      preload(image);
      const url = (image.frames || [])[0];
      img.alt = "Ultrasound image " + image.id;
      if (img.getAttribute("src") !== url) {
        img.removeAttribute("src");  // no stale pixels while the new one decodes
        img.src = url;
      }
      if (img.complete && img.naturalWidth) refit();
      else apply();
    }
    function peek(index) {
      const image = examImages()[index];
      if (!image) return;
      state.peekIndex = index;
      show(image);
      renderStrip();
    }
    function unpeek() {
      if (state.peekIndex === null) return false;
      state.peekIndex = null;
      show(state.main);
      renderStrip();
      return true;
    }
    function load(image) {
      state.main = image; state.peekIndex = null;
      state.window = 1; state.level = 0.5;
      state.calliper = false; stage.classList.remove("measuring");
      show(image);
      if (stripOpen()) renderStrip();
    }

    img.addEventListener("load", refit);
    window.addEventListener("resize", refit);
    if (window.ResizeObserver) new ResizeObserver(refit).observe(stage);

    // Mouse: wheel zooms at the cursor, left-drag pans (a click places a calliper point),
    // right-drag changes window (horizontal) and level (vertical).
    let drag = null;
    stage.addEventListener("wheel", function (event) {
      event.preventDefault();
      const box = stageBox();
      zoomAt(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - box.left, event.clientY - box.top);
    }, { passive: false });
    stage.addEventListener("contextmenu", function (event) { event.preventDefault(); });
    stage.addEventListener("mousedown", function (event) {
      event.preventDefault();
      if (root.focus) root.focus({ preventScroll: true });
      drag = { button: event.button, x: event.clientX, y: event.clientY, moved: false };
    });
    window.addEventListener("mousemove", function (event) {
      if (state.calliper && state.points.length === 1) { state.hover = toImage(event); drawOverlay(); }
      if (!drag) return;
      const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (!drag.moved) return;
      drag.x = event.clientX; drag.y = event.clientY;
      if (drag.button === 2) adjust(-dx * 0.006, -dy * 0.003);
      else if (drag.button === 0) panBy(dx, dy);
    });
    window.addEventListener("mouseup", function (event) {
      if (drag && !drag.moved && drag.button === 0 && state.calliper) {
        if (state.points.length >= 2) state.points = [];
        state.points.push(toImage(event));
        state.hover = null;
        apply();
      }
      drag = null;
    });

    // Keys; returns true when the key was the viewer's.
    function handleKey(event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return false;
      const key = event.key;
      if (stripOpen() && /^[1-9]$/.test(key)) { peek(Number(key) - 1); return true; }
      if (fitKeys.indexOf(key) >= 0 || fitKeys.indexOf(key.toLowerCase()) >= 0) { fit(); return true; }
      switch (key) {
        case "1": actual(); return true;
        case "r": case "R": reset(); return true;
        case "+": case "=": zoomAt(1.25); return true;
        case "-": case "_": zoomAt(1 / 1.25); return true;
        case "[": adjust(0, 0.04); return true;    // darker: level up
        case "]": adjust(0, -0.04); return true;   // brighter: level down
        case "{": adjust(0.12, 0); return true;    // less contrast: wider window
        case "}": adjust(-0.12, 0); return true;   // more contrast: narrower window
        case " ": togglePlay(); return true;
        case ",": case "<": step(-1); return true;
        case ".": case ">": step(1); return true;
        case "m": case "M": toggleCalliper(); return true;
        case "e": case "E": if (!strip) return false; toggleStrip(); return true;
        case "Escape":
          if (unpeek()) return true;
          if (state.calliper) { toggleCalliper(false); return true; }
          if (stripOpen()) { toggleStrip(false); return true; }
          return false;
      }
      if (key.startsWith("Arrow")) {
        const stepPx = event.shiftKey ? 120 : 40;
        if (zoomed()) {
          if (key === "ArrowLeft") panBy(stepPx, 0);
          if (key === "ArrowRight") panBy(-stepPx, 0);
          if (key === "ArrowUp") panBy(0, stepPx);
          if (key === "ArrowDown") panBy(0, -stepPx);
          return true;
        }
        if (key === "ArrowLeft") { step(-1); return true; }
        if (key === "ArrowRight") { step(1); return true; }
      }
      return false;
    }

    return {
      load: load, handleKey: handleKey, fit: fit, actual: actual, reset: reset, zoomAt: zoomAt,
      panBy: panBy, adjust: adjust, setWindow: setWindow, togglePlay: togglePlay, step: step,
      toggleCalliper: toggleCalliper, toggleStrip: toggleStrip, peek: peek, unpeek: unpeek,
      info: info, stop: stop, element: root,
    };
  }

  window.OvaViewer = { create: create, preload: preload };

  // The image detail page: its frames json_script and controls, wired to one viewer.
  const framesScript = document.getElementById("frames");
  const detail = document.getElementById("viewer");
  if (!framesScript || !detail || !document.getElementById("viewer-image")) return;
  const brightness = document.getElementById("brightness");
  const contrast = document.getElementById("contrast");
  const play = document.getElementById("play");
  const frameNumber = document.getElementById("frame-number");
  const viewer = create(detail, {
    fitKeys: ["0", "f"],
    onChange: function (info) {
      if (play) play.textContent = info.playing ? "Pause (Space)" : "Play (Space)";
      if (frameNumber) frameNumber.textContent = "frame " + (info.frame + 1) + "/" + info.frames;
    },
  });
  function sliders() {  // brightness and contrast in percent, as the page's sliders show them
    const window = 100 / Number(contrast.value);
    viewer.setWindow(window, 0.5 - (Number(brightness.value) / 100 - 1) * window);
  }
  if (brightness) brightness.addEventListener("input", sliders);
  if (contrast) contrast.addEventListener("input", sliders);
  const button = function (id, action) { const element = document.getElementById(id); if (element) element.onclick = action; };
  button("fit", viewer.fit);
  button("actual", viewer.actual);
  button("reset", function () { brightness.value = 100; contrast.value = 100; viewer.reset(); });
  if (play) play.onclick = function () { viewer.togglePlay(); };
  const frames = JSON.parse(framesScript.textContent);
  const first = document.getElementById("viewer-image");
  viewer.load({ id: first.alt.replace(/\D+/g, ""), frames: frames });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT" || event.target.tagName === "TEXTAREA") return;
    if (event.key === "r" || event.key === "R") { brightness.value = 100; contrast.value = 100; }
    if (viewer.handleKey(event)) event.preventDefault();
  });
  detail.focus();
})();
