// The exam report: heatmap overlay on/off (checkbox or H) and its opacity, and printing.
(function () {
  "use strict";
  const report = document.getElementById("report");
  if (!report) return;
  const toggle = document.getElementById("heatmap-toggle");
  const opacity = document.getElementById("heatmap-opacity");
  const model = document.getElementById("heatmap-model");

  function apply() {
    if (toggle) report.classList.toggle("heatmaps-off", !toggle.checked);
    if (opacity) report.style.setProperty("--heatmap-opacity", String(Number(opacity.value) / 100));
    if (model) report.classList.toggle("map-darknet", model.value === "darknet");
  }
  if (toggle) toggle.addEventListener("change", apply);
  if (opacity) opacity.addEventListener("input", apply);
  if (model) model.addEventListener("change", apply);
  document.addEventListener("keydown", function (event) {
    // Typing in the comment box or a text field is not a shortcut; a focused checkbox or
    // slider is fine.
    const target = event.target;
    const typing = target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && !/^(checkbox|radio|range|button|submit)$/.test(target.type)));
    if (typing) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if ((event.key === "h" || event.key === "H") && toggle) {
      toggle.checked = !toggle.checked;
      apply();
    } else if ((event.key === "m" || event.key === "M") && model) {
      model.value = model.value === "resnet" ? "darknet" : "resnet";  // the other network
      apply();
    }
  });
  // An exam still waiting for its result: the page reloads when the result is stored.
  const pending = document.getElementById("pending");
  if (pending && pending.dataset.socket) {
    liveSocket(pending.dataset.socket, {
      open: function (again) {
        pending.dataset.live = "1";
        if (again) location.reload();  // the result may have come meanwhile
      },
      message: function (data) {
        const row = data.row || {};
        if (data.type === "exam.result" && String(row.exam_id) === pending.dataset.exam &&
            (row.status === "scored" || row.status === "not_scorable")) {
          location.reload();
        }
      },
    });
  }
  const print = document.getElementById("print-report");
  if (print) print.addEventListener("click", function () { window.print(); });
  apply();
})();
