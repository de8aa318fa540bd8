// Live training chart: loss and validation AUC per epoch, from the jobs websocket.
(function () {
  const svg = document.getElementById("training-chart");
  if (!svg) return;
  const NS = "http://www.w3.org/2000/svg";
  const W = 720, H = 300, L = 50, R = 50, T = 15, B = 35;
  let history = JSON.parse(document.getElementById("history-data").textContent || "[]");
  const jobId = JSON.parse(document.getElementById("training-job-id").textContent);

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    svg.appendChild(node);
    return node;
  }

  function draw() {
    svg.replaceChildren();
    const epochs = Math.max(history.length, 1);
    const losses = history.map(function (h) { return h.loss; });
    const maxLoss = Math.max.apply(null, losses.concat([0.01])) * 1.1;
    const x = function (i) { return L + (epochs === 1 ? 0.5 : i / (epochs - 1)) * (W - L - R); };
    const yLoss = function (v) { return H - B - (v / maxLoss) * (H - T - B); };
    const yAuc = function (v) { return H - B - v * (H - T - B); };
    el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" });
    el("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" });
    el("line", { x1: W - R, y1: T, x2: W - R, y2: H - B, class: "axis" });
    [0, 0.5, 1].forEach(function (v) {
      el("text", { x: W - R + 6, y: yAuc(v) + 4, class: "label" }, v.toFixed(1));
      el("text", { x: L - 6, y: yLoss(v * maxLoss) + 4, class: "label end" }, (v * maxLoss).toFixed(2));
    });
    el("line", { x1: L, y1: yAuc(0.5), x2: W - R, y2: yAuc(0.5), class: "chance" });
    history.forEach(function (h, i) {
      el("text", { x: x(i), y: H - B + 18, class: "label middle" }, String(h.epoch));
    });
    function series(values, y, cls) {
      const points = values.map(function (v, i) { return v === null || v === undefined ? null : x(i) + "," + y(v); })
        .filter(Boolean);
      if (points.length) el("polyline", { points: points.join(" "), class: "series " + cls });
      values.forEach(function (v, i) { if (v !== null && v !== undefined) el("circle", { cx: x(i), cy: y(v), r: 3.5, class: "dot " + cls }); });
    }
    series(losses, yLoss, "loss");
    series(history.map(function (h) { return h.score; }), yAuc, "auc");
    el("text", { x: (W - L - R) / 2 + L, y: H - 4, class: "label middle" }, "epoch");
    const body = document.querySelector("#epochs tbody");
    body.replaceChildren();
    history.forEach(function (h) {
      const tr = document.createElement("tr");
      const share = h.seconds ? ((h.augment_seconds || 0) / h.seconds * 100).toFixed(1) + " %" : "–";
      [h.epoch, (h.loss || 0).toFixed(4), h.score === undefined ? "–" : Number(h.score).toFixed(3),
        h.images_per_second ? Number(h.images_per_second).toFixed(1) : "–", share].forEach(function (v) {
        const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function update(job) {
    if (job.kind !== "trainingjob" || job.id !== jobId) return;
    if (job.history) { history = job.history; draw(); }
    document.getElementById("job-status").textContent = job.status;
    document.getElementById("job-message").textContent = job.message + (job.error ? " — " + job.error : "");
    document.getElementById("job-bar").style.width = job.percent + "%";
    document.getElementById("job-count").textContent = job.done + "/" + job.total + " epochs";
  }

  const status = document.getElementById("live-status");
  draw();
  liveSocket("/ws/jobs/", {
    status: status,
    open: function (again) { if (again) location.reload(); },  // epochs were missed
    message: function (data) { if (data.type === "job.update") update(data.job); },
  });
})();
