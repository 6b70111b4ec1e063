// Small DOM and formatting helpers. Text always goes in as text (never as HTML): lead data
// such as emails and profiles comes from outside.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "className") {
      node.setAttribute("class", value);
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An HTML element: h("td", {className: "num"}, "12"). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function replace(target, ...nodes) {
  target.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined));
}

const CURRENCY = document.body.dataset.currency || "USD";
const intFmt = new Intl.NumberFormat("en-US");
const pctFmt = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });
const daysFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const wholeFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
let moneyFmt;
let moneyShortFmt;
try {
  moneyFmt = new Intl.NumberFormat("en-US", { style: "currency", currency: CURRENCY });
  moneyShortFmt = new Intl.NumberFormat("en-US", {
    style: "currency", currency: CURRENCY, notation: "compact", maximumFractionDigits: 1,
  });
} catch {
  moneyFmt = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2 });
  moneyShortFmt = new Intl.NumberFormat("en-US", { notation: "compact" });
}
const DASH = "—";

export const currency = CURRENCY;
export const int = (n) => (n === null || n === undefined ? DASH : intFmt.format(n));
export const pct = (r) => (r === null || r === undefined ? DASH : pctFmt.format(r));
export const days = (d) => (d === null || d === undefined ? DASH
  : `${(Math.abs(d) >= 10 ? wholeFmt : daysFmt).format(d)} d`);
export const money = (m) => (m === null || m === undefined ? DASH : moneyFmt.format(Number(m)));
export const moneyShort = (m) =>
  m === null || m === undefined ? DASH : moneyShortFmt.format(Number(m));

/** ROI as a signed percentage: +250% / −40%. */
export function roi(r) {
  if (r === null || r === undefined) return DASH;
  const text = pctFmt.format(Math.abs(r));
  return r > 0 ? `+${text}` : r < 0 ? `−${text}` : text;
}

const dateFmt = new Intl.DateTimeFormat("en-GB", {
  day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
});
const timeFmt = new Intl.DateTimeFormat("en-GB", {
  hour: "2-digit", minute: "2-digit", timeZone: "UTC", hourCycle: "h23",
});

/** "1 Sep 2026" (UTC), from an ISO time. */
export function date(iso) {
  if (!iso) return DASH;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFmt.format(d);
}

/** "1 Sep 2026, 10:00 UTC". */
export function dateTime(iso) {
  if (!iso) return DASH;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${dateFmt.format(d)}, ${timeFmt.format(d)} UTC`;
}

/** "10:00 UTC". */
export function time(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : `${timeFmt.format(d)} UTC`;
}

export function daysBetween(later, earlier) {
  if (!later || !earlier) return null;
  return (new Date(later).getTime() - new Date(earlier).getTime()) / 86400000;
}

/** "demo_requested" -> "Demo requested"; "fit:industry" -> "Fit: industry". */
export function humanize(name) {
  if (!name) return DASH;
  if (name.startsWith("fit:")) return `Fit: ${name.slice(4)}`;
  const text = name.replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "1 lead", "3 leads". */
export const plural = (n, word) => `${int(n)} ${word}${n === 1 ? "" : "s"}`;

/** A funnel stage's share of the cohort: "60% of leads". */
export function share(stage) {
  return stage.rate_from_captured === null ? "no leads" : `${pct(stage.rate_from_captured)} of leads`;
}

export const STAGES = ["captured", "mql", "sql", "converted", "won"];
export const STAGE_LABELS = {
  captured: "Captured", mql: "MQL", sql: "SQL", converted: "Converted", won: "Won",
};

/** A pill: h("span", {class: "pill pill-<kind>"}, text). */
export function pill(text, kind = "neutral") {
  return h("span", { className: `pill pill-${kind}` }, text);
}

export function statusKind(status) {
  return { New: "info", Working: "accent", Nurturing: "neutral", Unqualified: "bad",
    Converted: "good" }[status] || "neutral";
}

/** A card with a title and optional actions on the right. */
export function card(title, body, { actions = null, className = "", note = null } = {}) {
  return h("section", { className: `card ${className}` },
    h("div", { className: "card-head" },
      h("h2", {}, title),
      actions ? h("div", { className: "card-actions" }, actions) : null),
    note ? h("p", { className: "card-note" }, note) : null,
    body);
}

/** A segmented control; `onPick(value)` when a button is pressed. */
export function segmented(options, current, onPick, label) {
  return h("div", { className: "segmented", role: "group", "aria-label": label },
    options.map(([value, text]) => h("button", {
      type: "button", className: value === current ? "on" : "",
      "aria-pressed": value === current ? "true" : "false", dataset: { value },
      onclick: () => onPick(value),
    }, text)));
}
