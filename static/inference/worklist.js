// The live worklist: each stored result (or status change) arrives over the websocket with
// its row's HTML; a row on the page is replaced, a new exam that matches the filters is added
// at the top of the first page. The page works without it, just not live.
(function () {
  "use strict";
  const table = document.getElementById("worklist");
  const status = document.getElementById("live-status");
  if (!table) return;
  const body = table.tBodies[0];
  const filters = table.dataset;

  function matches(row) {
    if (filters.center && row.center !== filters.center) return false;
    if (filters.dateFrom && row.exam_date < filters.dateFrom) return false;
    if (filters.dateTo && row.exam_date > filters.dateTo) return false;
    if (filters.patient && String(row.patient_id) !== filters.patient) return false;
    return true;
  }

  function fromHtml(html) {
    const holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }

  function update(row) {
    const existing = body.querySelector('tr[data-exam="' + row.exam_id + '"]');
    let fresh;
    if (existing) {
      fresh = fromHtml(row.html);
      existing.replaceWith(fresh);
    } else if (filters.firstPage && matches(row)) {
      const empty = body.querySelector("tr.empty");
      if (empty) empty.remove();
      fresh = fromHtml(row.html);
      // Newest exam dates first, as the server orders them.
      const later = Array.prototype.find.call(body.rows, function (tr) {
        return (tr.dataset.date || "") <= row.exam_date;
      });
      body.insertBefore(fresh, later || null);
    }
    if (fresh) fresh.classList.add("updated");
  }

  liveSocket(table.dataset.socket, {
    status: status,
    open: function (again) { if (again) location.reload(); },  // results were missed
    message: function (data) { if (data.type === "exam.result") update(data.row); },
  });
})();
