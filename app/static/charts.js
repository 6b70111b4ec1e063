// Inline SVG charts: the funnel, conversion by key and spend vs won revenue by key.
import * as f from "./dom.js";

const { s, h } = f;
// Charts are drawn about as wide as they show on screen, so that their text keeps its size.
const W = 1160;
const STAGE_COLORS = ["#6f87ea", "#5873e2", "#4561d8", "#3451d1", "#1f8a5b"];
const NESTED_COLORS = ["#d3dbfa", "#a3b4f5", "#6f88ea", "#3451d1", "#1f8a5b"];

function empty(text) {
  return h("p", { className: "empty" }, text);
}

function activate(node, handler) {
  node.addEventListener("click", handler);
  node.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      handler(e);
    }
  });
}

function chip(x, y, count, label, kind, onClick) {
  const text = `${f.int(count)} ${label}`;
  const width = 22 + text.length * 8;
  const g = s("g", {
    className: `chip chip-${count ? kind : "zero"}`, role: "button", tabindex: 0,
    "aria-label": `${text}: list them`,
  },
  s("rect", { x, y, width, height: 26, rx: 13 }),
  s("text", { x: x + width / 2, y: y + 18, "text-anchor": "middle" }, text));
  activate(g, (e) => {
    e.stopPropagation();
    onClick();
  });
  return [g, width];
}

/** The funnel: one row per stage (count bar, share of leads, step conversion and median
 * days, stuck and dropped); `onSelect(stage, list)` when a row or a chip is clicked. */
