// Live job progress over the jobs websocket; the page works without it, just not live.
(function () {
  const table = document.querySelector("#jobs tbody");
  const status = document.getElementById("live-status");
  if (!table) return;

  function row(job) {
    const key = job.kind + "-" + job.id;
    let tr = table.querySelector('[data-job="' + key + '"]');
    if (!tr) {
      const empty = table.querySelector("tr.empty");
      if (empty) empty.remove();
      tr = document.createElement("tr");
      tr.dataset.job = key;
      tr.innerHTML = '<td></td><td class="status"></td><td><div class="progress"><div class="bar"></div></div>' +
        '<span class="count"></span></td><td class="message-cell"></td><td></td>';
      tr.cells[0].textContent = job.label;
      table.prepend(tr);
    }
    return tr;
  }

  function update(job) {
    const tr = row(job);
    tr.querySelector(".status").textContent = job.status.charAt(0).toUpperCase() + job.status.slice(1);
    tr.querySelector(".bar").style.width = job.percent + "%";
    tr.querySelector(".count").textContent = job.done + "/" + job.total;
    const cell = tr.querySelector(".message-cell");
    cell.textContent = job.message;
    if (job.error) {
      const div = document.createElement("div");
      div.className = "error";
      div.textContent = job.error;
      cell.appendChild(div);
    }
  }

  liveSocket("/ws/jobs/", {
    status: status,
    open: function (again) { if (again) location.reload(); },  // updates were missed
    message: function (data) { if (data.type === "job.update") update(data.job); },
  });
})();
