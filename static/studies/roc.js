// ROC plot of a reader study's results page, drawn as SVG from the page's JSON
// (#results-data: {study, roc}, see docs/reader_study_results.md). No library.
// Each reader has a colour; the reference modality is dashed, the other solid (a third
// dotted). Operating points from the yes/no decisions: hollow in the reference modality,
// filled in the other, joined by an arrow (before -> after). The AI alone is bold.
(function () {
  "use strict";
  const source = document.getElementById("results-data");
  const svg = document.getElementById("roc-plot");
  const legend = document.getElementById("roc-legend");
  if (!source || !svg) return;
  const data = JSON.parse(source.textContent);
  const NS = "http://www.w3.org/2000/svg";
  // Okabe-Ito and a few more: distinguishable, and readable on white paper.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
    "#7F3C8D", "#8C6D31", "#3969AC", "#E73F74", "#11A579", "#80BA5A", "#A5AA99", "#F97B72"];
  const DASHES = ["7 5", "", "2 4", "10 3 2 3"];
  const SIZE = 440, LEFT = 60, TOP = 14, RIGHT = 20, BOTTOM = 52, RADIUS = 5;
  const x = (fpr) => LEFT + fpr * SIZE;
  const y = (tpr) => TOP + (1 - tpr) * SIZE;

  function el(name, attrs, parent, text) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  const fmt = (value) => (value === null || value === undefined ? "—" : value.toFixed(3));

  const modalities = data.study.modalities;
  const reference = data.study.reference;
  const readers = data.study.readers;
  const colour = Object.fromEntries(readers.map((r, i) => [r, PALETTE[i % PALETTE.length]]));
  const dash = Object.fromEntries(modalities.map((m, i) => [m, DASHES[i % DASHES.length]]));

  svg.setAttribute("viewBox", `0 0 ${LEFT + SIZE + RIGHT} ${TOP + SIZE + BOTTOM}`);
  svg.replaceChildren();
  const defs = el("defs", {}, svg);
  readers.forEach((reader, i) => {
    const marker = el("marker", {
      id: `roc-arrow-${i}`, viewBox: "0 0 10 10", refX: "9", refY: "5",
      // userSpaceOnUse: the head keeps its size whatever the line's width.
      markerWidth: "11", markerHeight: "11", orient: "auto", markerUnits: "userSpaceOnUse",
    }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z", fill: colour[reader] }, marker);
  });

  // Frame, grid, ticks, axis titles, chance diagonal.
  const axes = el("g", { class: "roc-axes" }, svg);
  for (let i = 0; i <= 5; i++) {
    const v = i / 5;
    el("line", { class: "roc-grid", x1: x(v), x2: x(v), y1: y(0), y2: y(1) }, axes);
    el("line", { class: "roc-grid", x1: x(0), x2: x(1), y1: y(v), y2: y(v) }, axes);
    el("text", { class: "roc-tick", x: x(v), y: y(0) + 18, "text-anchor": "middle" }, axes, v.toFixed(1));
    el("text", { class: "roc-tick", x: x(0) - 8, y: y(v) + 4, "text-anchor": "end" }, axes, v.toFixed(1));
  }
  el("rect", { class: "roc-frame", x: x(0), y: y(1), width: SIZE, height: SIZE }, axes);
  el("text", { class: "roc-title", x: x(0.5), y: y(0) + 42, "text-anchor": "middle" },
    axes, "1 − specificity (false-positive rate)");
  el("text", {
    class: "roc-title", x: 16, y: y(0.5), "text-anchor": "middle",
    transform: `rotate(-90 16 ${y(0.5)})`,
  }, axes, "Sensitivity (true-positive rate)");
  el("line", { class: "roc-diagonal", x1: x(0), y1: y(0), x2: x(1), y2: y(1) }, axes);

  const path = (fpr, tpr) => fpr.map((f, i) => `${i ? "L" : "M"}${x(f).toFixed(2)},${y(tpr[i]).toFixed(2)}`).join(" ");

  // Curves: one path per reader and modality.
  const curves = el("g", { class: "roc-curves" }, svg);
  for (const entry of data.roc.readers) {
    if (!entry.fpr.length) continue;
    const line = el("path", {
      class: "roc-curve", d: path(entry.fpr, entry.tpr), stroke: colour[entry.reader],
      "data-reader": entry.reader, "data-modality": entry.modality,
    }, curves);
    if (dash[entry.modality]) line.setAttribute("stroke-dasharray", dash[entry.modality]);
    el("title", {}, line, `Reader ${entry.reader}, ${entry.modality}: AUC ${fmt(entry.auc)}`);
  }
  const ai = data.roc.ai;
  if (ai && ai.fpr.length) {
    const line = el("path", { class: "roc-curve-ai", d: path(ai.fpr, ai.tpr) }, curves);
    el("title", {}, line, `AI alone: AUC ${fmt(ai.auc)}`);
  }

  // Operating points and the arrows from the reference modality to each other one.
  const points = el("g", { class: "roc-points" }, svg);
  const byKey = {};
  for (const entry of data.roc.readers) {
    if (entry.operating_point) byKey[`${entry.modality}\u0000${entry.reader}`] = entry.operating_point;
  }
  readers.forEach((reader, i) => {
    const before = byKey[`${reference}\u0000${reader}`];
    for (const modality of modalities) {
      if (modality === reference) continue;
      const after = byKey[`${modality}\u0000${reader}`];
      if (!before || !after) continue;
      const [x1, y1, x2, y2] = [x(before.fpr), y(before.tpr), x(after.fpr), y(after.tpr)];
      const length = Math.hypot(x2 - x1, y2 - y1);
      // Stop at the edge of the filled point so the head stays visible.
      const cut = length > 2 * RADIUS ? (length - RADIUS - 1) / length : 1;
      const arrow = el("line", {
        class: "op-arrow", x1, y1, x2: x1 + (x2 - x1) * cut, y2: y1 + (y2 - y1) * cut,
        stroke: colour[reader], "data-reader": reader, "data-modality": modality,
      }, points);
      if (length > 2 * RADIUS) arrow.setAttribute("marker-end", `url(#roc-arrow-${i})`);
      el("title", {}, arrow, `Reader ${reader}: ${reference} → ${modality}`);
    }
  });
  for (const entry of data.roc.readers) {
    const point = entry.operating_point;
    if (!point) continue;
    const hollow = entry.modality === reference;
    const dot = el("circle", {
      class: `op-point${hollow ? " before" : " after"}`, cx: x(point.fpr), cy: y(point.tpr),
      r: RADIUS, stroke: colour[entry.reader], fill: hollow ? "none" : colour[entry.reader],
      "data-reader": entry.reader, "data-modality": entry.modality,
    }, points);
    el("title", {}, dot, `Reader ${entry.reader}, ${entry.modality}: sensitivity ` +
      `${fmt(point.tpr)}, 1 − specificity ${fmt(point.fpr)}`);
  }
  if (ai && ai.operating_point) {
    const { fpr, tpr } = ai.operating_point;
    const s = RADIUS + 2;
    const diamond = el("path", {
      class: "op-point-ai",
      d: `M${x(fpr)},${y(tpr) - s} L${x(fpr) + s},${y(tpr)} L${x(fpr)},${y(tpr) + s} L${x(fpr) - s},${y(tpr)} z`,
    }, points);
    el("title", {}, diamond, `AI alone: sensitivity ${fmt(tpr)}, 1 − specificity ${fmt(fpr)}`);
  }

  // Legend (HTML, so it wraps and prints): readers with their AUC per modality, line styles.
  if (!legend) return;
  legend.replaceChildren();
  const auc = {};
  for (const entry of data.roc.readers) auc[`${entry.modality}\u0000${entry.reader}`] = entry.auc;
  const swatch = (stroke, dasharray, width, extra) => {
    const box = el("svg", { width: 34, height: 12, viewBox: "0 0 34 12", class: "swatch" });
    const line = el("line", { x1: 1, y1: 6, x2: 33, y2: 6, stroke, "stroke-width": width }, box);
    if (dasharray) line.setAttribute("stroke-dasharray", dasharray);
    if (extra) extra(box);
    return box;
  };
  const list = document.createElement("ul");
  legend.appendChild(list);
  function item(box, text, reader) {
    const li = document.createElement("li");
    li.appendChild(box);
    li.appendChild(document.createTextNode(" " + text));
    if (reader !== undefined) {
      li.dataset.reader = reader;
      li.tabIndex = 0;
      const focus = (on) => {
        svg.classList.toggle("focus", on);
        svg.querySelectorAll("[data-reader]").forEach((node) =>
          node.classList.toggle("focused", on && node.dataset.reader === reader));
      };
      li.addEventListener("mouseenter", () => focus(true));
      li.addEventListener("mouseleave", () => focus(false));
      li.addEventListener("focus", () => focus(true));
      li.addEventListener("blur", () => focus(false));
    }
    list.appendChild(li);
    return li;
  }
  for (const reader of readers) {
    const aucs = modalities.map((m) => `${m} ${fmt(auc[`${m}\u0000${reader}`])}`).join(", ");
    item(swatch(colour[reader], "", 3), `Reader ${reader} (AUC ${aucs})`, reader);
  }
  for (const modality of modalities) {
    item(swatch("currentColor", dash[modality], 2),
      `${modality}${modality === reference ? " (reference)" : ""}`);
  }
  if (ai && ai.fpr.length) {
    const li = item(swatch("currentColor", "", 4), `AI alone (AUC ${fmt(ai.auc)})`);
    li.classList.add("legend-ai");
  }
  if (Object.keys(byKey).length) {
    item(swatch("currentColor", "", 1.5, (box) => {
      el("circle", { cx: 5, cy: 6, r: 4, fill: "none", stroke: "currentColor" }, box);
      el("circle", { cx: 29, cy: 6, r: 4, fill: "currentColor" }, box);
    }), "operating point before → after AI (yes/no decision)");
  }
  item(swatch("currentColor", "3 3", 1), "chance (AUC 0.5)");
})();