export function funnelChart(stages, { selected = null, onSelect = () => {} } = {}) {
  const top = 34;
  const rowH = 66;
  const barH = 44;
  const cx = 450;
  const maxW = 460;
  const height = top + stages.length * rowH - 6;
  const max = Math.max(1, ...stages.map((st) => st.count));
  const widths = stages.map((st) => (st.count ? Math.max(6, (maxW * st.count) / max) : 2));
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${height}`, className: "chart funnel-chart", role: "img",
    "aria-label": "Funnel by stage",
  });
  const heads = [[14, "Stage", "start"], [cx, "Leads", "middle"],
    [740, "From previous stage", "start"], [950, "Stuck · dropped", "start"]];
  for (const [x, text, anchor] of heads) {
    svg.append(s("text", { x, y: 16, className: "col-head", "text-anchor": anchor }, text));
  }
  stages.forEach((st, i) => {
    const y = top + i * rowH;
    const w = widths[i];
    if (i + 1 < stages.length) {
      const next = widths[i + 1];
      svg.append(s("polygon", {
        className: "flow",
        points: `${cx - w / 2},${y + barH} ${cx + w / 2},${y + barH} `
          + `${cx + next / 2},${y + rowH} ${cx - next / 2},${y + rowH}`,
      }));
    }
    const label = f.STAGE_LABELS[st.stage] || st.stage;
    const g = s("g", {
      className: `stage-row${selected === st.stage ? " selected" : ""}`,
      dataset: { stage: st.stage }, role: "button", tabindex: 0,
      "aria-label": `${label}: ${st.count} leads; list them`,
    });
    g.append(
      s("rect", { className: "hit", x: 0, y: y - 6, width: W, height: barH + 12, rx: 8 }),
      s("text", { x: 14, y: y + 20, className: "stage-name" }, label),
      s("text", { x: 14, y: y + 38, className: "muted small" },
        i === 0 ? "all leads in the cohort" : f.share(st)),
      s("rect", {
        x: cx - w / 2, y, width: w, height: barH, rx: 6, fill: STAGE_COLORS[i % 5],
        className: "bar",
      }),
    );
    const inside = w > 80;
    g.append(s("text", {
      x: inside ? cx : cx + w / 2 + 8, y: y + 29, className: `count${inside ? " inside" : ""}`,
      "text-anchor": inside ? "middle" : "start", dataset: { stage: st.stage },
    }, f.int(st.count)));
    if (i === 0) {
      g.append(s("text", { x: 740, y: y + 27, className: "muted" }, "cohort start"));
    } else {
      g.append(
        s("text", { x: 740, y: y + 22, className: "rate", dataset: { stage: st.stage } },
          f.pct(st.rate_from_previous)),
        s("text", { x: 740, y: y + 40, className: "muted small" },
          st.median_days_from_previous === null ? "no median yet"
            : `median ${f.days(st.median_days_from_previous)} from ${f.STAGE_LABELS[stages[i - 1].stage]}`),
      );
    }
    let x = 950;
    if (st.stage !== "won") {
      const [stuck, width] = chip(x, y + 9, st.stuck, "stuck", "warn",
        () => onSelect(st.stage, "stuck"));
      g.append(stuck);
      x += width + 8;
    }
    g.append(chip(x, y + 9, st.dropped, "dropped", "bad", () => onSelect(st.stage, "dropped"))[0]);
    activate(g, () => onSelect(st.stage, "all"));
    svg.append(g);
  });
  return svg;
}

function legend(items) {
  return h("div", { className: "legend" }, items.map(([color, text]) =>
    h("span", {}, s("svg", { viewBox: "0 0 12 12", className: "swatch" },
      s("rect", { width: 12, height: 12, rx: 3, fill: color })), text)));
}

/** Conversion by key: per key, the stage counts as nested bars (a small funnel). */
export function ratesChart(rows) {
  if (!rows.length) return empty("No leads match these filters.");
  const rowH = 34;
  const x0 = 200;
  const span = 720;
  const height = rows.length * rowH + 6;
  const max = Math.max(1, ...rows.map((r) => r.leads));
  const keys = ["leads", "mql", "sql", "converted", "won"];
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, className: "chart", role: "img",
    "aria-label": "Stage counts by key" });
  rows.forEach((row, i) => {
    const y = 4 + i * rowH;
    svg.append(s("text", { x: x0 - 12, y: y + 19, "text-anchor": "end", className: "key" },
      clip(row.key, 24)));
    keys.forEach((k, j) => {
      const width = (span * row[k]) / max;
      if (width > 0) {
        svg.append(s("rect", { x: x0, y: y + 2, width: Math.max(width, 2), height: 24, rx: 4,
          fill: NESTED_COLORS[j] }));
      }
    });
    svg.append(s("text", { x: x0 + (span * row.leads) / max + 8, y: y + 19, className: "small" },
      f.plural(row.leads, "lead")));
    svg.append(s("text", { x: W - 8, y: y + 19, "text-anchor": "end", className: "rate" },
      `${f.pct(row.lead_to_converted)} converted`));
  });
  return h("div", {}, legend(keys.map((k, j) => [NESTED_COLORS[j],
    k === "leads" ? "Leads" : f.STAGE_LABELS[k]])), svg);
}

/** Spend against won revenue by key, with the ROI at the right. */
export function roiChart(rows) {
  if (!rows.length) return empty("No spend and no leads for these filters.");
  const rowH = 50;
  const x0 = 200;
  const span = 660;
  const height = rows.length * rowH + 6;
  const max = Math.max(1, ...rows.flatMap((r) => [Number(r.spend), Number(r.won_revenue)]));
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, className: "chart", role: "img",
    "aria-label": "Spend and won revenue by key" });
  rows.forEach((row, i) => {
    const y = 6 + i * rowH;
    svg.append(s("text", { x: x0 - 12, y: y + 25, "text-anchor": "end", className: "key" },
      clip(row.key, 24)));
    [[Number(row.spend), "#9aa5b8", 0], [Number(row.won_revenue), "#1f8a5b", 20]]
      .forEach(([value, color, dy]) => {
        const width = Math.max(2, (span * value) / max);
        svg.append(
          s("rect", { x: x0, y: y + dy, width, height: 16, rx: 3, fill: color }),
          s("text", { x: x0 + width + 6, y: y + dy + 13, className: "small" }, f.money(value)),
        );
      });
    const kind = row.roi === null ? "muted" : row.roi >= 0 ? "good" : "bad";
    svg.append(s("text", { x: W - 8, y: y + 25, "text-anchor": "end", className: `roi ${kind}` },
      row.roi === null ? "no spend" : `ROI ${f.roi(row.roi)}`));
  });
  return h("div", {}, legend([["#9aa5b8", "Spend"], ["#1f8a5b", "Won revenue"]]), svg);
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
