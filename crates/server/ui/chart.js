// A small SVG line/area chart with time axis, grid, markers and a hover readout. Shared by the
// live dashboard and the backtest report (which inlines this file). A few hundred lines of SVG
// do everything these pages draw, so no chart library is vendored.
"use strict";
(function (ZQ) {
  const NS = "http://www.w3.org/2000/svg";

  function svgEl(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // Round tick values covering [lo, hi], about `count` of them.
  function ticks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / mag;
    const step = (norm >= 5 ? 10 : norm >= 2 ? 5 : norm >= 1 ? 2 : 1) * mag;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
    return out;
  }

  // Index of the point whose x is nearest to `x` (points sorted by x).
  function nearest(points, x) {
    let lo = 0;
    let hi = points.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (points[mid][0] < x) lo = mid; else hi = mid;
    }
    return Math.abs(points[lo][0] - x) <= Math.abs(points[hi][0] - x) ? lo : hi;
  }

  // Draws into `container` (replacing what was there).
  // opts: {
  //   height, series: [{points: [[x, y]...], cls, label, area}],
  //   markers: [{x, y, cls, title}], yFmt(v, tickStep), xFmt(x), hoverFmt(x), zeroLine, yMax
  // }  (yFmt gets the tick step on axis labels, to choose its decimals)
  // }
  function line(container, opts) {
    const width = Math.max(200, Math.floor(container.clientWidth || 600));
    const height = opts.height || 200;
    const m = { l: 62, r: 10, t: 8, b: 20 };
    const series = (opts.series || []).filter(s => s.points && s.points.length);
    container.textContent = "";
    const svg = svgEl("svg", {
      width: width, height: height, viewBox: "0 0 " + width + " " + height,
      class: "chart", role: "img", "aria-label": opts.label || "chart",
    }, container);
    if (!series.length) {
      const t = svgEl("text", { x: width / 2, y: height / 2, class: "chart-empty", "text-anchor": "middle" }, svg);
      t.textContent = opts.empty || "no data yet";
      return svg;
    }
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of series) {
      for (const p of s.points) {
        if (p[0] < x0) x0 = p[0];
        if (p[0] > x1) x1 = p[0];
        if (Number.isFinite(p[1])) {
          if (p[1] < y0) y0 = p[1];
          if (p[1] > y1) y1 = p[1];
        }
      }
    }
    for (const mk of opts.markers || []) {
      if (Number.isFinite(mk.y)) { y0 = Math.min(y0, mk.y); y1 = Math.max(y1, mk.y); }
    }
    if (opts.zeroLine) { y0 = Math.min(y0, 0); y1 = Math.max(y1, 0); }
    if (opts.yMax !== undefined) y1 = Math.max(y1, opts.yMax);
    if (!Number.isFinite(y0)) { y0 = 0; y1 = 1; }
    if (y1 === y0) { const d = Math.abs(y0) * 0.01 || 1; y0 -= d; y1 += d; }
    const pad = (y1 - y0) * 0.06;
    if (!(opts.yMax !== undefined && y1 === opts.yMax)) y1 += pad;
    y0 -= opts.zeroLine && y0 === 0 ? 0 : pad;
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    const W = width - m.l - m.r;
    const H = height - m.t - m.b;
    const sx = x => m.l + (x - x0) / (x1 - x0) * W;
    const sy = y => m.t + (1 - (y - y0) / (y1 - y0)) * H;
    const yFmt = opts.yFmt || (v => v.toFixed(2));
    const xFmt = opts.xFmt || (x => String(x));

    const grid = svgEl("g", { class: "chart-grid" }, svg);
    const yTicks = ticks(y0, y1, Math.max(2, Math.floor(H / 38)));
    const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 0;
    for (const v of yTicks) {
      const y = sy(v);
      svgEl("line", { x1: m.l, x2: width - m.r, y1: y, y2: y }, grid);
      const t = svgEl("text", { x: m.l - 6, y: y + 3.5, "text-anchor": "end", class: "chart-tick" }, grid);
      t.textContent = yFmt(Math.abs(v) < yStep * 1e-9 ? 0 : v, yStep);
    }
    const xCount = Math.max(2, Math.floor(W / 130));
    for (let i = 0; i <= xCount; i++) {
      const xv = x0 + (x1 - x0) * i / xCount;
      const x = sx(xv);
      svgEl("line", { x1: x, x2: x, y1: m.t, y2: m.t + H, class: "chart-vgrid" }, grid);
      const anchor = i === 0 ? "start" : i === xCount ? "end" : "middle";
      const t = svgEl("text", { x: x, y: height - 5, "text-anchor": anchor, class: "chart-tick" }, grid);
      t.textContent = xFmt(xv);
    }
    if (opts.zeroLine && y0 < 0 && y1 > 0) {
      svgEl("line", { x1: m.l, x2: width - m.r, y1: sy(0), y2: sy(0), class: "chart-zero" }, svg);
    }

    for (const s of series) {
      let d = "";
      let pen = false;
      for (const p of s.points) {
        if (!Number.isFinite(p[1])) { pen = false; continue; }
        d += (pen ? "L" : "M") + sx(p[0]).toFixed(1) + " " + sy(p[1]).toFixed(1);
        pen = true;
      }
      if (s.area && d) {
        const base = sy(Math.max(y0, Math.min(y1, s.areaBase === undefined ? y0 : s.areaBase)));
        const first = s.points.find(p => Number.isFinite(p[1]));
        const last = [...s.points].reverse().find(p => Number.isFinite(p[1]));
        const a = d + "L" + sx(last[0]).toFixed(1) + " " + base.toFixed(1) +
          "L" + sx(first[0]).toFixed(1) + " " + base.toFixed(1) + "Z";
        svgEl("path", { d: a, class: "chart-area " + (s.cls || "") }, svg);
      }
      svgEl("path", { d: d, class: "chart-line " + (s.cls || "") }, svg);
    }

    const mg = svgEl("g", { class: "chart-markers" }, svg);
    for (const mk of opts.markers || []) {
      if (!Number.isFinite(mk.x) || !Number.isFinite(mk.y)) continue;
      const x = sx(mk.x);
      const y = sy(mk.y);
      const up = mk.dir !== "down";
      const r = 5;
      const pts = up
        ? [x, y + 2, x - r, y + 2 + r * 1.6, x + r, y + 2 + r * 1.6]
        : [x, y - 2, x - r, y - 2 - r * 1.6, x + r, y - 2 - r * 1.6];
      const tri = svgEl("polygon", { points: pts.map(v => v.toFixed(1)).join(" "), class: "marker " + (mk.cls || "") }, mg);
      if (mk.title) { const t = svgEl("title", {}, tri); t.textContent = mk.title; }
    }

    // Hover: a vertical rule and a readout of every series at the nearest point.
    const rule = svgEl("line", { x1: 0, x2: 0, y1: m.t, y2: m.t + H, class: "chart-rule", visibility: "hidden" }, svg);
    const readout = svgEl("text", { x: m.l + 6, y: m.t + 12, class: "chart-readout" }, svg);
    const hoverFmt = opts.hoverFmt || xFmt;
    svg.addEventListener("mousemove", ev => {
      const box = svg.getBoundingClientRect();
      const px = ev.clientX - box.left;
      if (px < m.l || px > width - m.r) return;
      const xv = x0 + (px - m.l) / W * (x1 - x0);
      const main = series[0].points;
      const i = nearest(main, xv);
      const xs = sx(main[i][0]);
      rule.setAttribute("x1", xs);
      rule.setAttribute("x2", xs);
      rule.setAttribute("visibility", "visible");
      const parts = [hoverFmt(main[i][0])];
      for (const s of series) {
        const p = s.points[nearest(s.points, main[i][0])];
        parts.push((s.label ? s.label + " " : "") + (Number.isFinite(p[1]) ? yFmt(p[1]) : ZQ.fmt.DASH));
      }
      readout.textContent = parts.join("   ");
    });
    svg.addEventListener("mouseleave", () => {
      rule.setAttribute("visibility", "hidden");
      readout.textContent = "";
    });
    return svg;
  }

  // Decimals that tell ticks `step` apart when shown times `scale` (100 for percentages).
  function decimals(step, scale) {
    if (!(step > 0)) return 2;
    return Math.max(0, Math.min(6, Math.ceil(-Math.log10(step * (scale || 1)))));
  }

  // Drawdown (<= 0 fractions) of an equity curve: value / running peak - 1.
  function drawdown(points) {
    let peak = -Infinity;
    return points.map(p => {
      if (!Number.isFinite(p[1])) return [p[0], NaN];
      if (p[1] > peak) peak = p[1];
      return [p[0], peak > 0 ? p[1] / peak - 1 : 0];
    });
  }

  ZQ.chart = { line, drawdown, ticks, decimals };
})(window.ZQ = window.ZQ || {});
