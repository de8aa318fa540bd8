// A reader study's live progress: each answer nudges the socket; the page then fetches the
// progress summary, at most once a second.
(function () {
  const stats = document.getElementById("study-stats");
  const status = document.getElementById("live-status");
  if (!stats || !stats.dataset.live) return;
  let pending = false, last = 0;

  function fmt(value) { return value === null || value === undefined ? "—" : Number(value).toFixed(1); }
  function render(p) {
    Object.keys(p.arms).forEach(function (arm) {
      const box = stats.querySelector('[data-arm="' + arm + '"]');
      if (!box) return;
      box.querySelector(".arm-done").textContent = p.arms[arm].done + "/" + p.arms[arm].total;
      box.querySelector(".arm-median").textContent = fmt(p.arms[arm].median_seconds);
    });
    p.readers.forEach(function (r) {
      const row = document.querySelector('#readers [data-reader="' + r.reader_id + '"]');
      if (!row) return;
      const cells = row.querySelectorAll(".arm-cell"), medians = row.querySelectorAll(".median");
      ["without_ai", "with_ai"].forEach(function (arm, index) {
        const cell = r.arms[arm];
        if (!cell || !cells[index]) return;
        const bar = cells[index].querySelector(".bar"), count = cells[index].querySelector(".count");
        if (bar) bar.style.width = (cell.total ? Math.round(100 * cell.done / cell.total) : 0) + "%";
        if (count) count.textContent = cell.done + "/" + cell.total;
        const practice = cells[index].querySelector(".practice");
        if (practice) practice.textContent = "practice " + cell.practice_done + "/" + cell.practice_total;
        medians[index].textContent = fmt(cell.median_seconds);
      });
    });
  }
  function refresh() {
    const wait = 1000 - (Date.now() - last);
    if (pending) return;
    pending = true;
    setTimeout(function () {
      last = Date.now();
      fetch(stats.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(render)
        .finally(function () { pending = false; });
    }, Math.max(wait, 0));
  }
  liveSocket(stats.dataset.socket, {
    status: status,
    open: function (again) { if (again) refresh(); },  // answers given meanwhile
    message: refresh,
  });
})();
