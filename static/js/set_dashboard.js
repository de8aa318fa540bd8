// The coordinator's live dashboard: submitted labels nudge the socket (the server sends
// at most one nudge a second per set); the page then fetches the progress summary, at most
// once a second, and once more a little after the last nudge, so that labels submitted
// just after it (which sent none) show too.
(function () {
  const stats = document.getElementById("set-stats");
  const status = document.getElementById("live-status");
  const SETTLE_MS = 2500;
  let pending = false, last = 0, settle = null;

  function fmt(value, digits) { return value === null || value === undefined ? "—" : Number(value).toFixed(digits); }
  function render(p) {
    stats.querySelector('[data-key="readings"]').textContent = p.readings_done + "/" + p.readings_planned;
    stats.querySelector('[data-key="images_per_hour"]').textContent = p.images_per_hour;
    stats.querySelector('[data-key="median_seconds"]').textContent = fmt(p.median_seconds, 1);
    stats.querySelector('[data-key="open_disagreements"]').textContent = p.open_disagreements;
    document.getElementById("overall-bar").style.width =
      (p.readings_planned ? Math.round(100 * p.readings_done / p.readings_planned) : 0) + "%";
    Object.keys(p.agreement).forEach(function (q) {
      const cell = document.querySelector('#agreement [data-question="' + q + '"]');
      if (cell) cell.textContent = fmt(p.agreement[q], 2);
    });
    p.readers.forEach(function (r) {
      const row = document.querySelector('#readers [data-reader="' + r.reader_id + '"]');
      if (!row) return;
      row.querySelector(".bar").style.width = (r.quota ? Math.round(100 * r.done / r.quota) : 0) + "%";
      row.querySelector(".count").textContent = r.done + "/" + r.quota;
      row.querySelector(".in-progress").textContent = r.in_progress;
      row.querySelector(".last-hour").textContent = r.last_hour;
      row.querySelector(".median").textContent = fmt(r.median_seconds, 1);
    });
  }
  function refresh() {
    const wait = 1000 - (Date.now() - last);
    if (pending) return;
    pending = true;
    setTimeout(function () {
      last = Date.now();
      fetch(stats.dataset.progressUrl, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(render)
        .finally(function () { pending = false; });
    }, Math.max(wait, 0));
  }
  liveSocket(stats.dataset.socket, {
    status: status,
    open: function (again) { if (again) refresh(); },  // labels submitted meanwhile
    message: function () {
      refresh();
      clearTimeout(settle);
      settle = setTimeout(refresh, SETTLE_MS);
    },
  });
})();
