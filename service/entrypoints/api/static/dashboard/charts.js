// Plain SVG charts: horizontal coverage bars with the target marked, and the 24-month trend.
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";

  function el(name, attrs = {}, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }

  // rows: [{key, label, rate, target, drill}] — rate/target are fractions or null.
  // Without a denominator there is no rate: the row then shows the active participants.
  function coverageBars(svg, rows, { lang, onDrill, emptyText, activeLabel }) {
    clear(svg);
    const width = 1000, labelW = 260, valueW = 150, rowH = 26, top = 6;
    const height = Math.max(rows.length * rowH + top + 4, 34);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    if (!rows.length) {
      svg.appendChild(el("text", { x: 4, y: 20, class: "muted" }, emptyText || ""));
      return;
    }
    const maxValue = Math.max(1, ...rows.flatMap(r => [r.rate || 0, r.target || 0]));
    const plotW = width - labelW - valueW;
    const x = v => labelW + (v / maxValue) * plotW;
    svg.appendChild(el("line", { class: "axis", x1: labelW, x2: labelW, y1: 0, y2: height }));
    rows.forEach((row, i) => {
      const y = top + i * rowH;
      const g = el("g", { class: "row", "data-key": row.key, "data-rate": row.rate ?? "", "data-target": row.target ?? "" });
      const label = el("text", { x: labelW - 8, y: y + 17, "text-anchor": "end", class: row.drill ? "drill" : "" }, row.label);
      if (row.drill) {
        label.setAttribute("role", "link");
        label.setAttribute("tabindex", "0");
        label.addEventListener("click", () => onDrill(row.key));
        label.addEventListener("keydown", e => { if (e.key === "Enter") onDrill(row.key); });
      }
      g.appendChild(label);
      if (row.rate !== null && row.rate !== undefined) {
        g.appendChild(el("rect", { class: "bar", x: labelW, y: y + 5, height: rowH - 10, width: Math.max(0, x(row.rate) - labelW) }));
      }
      if (row.target !== null && row.target !== undefined) {
        const tx = x(row.target);
        const marker = el("line", { class: "target", x1: tx, x2: tx, y1: y + 1, y2: y + rowH - 1 });
        marker.appendChild(el("title", {}, Format.percent(row.target, lang)));
        g.appendChild(marker);
      }
      const value = row.rate == null
        ? `${Format.number(row.active, lang)} ${activeLabel}`
        : Format.percent(row.rate, lang) + (row.target != null ? ` / ${Format.percent(row.target, lang)}` : "");
      g.appendChild(el("text", { x: width - valueW + 8, y: y + 17, class: "value" }, value));
      svg.appendChild(g);
    });
  }

  // points: [{period, active, new, withdrawals}] oldest first.
  function trend(svg, points, { lang, labels, emptyText }) {
    clear(svg);
    const width = 1000, left = 80, right = 20, panelH = 150, gap = 40, top = 10, bottom = 24;
    const height = top + panelH + gap + panelH + bottom;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    if (!points.length) {
      svg.appendChild(el("text", { x: 4, y: 20, class: "muted" }, emptyText || ""));
      svg.setAttribute("viewBox", `0 0 ${width} 34`);
      return;
    }
    const step = (width - left - right) / points.length;
    const cx = i => left + step * (i + 0.5);

    // Panel 1: active participants (a stock) as a line.
    const maxActive = niceMax(Math.max(...points.map(p => p.active || 0)));
    const yA = v => top + panelH - (v / maxActive) * panelH;
    axis(svg, left, width - right, top, panelH, maxActive, lang, labels.active);
    const path = points.map((p, i) => `${i ? "L" : "M"}${cx(i).toFixed(1)},${yA(p.active || 0).toFixed(1)}`).join(" ");
    svg.appendChild(el("path", { class: "line-active", d: path }));
    points.forEach((p, i) => {
      const dot = el("circle", { cx: cx(i), cy: yA(p.active || 0), r: 3, class: "bar", "data-period": p.period, "data-active": p.active });
      dot.appendChild(el("title", {}, `${Format.month(p.period)}: ${Format.number(p.active, lang)}`));
      svg.appendChild(dot);
    });

    // Panel 2: new participants and withdrawals (flows) as paired bars.
    const top2 = top + panelH + gap;
    const maxFlow = niceMax(Math.max(...points.flatMap(p => [p.new || 0, p.withdrawals || 0])));
    const yF = v => top2 + panelH - (v / maxFlow) * panelH;
    axis(svg, left, width - right, top2, panelH, maxFlow, lang, `${labels.new} · ${labels.withdrawals}`);
    const bw = Math.max(2, step * 0.35);
    points.forEach((p, i) => {
      for (const [key, cls, dx] of [["new", "bar-new", -bw], ["withdrawals", "bar-withdrawn", 0]]) {
        const v = p[key] || 0;
        const r = el("rect", { class: cls, x: cx(i) + dx, y: yF(v), width: bw, height: top2 + panelH - yF(v), "data-period": p.period, [`data-${key}`]: v });
        r.appendChild(el("title", {}, `${Format.month(p.period)}: ${Format.number(v, lang)}`));
        svg.appendChild(r);
      }
      if (i % 3 === 0 || i === points.length - 1) {
        svg.appendChild(el("text", { x: cx(i), y: height - 6, "text-anchor": "middle", class: "muted" }, Format.month(p.period)));
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
