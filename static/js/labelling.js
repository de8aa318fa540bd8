// The keyboard-first labelling screen. Every answer is saved as it is made (PATCH, debounced)
// so a closed tab loses nothing; Enter submits and shows the next image at once (it was
// leased and its pixels loaded while this one was read); Backspace goes back to correct.
(function () {
  "use strict";
  const page = document.getElementById("labelling");
  const api = page.dataset.apiBase;  // e.g. "/api/labelling/"
  const setId = Number(page.dataset.setId);
  const YES_NO = { a: "adnexal", l: "lesion", s: "ascites", f: "blood_flow" };
  const REQUIRED = ["adnexal", "lesion", "ascites", "blood_flow", "dimension"];
  const ANSWERS = REQUIRED.concat(["cannot_determine", "cannot_determine_reason"]);
  const NAMES = { adnexal: "adnexal image", lesion: "lesion", ascites: "ascites", blood_flow: "blood flow", dimension: "2D/3D" };
  const SAVE_DELAY_MS = 300, ACTIVE_WINDOW_MS = 30000, ACTIVE_FLUSH_S = 10, LEASE_REFRESH_S = 120;

  const $ = function (id) { return document.getElementById(id); };
  const statusLine = $("status"), reasonBox = $("reason-box"), reason = $("cannot-determine-reason");
  const flagDialog = $("flag-dialog"), flagReason = $("flag-reason");
  const questions = {};
  document.querySelectorAll("#questions .answer").forEach(function (row) { questions[row.dataset.field] = row; });

  const core = OvaReading.create(page, { statusLine: statusLine, questions: questions });
  const call = core.call, write = core.write, problem = core.problem, say = core.say;
  const viewer = OvaViewer.create($("labelling-viewer"), { onChange: readout });

  let current = null;    // {label, image} on screen
  let upcoming = null;   // promise of the prefetched {label, image}, null when no more work
  let upcomingItem = null;  // that item once it has arrived
  let returnTo = null;   // the draft we left to correct an earlier image (Backspace)
  let busy = false;      // a submit, a move or a flag in flight: keys that move wait
  let finished = false;
  const pending = {};    // label id -> {answers: {...}, seconds: n} not yet saved
  let saveTimer = null;

  // ---- autosave: answers as they are made, and the active reading time ----
  function pendingFor(id) { return pending[id] || (pending[id] = { answers: {}, seconds: 0 }); }
  function flush(id, keepalive) {
    const entry = pending[id];
    if (!entry || (!Object.keys(entry.answers).length && entry.seconds < 0.5)) return Promise.resolve(true);
    const answers = entry.answers, seconds = entry.seconds;
    entry.answers = {}; entry.seconds = 0;
    return core.saveAnswers("labels/" + id + "/", answers, seconds, keepalive, function (result) {
      if (result.ok) {
        if (statusLine.classList.contains("save-error")) say("Saved again.", "ok");
        return true;
      }
      if (result.status === 404) { delete pending[id]; return false; }  // flagged away
      // Keep what failed for the next try, under anything changed since.
      const again = pendingFor(id);
      again.answers = Object.assign({}, answers, again.answers);
      again.seconds += seconds;
      say(problem(result) + " — will retry.", "error save-error");
      return false;
    });
  }
  function flushAll(keepalive) {
    clearTimeout(saveTimer); saveTimer = null;
    Object.keys(pending).forEach(function (id) { flush(Number(id), keepalive); });
  }
  function scheduleSave() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(function () { saveTimer = null; if (current) flush(current.label.id); }, SAVE_DELAY_MS);
  }

  OvaReading.activity({
    windowMs: ACTIVE_WINDOW_MS,
    tick: function (active, ticks) {
      if (current && active) pendingFor(current.label.id).seconds += 1;
      if (ticks % ACTIVE_FLUSH_S === 0 && !saveTimer) Object.keys(pending).forEach(function (id) { flush(Number(id)); });
      if (ticks % LEASE_REFRESH_S === 0) refreshLeases();
      [current, upcomingItem, returnTo].forEach(renewLinks);
    },
  });
  OvaReading.onLeave(function () { flushAll(true); });

  // ---- what is on screen ----
  function readout(info) {
    OvaReading.readout(info, $("viewer-readout"), $("measure"));
    const banner = $("peek-banner");
    banner.hidden = !info.peeking;
    if (info.peeking) banner.textContent = "Exam image " + info.image.id + " (a look only) · Esc returns";
  }
  function valueText(field, value) {
    if (field === "dimension") return value ? value.toUpperCase() : "—";
    if (field === "cannot_determine") return value ? "Yes: cannot be determined" : "No";
    return value === true ? "Yes" : value === false ? "No" : "—";
  }
  function valueClass(field, value) {
    if (value === null || value === undefined || value === "") return "unset";
    if (field === "dimension") return "dim";
    return value ? "yes" : "no";
  }
  function render() {
    if (!current) return;
    const label = current.label;
    Object.keys(questions).forEach(function (field) {
      const row = questions[field], value = label[field];
      row.dataset.state = valueClass(field, value);
      row.classList.toggle("not-needed", field !== "cannot_determine" && label.cannot_determine);
      row.querySelector(".value").textContent = valueText(field, value);
    });
    reasonBox.hidden = !label.cannot_determine;
    if (document.activeElement !== reason) reason.value = label.cannot_determine_reason || "";
    const id = $("image-id");
    id.textContent = "Image " + current.image.id + (current.image.frames.length > 1 ? " · cine, " + current.image.frames.length + " frames" : "") +
      (current.image.pixel_spacing_mm ? " · " + current.image.pixel_spacing_mm.toFixed(3) + " mm/px" : "");
    id.dataset.imageId = current.image.id;
    page.dataset.labelId = label.id;
    page.dataset.labelStatus = label.status;
    const mode = $("mode-line");
    mode.hidden = !returnTo;
    mode.textContent = returnTo ? "Correcting an image you submitted · Enter resubmits and returns · Esc returns without changes" : "";
  }
  function progress(value) {
    if (!value) return;
    $("progress-text").textContent = value.done + " / " + value.quota;
    core.progressBar(value.done, value.quota);
  }
  const clearMissing = core.clearMissing;
  function show(item) {
    current = item;
    finished = false;
    $("done").hidden = true;
    page.classList.remove("finished");
    clearMissing();
    viewer.load(item.image);
    render();
  }
  function showFinished() {
    current = null; finished = true;
    page.classList.add("finished");
    $("done").hidden = false;
    $("image-id").textContent = "No more images";
    $("image-id").dataset.imageId = "";
    page.dataset.labelId = "";
    say("All done: no more images for you in this set.", "ok");
  }

  // ---- image links: signed, valid for minutes; renewed while an image is held ----
  const renewAt = OvaReading.renewAt;
  function payloadItem(data, result) {
    return { label: data.label, image: data.image, renewAt: renewAt(data.image, result.date) };
  }
  // The same image object gets fresh links (the viewer holds it: peeks and frames use them).
  function renewLinks(held) {
    if (!held || !held.label || !held.image) return Promise.resolve(held);
    if (held.renewing) return held.renewing;
    if (Date.now() < held.renewAt) return Promise.resolve(held);
    held.renewing = call("GET", "labels/" + held.label.id + "/").then(function (result) {
      held.renewing = null;
      if (result.ok) {
        Object.assign(held.image, result.data.image);
        held.renewAt = renewAt(result.data.image, result.date);
      }
      return held;
    });
    return held.renewing;
  }

  // ---- moving between images ----
  function fetchNext(exclude) {
    return call("POST", "sets/" + setId + "/next/", { exclude: exclude }).then(function (result) {
      if (!result.ok) throw new Error(problem(result));
      if (result.status === 204) return null;
      OvaViewer.preload(result.data.image);  // the pixels arrive while this image is read
      progress(result.data.progress);
      return payloadItem(result.data, result);
    });
  }
  function prefetch() {
    upcoming = fetchNext(current ? [current.label.id] : []);
    upcoming.then(function (next) { upcomingItem = next; }, function () {});  // reported when needed
  }
  function refreshLeases() {
    // `next` renews the lease of the unfinished labels it returns: the one on screen and
    // the prefetched one, so neither goes to another reader while it is being read.
    if (busy || !current || returnTo || current.label.status !== "draft") return;
    call("POST", "sets/" + setId + "/next/", { exclude: [] });
    if (upcoming) upcoming.then(function (item) { if (item) call("POST", "sets/" + setId + "/next/", { exclude: [current.label.id] }); }, function () {});
  }
  function advance() {
    const waiting = upcoming || fetchNext([]);
    upcoming = null; upcomingItem = null;
    return waiting.catch(function () {
      return fetchNext([]);  // the prefetch failed: one more try now
    }).then(function (next) {
      if (!next) { showFinished(); return; }
      return renewLinks(next).then(function () { show(next); prefetch(); });  // held a while?
    }, function (error) {
      say(error.message + " — press Enter to try again.", "error");
    });
  }
  function start() {
    say("Loading…");
    fetchNext([]).then(function (item) {
      say("");
      if (!item) { showFinished(); return; }
      show(item);
      prefetch();
    }, function (error) { say(error.message + " — reload the page to try again.", "error"); });
  }

  // ---- answers ----
  function change(field, value) {
    if (!current) return;
    current.label[field] = value;
    questions[field] && questions[field].classList.remove("missing");
    if (current.label.status === "draft") {
      pendingFor(current.label.id).answers[field] = value;
      scheduleSave();
    } else {
      say("Changed: Enter resubmits the correction.", "");
    }
    render();
  }
  function cycleYesNo(field) { change(field, current.label[field] === true ? false : true); }
  function cycleDimension() { change("dimension", current.label.dimension === "2d" ? "3d" : "2d"); }
  function toggleCannotDetermine() {
    const on = !current.label.cannot_determine;
    change("cannot_determine", on);
    if (on) { reason.focus(); reason.select(); }
  }
  function missingOf(label) {
    if (label.cannot_determine) return [];
    return REQUIRED.filter(function (field) { return label[field] === null || label[field] === undefined || label[field] === ""; });
  }
  function markMissing(fields) {
    core.markMissing(fields, NAMES, ". Answer them or press X (cannot be determined).");
  }

  function submit() {
    if (busy) return;
    if (finished) return;
    if (!current) { advance(); return; }
    if (current.label.status === "submitted" && !returnTo) { busy = true; advance().finally(function () { busy = false; }); return; }
    const item = current;
    const missing = missingOf(item.label);
    if (missing.length) { markMissing(missing); return; }
    busy = true;
    clearTimeout(saveTimer); saveTimer = null;
    const entry = pendingFor(item.label.id);
    entry.answers = {};           // the submit carries every answer
    flush(item.label.id);         // the active time, in order before the submit
    const body = {};
    ANSWERS.forEach(function (field) { body[field] = field === "cannot_determine_reason" ? item.label[field] || "" : item.label[field]; });
    say("Saving…");
    write(function () { return call("POST", "labels/" + item.label.id + "/submit/", body); }).then(function (result) {
      if (!result.ok) {
        busy = false;
        if (result.status === 400 && result.data.missing && result.data.missing.length) markMissing(result.data.missing);
        else say(problem(result) + " — press Enter to try again.", "error");
        return;
      }
      item.label = result.data.label;
      progress(result.data.progress);
      if (returnTo) {
        returnWithoutChanges();
        say("Correction of image " + item.image.id + " saved; back where you were.", "ok");
        busy = false;
        return;
      }
      say("Image " + item.image.id + " saved.", "ok");
      return advance().finally(function () { busy = false; });
    });
  }

  function back() {
    if (busy) return;
    busy = true;
    const query = current && current.label.status === "submitted" ? "?before=" + current.label.id : "";
    call("GET", "sets/" + setId + "/history/" + query).then(function (result) {
      busy = false;
      if (result.status === 404) { say("There is no earlier image to go back to.", ""); return; }
      if (!result.ok) { say(problem(result), "error"); return; }
      if (current && current.label.status === "draft") {
        flush(current.label.id);
        returnTo = current;
      } else if (!current && finished) {
        returnTo = { finished: true };
      }
      show(payloadItem(result.data, result));
      progress(result.data.progress);
      say("Image " + result.data.image.id + ": change what needs changing, Enter resubmits, Esc returns.", "");
    });
  }
  function returnWithoutChanges() {
    const target = returnTo;
    returnTo = null;
    say("Back where you were.", "");
    if (target.finished) showFinished();
    else renewLinks(target).then(function () { if (!returnTo && current !== target) show(target); });
  }

  function flag() {
    if (busy || !current) return;
    flagReason.value = "Identifying text visible";
    flagDialog.returnValue = "";
    flagDialog.showModal();
    flagReason.focus();
    flagReason.select();
  }
  flagDialog.addEventListener("close", function () {
    if (flagDialog.returnValue !== "flag" || !current) return;
    const item = current;
    busy = true;
    delete pending[item.label.id];
    say("Flagging image " + item.image.id + "…");
    write(function () { return call("POST", "images/" + item.image.id + "/flag/", { reason: flagReason.value }); }).then(function (result) {
      if (!result.ok) { busy = false; say(problem(result), "error"); return; }
      say("Image " + item.image.id + " flagged and hidden until an administrator checks it.", "ok");
      if (returnTo) { busy = false; returnWithoutChanges(); return; }
      return advance().finally(function () { busy = false; });
    });
  });

  // ---- keys ----
  reason.addEventListener("input", function () { change("cannot_determine_reason", reason.value); });
  OvaReading.keys({
    paused: function () { return flagDialog.open; },  // the dialog's own Enter and Esc
    textBox: function () { return reason; },
    submit: submit,
    noRepeat: ["Enter", "Backspace", "g"],
    onKey: function (key, event) {
      let handled = true;
      if (YES_NO[key] && current) cycleYesNo(YES_NO[key]);
      else if (key === "d" && current) cycleDimension();
      else if (key === "x" && current) { event.preventDefault(); toggleCannotDetermine(); }
      else if (key === "g") flag();
      else if (key === "Enter") submit();
      else if (key === "Backspace") back();
      else if (viewer.handleKey(event)) handled = true;
      else if (key === "Escape" && returnTo && !busy) returnWithoutChanges();
      else handled = false;
      return handled;
    },
  });
  window.addEventListener("beforeunload", function () { flushAll(true); });

  start();
})();
