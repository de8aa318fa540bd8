// What the two reading screens share (labelling.js and studies/reading.js): the request layer
// (CSRF, JSON, writes in order, autosave, the server's clock), the status line, the focused-time clock,
// the signed links' renewal time, the keyboard prelude, missing answers, the progress bar and
// the viewer readout. Each screen keeps only what is its own (questions, leases, arms, AI).
//
//   const core = OvaReading.create(page, {statusLine, questions});
//   core.call("POST", "path/", body).then(result => result.ok, result.status, result.data);
(function () {
  "use strict";
  const LINK_MARGIN_MS = 60000;  // a link is renewed this long before it expires
  // (or half way, for links shorter than twice that)

  function csrf() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // When to fetch fresh links for an image: a link is /files/<expires>/<signature>/<name>;
  // `serverNow` is the server's clock (from a response's Date header).
  function renewAt(image, serverNow) {
    const expires = Number(((image && image.frames[0]) || "").split("/")[2]);
    const left = expires && serverNow ? expires * 1000 - serverNow : 2 * LINK_MARGIN_MS;
    return Date.now() + Math.max(left - LINK_MARGIN_MS, left / 2);
  }

  // The viewer's readout: zoom, window/level, cine frame, calliper; the measurement shown.
  function readout(info, readoutElement, measureElement) {
    const parts = [Math.round(info.zoom * 100) + "%", "W " + info.window + " L " + info.level];
    if (info.frames > 1) parts.push("frame " + (info.frame + 1) + "/" + info.frames + (info.playing ? " ▶" : ""));
    if (info.calliper) parts.push("calliper: click two points");
    readoutElement.textContent = parts.join(" · ");
    measureElement.hidden = !info.measurement;
    measureElement.textContent = info.measurement ? info.measurement.text : "";
  }

  function create(page, options) {
    const api = page.dataset.apiBase;
    const statusLine = options.statusLine;
    const questions = options.questions || {};
    let inFlight = 0, clockSkew = 0, writes = Promise.resolve();

    function counted(delta) { inFlight += delta; page.dataset.requests = inFlight; }
    // One request; never rejects: {ok, status, data, date} (status 0: the network failed).
    function call(method, path, body, keepalive) {
      counted(1);
      return fetch(api + path, {
        method: method,
        credentials: "same-origin",
        keepalive: !!keepalive,
        headers: Object.assign({ "X-CSRFToken": csrf(), Accept: "application/json" }, body ? { "Content-Type": "application/json" } : {}),
        body: body ? JSON.stringify(body) : undefined,
      }).then(function (response) {
        const date = Date.parse(response.headers.get("Date") || "");  // the server's clock
        if (date) clockSkew = Date.now() - date;
        if (response.status === 204) return { ok: true, status: 204, data: null, date: date };
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ok: response.ok, status: response.status, data: data, date: date };
        });
      }, function () {
        return { ok: false, status: 0, data: { detail: "network error: the server could not be reached" } };
      }).finally(function () { counted(-1); });
    }
    // Writes go one after another, so a late autosave never lands after a submit.
    function write(fn) {
      const result = writes.then(fn);
      writes = result.catch(function () {});
      return result;
    }
    function problem(result) {
      let detail = (result.data && result.data.detail) || "error " + result.status;
      if (typeof detail !== "string") detail = JSON.stringify(detail);
      return result.status === 0 ? detail : "Not saved (" + result.status + "): " + detail;
    }
    // Autosave: the answers changed and the focused seconds since the last save, as one
    // PATCH; `after(result)` runs before the next write starts. Leaving the page
    // (keepalive) sends at once, outside the queue.
    function saveAnswers(path, answers, seconds, keepalive, after) {
      const body = Object.assign({}, answers, { active_seconds_delta: Math.round(seconds * 10) / 10 });
      const send = function () { return call("PATCH", path, body, keepalive).then(after); };
      return keepalive ? send() : write(send);
    }
    function say(text, kind) {
      statusLine.textContent = text || "";
      statusLine.className = "status" + (kind ? " " + kind : "");
    }
    function serverNow() { return Date.now() - clockSkew; }

    function clearMissing() {
      Object.keys(questions).forEach(function (field) { questions[field].classList.remove("missing"); });
    }
    function markMissing(fields, names, advice) {
      clearMissing();
      fields.forEach(function (field) { if (questions[field]) questions[field].classList.add("missing"); });
      say("Missing: " + fields.map(function (f) { return names[f] || f; }).join(", ") + (advice || "."), "error");
    }
    function progressBar(done, total) {
      const bar = document.getElementById("progress-bar");
      bar.setAttribute("aria-valuenow", done);
      bar.setAttribute("aria-valuemax", total);
      bar.querySelector(".bar").style.width = (total ? Math.min(100, 100 * done / total) : 100) + "%";
    }

    return {
      call: call, write: write, saveAnswers: saveAnswers, problem: problem, say: say, serverNow: serverNow,
      clearMissing: clearMissing, markMissing: markMissing, progressBar: progressBar,
    };
  }

  // The focused-time clock: `tick(active)` runs every second, `active` true while the page is
  // visible (and focused, with needsFocus) and was used within the last `windowMs`.
  function activity(options) {
    let lastInteraction = Date.now(), ticks = 0;
    function interacted() { lastInteraction = Date.now(); }
    ["keydown", "mousedown", "mousemove", "wheel"].forEach(function (type) {
      document.addEventListener(type, interacted, { passive: true, capture: true });
    });
    setInterval(function () {
      ticks += 1;
      const active = document.visibilityState === "visible" && (!options.needsFocus || document.hasFocus()) &&
        Date.now() - lastInteraction < options.windowMs;
      options.tick(active, ticks);
    }, 1000);
  }

  // Leaving the page (closing, hiding the tab): save what is pending, with keepalive.
  function onLeave(save) {
    window.addEventListener("pagehide", save);
    document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") save(); });
  }

  // The keyboard prelude both screens share: the free-text box (Esc leaves, Enter submits),
  // other inputs and modified keys left alone, held Enter/Backspace not repeated. `onKey`
  // gets the key (letters in lower case) and says whether it handled it.
  function keys(options) {
    const noRepeat = options.noRepeat || ["Enter", "Backspace"];
    document.addEventListener("keydown", function (event) {
      if (options.paused && options.paused()) return;
      const target = event.target, text = options.textBox && options.textBox();
      if (text && target === text) {
        if (event.key === "Escape") { event.preventDefault(); text.blur(); }
        else if (event.key === "Enter") { event.preventDefault(); text.blur(); options.submit(); }
        return;
      }
      if (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
      if (event.repeat && noRepeat.indexOf(key) >= 0) { event.preventDefault(); return; }
      if (options.onKey(key, event)) event.preventDefault();
    });
  }

  window.OvaReading = { create: create, activity: activity, onLeave: onLeave, keys: keys, renewAt: renewAt, readout: readout };
})();
