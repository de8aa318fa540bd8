// The exam report: heatmap overlay on/off (checkbox or H) and its opacity, and printing.
(function () {
  "use strict";
  const report = document.getElementById("report");
  if (!report) return;
  const toggle = document.getElementById("heatmap-toggle");
  const opacity = document.getElementById("heatmap-opacity");

  function apply() {
    if (toggle) report.classList.toggle("heatmaps-off", !toggle.checked);
    if (opacity) report.style.setProperty("--heatmap-opacity", String(Number(opacity.value) / 100));
  }
  if (toggle) toggle.addEventListener("change", apply);
  if (opacity) opacity.addEventListener("input", apply);
  document.addEventListener("keydown", function (event) {
    // Typing in the comment box or a text field is not a shortcut; a focused checkbox or
    // slider is fine.
    const target = event.target;
    const typing = target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && !/^(checkbox|radio|range|button|submit)$/.test(target.type)));
    if (typing) return;
    if ((event.key === "h" || event.key === "H") && toggle && !event.ctrlKey && !event.metaKey) {
      toggle.checked = !toggle.checked;
      apply();
    }
  });
  const print = document.getElementById("print-report");
  if (print) print.addEventListener("click", function () { window.print(); });
  apply();
})();
