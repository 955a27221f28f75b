// Plain SVG charts: horizontal coverage bars with the target marked, and the 24-month trend.
// Each chart is drawn at the pixel width of its box (one SVG unit = one CSS pixel), so text keeps
// its CSS size on a phone instead of shrinking with the picture; the page redraws on resize.
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const NARROW = 560;  // below this width (px) labels go above the bars, axes get tighter

  function el(name, attrs = {}, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function start(svg, height) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const box = svg.parentNode, style = getComputedStyle(box);
    const inner = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const width = Math.max(280, Math.floor(inner) || 1000);
    size(svg, width, height);
    return width;
  }

  function size(svg, width, height) {
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
  }

  const isNumber = v => typeof v === "number" && !Number.isNaN(v);

  // rows: [{key, label, rate, target, active, drill}] — rate/target are fractions, null or
  // Format.WITHHELD. Without a denominator there is no rate: the row says so where the bar would
  // be and shows the active participants instead.
  function coverageBars(svg, rows, { lang, onDrill, emptyText, activeLabel, noDenominatorText }) {
    const probe = start(svg, 34);
    const narrow = probe < NARROW;
    const labelW = narrow ? 0 : Math.min(260, Math.round(probe * 0.28));
    const valueW = narrow ? 128 : 150;
    const rowH = narrow ? 44 : 26;
    const barTop = narrow ? 22 : 5;  // the bar's offset in its row (below the label when narrow)
    const height = Math.max(rows.length * rowH + 10, 34);
    const width = start(svg, height);
    if (!rows.length) {
      size(svg, width, 34);
      svg.appendChild(el("text", { x: 4, y: 20, class: "muted" }, emptyText || ""));
      return;
    }
    const maxValue = Math.max(1, ...rows.flatMap(r => [r.rate, r.target].filter(isNumber)));
    const plotW = width - labelW - valueW;
    const x = v => labelW + (v / maxValue) * plotW;
    svg.appendChild(el("line", { class: "axis", x1: labelW, x2: labelW, y1: 0, y2: height }));
    rows.forEach((row, i) => {
      const y = 6 + i * rowH;
      const g = el("g", { class: "row", "data-key": row.key, "data-rate": isNumber(row.rate) ? row.rate : "", "data-target": isNumber(row.target) ? row.target : "" });
      const label = narrow
        ? el("text", { x: 2, y: y + 13, class: row.drill ? "drill" : "" }, row.label)
        : el("text", { x: labelW - 8, y: y + 17, "text-anchor": "end", class: row.drill ? "drill" : "" }, row.label);
      if (row.drill) {
        label.setAttribute("role", "link");
        label.setAttribute("tabindex", "0");
        label.addEventListener("click", () => onDrill(row.key));
        label.addEventListener("keydown", e => { if (e.key === "Enter") onDrill(row.key); });
      }
      g.appendChild(label);
      const textY = y + barTop + 12;
      if (isNumber(row.rate)) {
        g.appendChild(el("rect", { class: "bar", x: labelW, y: y + barTop, height: 16, width: Math.max(0, x(row.rate) - labelW) }));
      } else if (row.rate === null && !Format.isWithheld(row.active)) {
        g.appendChild(el("text", { x: labelW + 6, y: textY, class: "no-denominator" }, noDenominatorText));
      }
      if (isNumber(row.target)) {
        const tx = x(row.target);
        const marker = el("line", { class: "target", x1: tx, x2: tx, y1: y + barTop - 4, y2: y + barTop + 20 });
        marker.appendChild(el("title", {}, Format.percent(row.target, lang)));
        g.appendChild(marker);
      }
      const value = row.rate === null
        ? `${Format.number(row.active, lang)} ${activeLabel}`
        : Format.percent(row.rate, lang) + (isNumber(row.target) ? ` / ${Format.percent(row.target, lang)}` : "");
      g.appendChild(el("text", { x: width - 4, y: textY, "text-anchor": "end", class: "value" }, value));
      svg.appendChild(g);
    });
  }

  // points: [{period, active, new, withdrawals}] oldest first; `chosen`: the first and last month
  // of the chosen period, shaded so that a quarter's or year's flows stand out.
  function trend(svg, points, { lang, labels, emptyText, chosen }) {
    const probe = start(svg, 34);
    const narrow = probe < NARROW;
    const left = narrow ? 52 : 80, right = 10, panelH = narrow ? 120 : 150, gap = 36, top = 10, bottom = 24;
    const height = top + panelH + gap + panelH + bottom;
    const width = start(svg, height);
    if (!points.length) {
      size(svg, width, 34);
      svg.appendChild(el("text", { x: 4, y: 20, class: "muted" }, emptyText || ""));
      return;
    }
    const step = (width - left - right) / points.length;
    const cx = i => left + step * (i + 0.5);
    const value = v => (isNumber(v) ? v : 0);

    const inPeriod = points.map(p => chosen && p.period >= chosen.first && p.period <= chosen.last);
    inPeriod.forEach((on, i) => {
      if (on) svg.appendChild(el("rect", { class: "chosen", x: left + step * i, y: 0, width: step, height: height - bottom, "data-period": points[i].period }));
    });

    // Panel 1: active participants (a stock) as a line.
    const maxActive = niceMax(Math.max(...points.map(p => value(p.active))));
    const yA = v => top + panelH - (v / maxActive) * panelH;
    axis(svg, left, width - right, top, panelH, maxActive, lang, labels.active);
    const path = points.map((p, i) => `${i ? "L" : "M"}${cx(i).toFixed(1)},${yA(value(p.active)).toFixed(1)}`).join(" ");
    svg.appendChild(el("path", { class: "line-active", d: path }));
    points.forEach((p, i) => {
      const dot = el("circle", { cx: cx(i), cy: yA(value(p.active)), r: 3, class: "bar", "data-period": p.period, "data-active": p.active });
      dot.appendChild(el("title", {}, `${Format.month(p.period, lang)}: ${Format.number(p.active, lang)}`));
      svg.appendChild(dot);
    });

    // Panel 2: new participants and withdrawals (flows) as paired bars.
    const top2 = top + panelH + gap;
    const maxFlow = niceMax(Math.max(...points.flatMap(p => [value(p.new), value(p.withdrawals)])));
    const yF = v => top2 + panelH - (v / maxFlow) * panelH;
    axis(svg, left, width - right, top2, panelH, maxFlow, lang, `${labels.new} · ${labels.withdrawals}`);
    const bw = Math.max(2, step * 0.35);
    // Month labels far enough apart not to overlap (a short label is up to ~75 px at 12 px).
    const every = Math.max(1, Math.ceil(100 / step));
    points.forEach((p, i) => {
      for (const [key, cls, dx] of [["new", "bar-new", -bw], ["withdrawals", "bar-withdrawn", 0]]) {
        const v = value(p[key]);
        const r = el("rect", { class: cls, x: cx(i) + dx, y: yF(v), width: bw, height: top2 + panelH - yF(v), "data-period": p.period, [`data-${key}`]: p[key] });
        r.appendChild(el("title", {}, `${Format.month(p.period, lang)}: ${Format.number(p[key], lang)}`));
        svg.appendChild(r);
      }
      if ((points.length - 1 - i) % every === 0) {
        // The last label ends at the right edge rather than being cut by it.
        const atEdge = cx(i) + 40 > width;
        svg.appendChild(el("text", { x: atEdge ? width - 2 : cx(i), y: height - 6, "text-anchor": atEdge ? "end" : "middle", class: "muted month" }, Format.month(p.period, lang, "short")));
      }
    });
  }

  function axis(svg, x1, x2, top, h, max, lang, title) {
    for (const f of [0, 0.5, 1]) {
      const y = top + h - f * h;
      svg.appendChild(el("line", { class: "axis", x1, x2, y1: y, y2: y }));
      svg.appendChild(el("text", { x: x1 - 6, y: y + 4, "text-anchor": "end", class: "muted" }, Format.number(max * f, lang)));
    }
    svg.appendChild(el("text", { x: x1 + 4, y: top + 12, class: "muted" }, title));
  }

  function niceMax(v) {
    if (v <= 10) return 10;  // counts: keep the axis labels whole numbers
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  return { coverageBars, trend };
})();
