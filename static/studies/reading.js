// The keyboard-first reading screen of a reader study. The server hands out the session's
// cases one by one (practice first) and records when each was shown and answered; answers
// are saved as they are made, so a closed tab resumes on the same case with its answers.
// Enter submits and the next case arrives in the same round trip (its pixels preloaded).
(function () {
  "use strict";
  const page = document.getElementById("reading");
  if (!page) return;
  const api = page.dataset.apiBase;  // e.g. "/api/reading/"
  const sessionId = Number(page.dataset.sessionId);
  const allowBack = !!page.dataset.allowBack;
  const askOrads = !!page.dataset.askOrads;
  const askComment = !!page.dataset.askComment;
  const aided = !!page.dataset.aided;
  const NAMES = { malignant: "malignant yes/no", confidence: "confidence", orads: "O-RADS" };
  const SAVE_DELAY_MS = 400, ACTIVE_WINDOW_MS = 60000, ACTIVE_FLUSH_S = 10, TYPE_WINDOW_MS = 1500;

  const $ = function (id) { return document.getElementById(id); };
  const statusLine = $("status"), comment = $("comment");
  const questions = {};
  document.querySelectorAll("#questions .answer").forEach(function (row) { questions[row.dataset.field] = row; });

  const core = OvaReading.create(page, { statusLine: statusLine, questions: questions });
  const call = core.call, write = core.write, problem = core.problem, say = core.say;
  const viewer = OvaViewer.create($("reading-viewer"), { onChange: onViewer, fitKeys: ["f"] });
  const stage = $("reading-viewer").querySelector(".viewer-stage");
  const mainImg = $("reading-image");
  let overlay = null, heatmapOn = true;
  if (aided) {
    overlay = document.createElement("img");
    overlay.className = "heatmap-overlay";
    overlay.alt = "";
    overlay.hidden = true;
    stage.appendChild(overlay);
  }

  let current = null;     // {reading, case, progress}
  let returnTo = false;   // true while changing an answered case (going back)
  let busy = false, finished = false;
  let imageIndex = 0;
  let pending = { answers: {}, seconds: 0 };
  let saveTimer = null;
  let typed = "", typedAt = 0;

  // ---- autosave: draft answers and the active (focused) time ----
  function flush(keepalive) {
    clearTimeout(saveTimer); saveTimer = null;
    if (!current) return Promise.resolve(true);
    const id = current.reading.id;
    const answers = pending.answers, seconds = pending.seconds;
    if (!Object.keys(answers).length && seconds < 0.5) return Promise.resolve(true);
    pending = { answers: {}, seconds: 0 };
    return core.saveAnswers("cases/" + id + "/", answers, seconds, keepalive, function (result) {
      if (result.ok) return true;
      if (result.status >= 500 || result.status === 0) {  // try again with the next save
        pending.answers = Object.assign({}, answers, pending.answers);
        pending.seconds += seconds;
        say(problem(result) + " — will retry.", "error");
      }
      return false;
    });
  }
  function scheduleSave() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(function () { flush(); }, SAVE_DELAY_MS);
  }
  OvaReading.activity({
    windowMs: ACTIVE_WINDOW_MS,
    needsFocus: true,
    tick: function (active, ticks) {
      if (current && !finished && active) pending.seconds += 1;
      if (ticks % ACTIVE_FLUSH_S === 0 && !saveTimer && !busy) flush();
      renewLinks();
    },
  });

  // ---- image and heatmap links: signed, valid for minutes; renewed while a case is open ----
  let renewing = false;
  function renewAt(images) {  // a heatmap address outlives the image links
    return OvaReading.renewAt(images, core.serverNow());
  }
  function renewLinks() {
    const held = current;
    if (!held || finished || renewing || !held.case.images) return;
    if (Date.now() < held.renewAt) return;
    renewing = true;
    call("GET", "cases/" + held.reading.id + "/").then(function (result) {
      renewing = false;
      if (!result.ok || current !== held || !result.data.case.images) return;
      // The same objects get the fresh links: the viewer holds them (peeks, frames, maps).
      Object.assign(held.case.images, result.data.case.images);
      if (held.case.ai && result.data.case.ai) Object.assign(held.case.ai, result.data.case.ai);
      held.renewAt = renewAt(held.case.images);
    });
  }
  OvaReading.onLeave(function () { flush(true); });

  // ---- what is on screen ----
  function images() {
    const main = current && current.case.images;
    return main ? [main].concat(main.exam_images || []) : [];
  }
  function aiImage(imageId) {
    const ai = current && current.case.ai;
    if (!ai || !ai.images) return null;
    return ai.images.find(function (entry) { return entry.image_id === Number(imageId); }) || null;
  }
  function onViewer(info) {
    OvaReading.readout(info, $("viewer-readout"), $("measure"));
    const all = images();
    if (all.length) {
      imageIndex = info.peeking ? info.peekIndex + 1 : 0;
      $("image-position").textContent = "image " + (imageIndex + 1) + " of " + all.length;
    }
    if (aided) drawAi(info);
  }
  function drawAi(info) {
    const entry = info.image ? aiImage(info.image.id) : null;
    const label = $("ai-image");
    label.hidden = !entry;
    label.textContent = entry ? "AI " + Math.round(entry.probability * 100) + "% on this image" + (entry.heatmap_url ? (heatmapOn ? " · map on (H)" : " · map off (H)") : "") : "";
    const show = !!(entry && entry.heatmap_url && heatmapOn && !finished);
    overlay.hidden = !show;
    if (!show) return;
    if (overlay.getAttribute("src") !== entry.heatmap_url) overlay.src = entry.heatmap_url;
    // The map follows the image: same size, same transform (zoom and pan).
    overlay.style.width = mainImg.style.width;
    overlay.style.height = mainImg.style.height;
    overlay.style.transform = mainImg.style.transform;
  }
  function text(value) { return value === null || value === undefined || value === "" ? "—" : String(value); }
  function renderClinical(clinical) {
    const list = $("clinical");
    list.textContent = "";
    const rows = [];
    if ("age" in clinical) rows.push(["Age", clinical.age === null ? "—" : clinical.age + " years"]);
    if ("ca125" in clinical) rows.push(["CA125", clinical.ca125 ? clinical.ca125.value_u_per_ml + " U/mL (" + clinical.ca125.measured_on + ")" : "—"]);
    if ("report" in clinical) {
      const report = clinical.report;
      rows.push(["Lesion", [report.lesion_size_mm ? Math.round(report.lesion_size_mm) + " mm" : "", report.mass_type].filter(Boolean).join(", ") || "—"]);
      rows.push(["Report", text(report.text)]);
    }
    if (!rows.length) rows.push(["", "Images only in this arm."]);
    rows.forEach(function (row) {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = row[0]; dd.textContent = row[1];
      list.append(dt, dd);
    });
  }
  function renderAi(ai) {
    if (!aided) return;
    const scored = !!(ai && ai.theta !== null && ai.theta !== undefined);
    $("ai-none").hidden = scored;
    $("ai-none").textContent = ai && ai.status === "withheld" ? "AI output withheld: " + ai.reason
      : ai && ai.reason ? "No AI score for this case: " + ai.reason : "No AI result for this case.";
    $("ai-summary").hidden = !scored;
    const list = $("ai-images");
    list.textContent = "";
    if (!scored) return;
    const pct = function (v) { return v === null || v === undefined ? "—" : Math.round(v * 100) + "%"; };
    $("ai-score").textContent = ai.theta.toFixed(3);
    $("ai-decision").textContent = ai.decision === "malignant" ? "Malignant" : "Benign";
    $("ai-decision").className = "tag " + (ai.decision === "malignant" ? "malignant" : "benign");
    $("ai-threshold").textContent = ai.threshold === null ? "—" : ai.threshold.toFixed(3);
    $("ai-operating").textContent = "sensitivity " + pct(ai.sensitivity) + ", specificity " + pct(ai.specificity);
    $("ai-models").textContent = (ai.models || []).map(function (m) { return m.name + ": " + (m.theta === null ? "—" : m.theta.toFixed(3)); }).join(" · ") || "—";
    const order = images().map(function (image) { return image.id; });
    (ai.images || []).forEach(function (entry) {
      const item = document.createElement("li");
      const at = order.indexOf(entry.image_id);
      item.textContent = (at >= 0 ? "Image " + (at + 1) : "Image " + entry.image_id) + ": AI " + Math.round(entry.probability * 100) + "%";
      if (at >= 0) { item.className = "link"; item.addEventListener("click", function () { showImage(at); }); }
      list.appendChild(item);
    });
  }
  function valueText(field, value) {
    if (value === null || value === undefined || value === "") return "—";
    if (field === "malignant") return value ? "Yes" : "No";
    if (field === "orads") return "O-RADS " + value;
    return String(value);
  }
  function render() {
    if (!current) return;
    const reading = current.reading;
    Object.keys(questions).forEach(function (field) {
      const row = questions[field], value = reading[field];
      row.dataset.state = value === null || value === undefined ? "unset" : field === "malignant" ? (value ? "yes" : "no") : "dim";
      row.querySelector(".value").textContent = valueText(field, value);
    });
    $("confidence-meter").style.width = (reading.confidence === null ? 0 : reading.confidence) + "%";
    if (comment && document.activeElement !== comment) comment.value = reading.comment || "";
    const label = $("case-label");
    const progress = current.progress;
    label.textContent = reading.practice
      ? "Practice case " + (reading.position + 1) + " of " + progress.practice_total
      : "Case " + (reading.position + 1 - progress.practice_total) + " of " + progress.total;
    label.dataset.readingId = reading.id;
    page.dataset.readingId = reading.id;
    page.dataset.answered = reading.answered_at ? "1" : "";
    $("practice-banner").hidden = !reading.practice;
    const mode = $("mode-line");
    mode.hidden = !returnTo;
    mode.textContent = returnTo ? "Changing a case you submitted · Enter resubmits and returns · Esc returns without changes" : "";
  }
  function progress(value) {
    if (!value) return;
    $("progress-text").textContent = value.done + " / " + value.total + (value.practice_total ? " · practice " + value.practice_done + "/" + value.practice_total : "");
    core.progressBar(value.done, value.total);
  }
  const clearMissing = core.clearMissing;
  function showImage(index) {
    const all = images();
    if (!all.length) return;
    index = (index + all.length) % all.length;
    if (index === 0) viewer.unpeek();
    else viewer.peek(index - 1);
  }
  function show(payload) {
    current = payload;
    payload.renewAt = renewAt(payload.case.images);
    finished = false;
    typed = "";
    pending = { answers: {}, seconds: pending.seconds };
    $("done").hidden = true;
    page.classList.remove("finished");
    clearMissing();
    progress(payload.progress);
    renderClinical(payload.case.clinical || {});
    if (payload.case.images) {
      viewer.load(payload.case.images);
      viewer.toggleStrip((payload.case.images.exam_images || []).length > 0);
    }
    renderAi(payload.case.ai);
    render();
    (payload.upcoming || []).forEach(function (url) { OvaViewer.preload({ frames: [url] }); });
  }
  function showFinished(value) {
    current = null; finished = true; returnTo = false;
    page.classList.add("finished");
    if (overlay) overlay.hidden = true;
    $("done").hidden = false;
    $("case-label").textContent = "Session done";
    $("case-label").dataset.readingId = "";
    page.dataset.readingId = "";
    $("mode-line").hidden = true;
    $("practice-banner").hidden = true;
    if (value) progress(value);
    say("Session done: every case is read.", "ok");
  }

  // ---- moving between cases ----
  function next() {
    return call("POST", "sessions/" + sessionId + "/next/").then(function (result) {
      if (!result.ok) { say(problem(result) + " — reload the page to try again.", "error"); return; }
      returnTo = false;
      if (result.status === 204) { showFinished(current && current.progress); return; }
      show(result.data);
    });
  }
  function start() {
    say("Loading…");
    next().then(function () { if (current) say(""); });
  }

  // ---- answers ----
  function change(field, value) {
    if (!current || busy) return;
    current.reading[field] = value;
    if (questions[field]) questions[field].classList.remove("missing");
    if (current.reading.answered_at) {
      if (!returnTo) { say("This case is submitted.", ""); return; }
      say("Changed: Enter resubmits.", "");
    } else {
      pending.answers[field] = value;
      scheduleSave();
    }
    render();
  }
  function typeDigit(digit) {
    const now = Date.now();
    typed = now - typedAt < TYPE_WINDOW_MS && typed.length < 3 ? typed + digit : digit;
    typedAt = now;
    change("confidence", typed.length === 1 ? Number(typed) * 10 : Math.min(100, Number(typed)));
  }
  function nudge(step) {
    const value = current.reading.confidence;
    typed = "";
    change("confidence", Math.max(0, Math.min(100, (value === null || value === undefined ? 50 : value) + step)));
  }
  function cycleOrads() {
    const value = current.reading.orads;
    change("orads", value === null || value === undefined ? 1 : value === 5 ? 0 : value === 0 ? 1 : value + 1);
  }
  function missingOf(reading) {
    const required = ["malignant", "confidence"].concat(askOrads ? ["orads"] : []);
    return required.filter(function (field) { return reading[field] === null || reading[field] === undefined; });
  }
  function markMissing(fields) { core.markMissing(fields, NAMES); }
  function submit() {
    if (busy || finished || !current) return;
    if (current.reading.answered_at && !returnTo) { busy = true; next().finally(function () { busy = false; }); return; }
    const reading = current.reading;
    const missing = missingOf(reading);
    if (missing.length) { markMissing(missing); return; }
    busy = true;
    clearTimeout(saveTimer); saveTimer = null;
    const body = { malignant: reading.malignant, confidence: reading.confidence, active_seconds_delta: Math.round(pending.seconds * 10) / 10 };
    if (askOrads) body.orads = reading.orads;
    if (askComment) body.comment = reading.comment || "";
    pending = { answers: {}, seconds: 0 };
    say("Saving…");
    write(function () { return call("POST", "cases/" + reading.id + "/submit/", body); }).then(function (result) {
      busy = false;
      if (!result.ok) {
        if (result.status === 400 && result.data.missing && result.data.missing.length) markMissing(result.data.missing);
        else say(problem(result) + " — press Enter to try again.", "error");
        return;
      }
      const what = reading.practice ? "Practice case" : "Case";
      say(what + " saved" + (returnTo ? " (changed); back where you were." : "."), "ok");
      returnTo = false;
      if (!result.data.next) { showFinished(result.data.progress); return; }
      show(result.data.next);
    });
  }
  function back() {
    if (busy) return;
    if (!allowBack) { say("This study does not allow going back to a submitted case.", ""); return; }
    busy = true;
    flush();
    const query = current ? "?before=" + current.reading.id : "";
    call("GET", "sessions/" + sessionId + "/history/" + query).then(function (result) {
      busy = false;
      if (result.status === 404) { say("There is no earlier case to go back to.", ""); return; }
      if (!result.ok) { say(problem(result), "error"); return; }
      returnTo = true;
      show(result.data);
      say("Change what needs changing; Enter resubmits, Esc returns.", "");
    });
  }

  // ---- keys ----
  if (comment) {
    comment.addEventListener("input", function () { change("comment", comment.value); });
  }
  OvaReading.keys({
    textBox: function () { return comment; },
    submit: submit,
    onKey: function (key, event) {
      let handled = true;
      if (key === "Enter") submit();
      else if (key === "Backspace") back();
      else if (!current) handled = viewer.handleKey(event);
      else if (key === "y") change("malignant", true);
      else if (key === "n") change("malignant", false);
      else if (/^[0-9]$/.test(key)) typeDigit(key);
      else if (key === "ArrowUp") nudge(event.shiftKey ? 1 : 5);
      else if (key === "ArrowDown") nudge(event.shiftKey ? -1 : -5);
      else if (key === "o" && askOrads) cycleOrads();
      else if (key === "c" && comment) { comment.focus(); comment.select(); }
      else if (key === "h" && aided) { heatmapOn = !heatmapOn; drawAi(viewer.info()); }
      else if (key === "PageDown") showImage(imageIndex + 1);
      else if (key === "PageUp") showImage(imageIndex - 1);
      else if (key === "Escape" && returnTo && !busy) { if (!viewer.handleKey(event)) { busy = true; next().finally(function () { busy = false; say("Back where you were.", ""); }); } }
      else handled = viewer.handleKey(event);
      return handled;
    },
  });

  start();
})();
