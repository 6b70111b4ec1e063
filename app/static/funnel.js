// The funnel view: headline numbers, the funnel chart and, for a clicked stage, its leads.
import { allLeads, getJSON } from "./api.js";
import { funnelChart } from "./charts.js";
import * as f from "./dom.js";
import { filterParams, switchView, urlOf } from "./state.js";
import { sortableTable } from "./table.js";

const { h } = f;

export function kpi(label, value, sub = null, kind = "") {
  return h("div", { className: `kpi ${kind}`, dataset: { kpi: label } },
    h("div", { className: "kpi-label" }, label),
    h("div", { className: "kpi-value" }, value),
    sub ? h("div", { className: "kpi-sub" }, sub) : null);
}

function kpis(stages, stuckDays) {
  const by = Object.fromEntries(stages.map((st) => [st.stage, st]));
  const total = (key) => stages.reduce((n, st) => n + st[key], 0);
  return h("div", { className: "kpis" },
    kpi("Leads", f.int(by.captured.count), "captured in the cohort"),
    kpi("MQL", f.int(by.mql.count), f.share(by.mql)),
    kpi("Converted", f.int(by.converted.count), f.share(by.converted)),
    kpi("Won", f.int(by.won.count), f.share(by.won), "good"),
    kpi("Stuck", f.int(total("stuck")), `idle over ${stuckDays} days at a stage`, "warn"),
    kpi("Dropped", f.int(total("dropped")), "unqualified or lost", "bad"));
}

export async function renderFunnel(state, nav) {
  const data = await getJSON("/funnel", filterParams(state, { stuck: true }));
  const stuckDays = data.query.stuck_days;
  const select = (stage, list) => {
    const same = state.stage === stage && (state.list || "all") === list;
    nav.update({ stage: same ? null : stage, list: list === "all" ? null : list });
  };
  const none = data.stages[0].count === 0
    ? h("p", { className: "empty" }, "No leads match these filters: widen the cohort window or "
      + "clear a filter.") : null;
  const chart = f.card("Funnel", [none,
    funnelChart(data.stages, { selected: state.stage, onSelect: select })],
    { note: "Leads that reached each stage (or a later one) by the as-of time. "
      + "Click a stage, or its stuck and dropped counts, to list those leads." });
  const parts = [kpis(data.stages, stuckDays), chart];
  if (state.stage && f.STAGES.includes(state.stage)) {
    parts.push(await stageLeads(state, stuckDays, nav));
  }
  return parts;
}

function within(iso, state) {
  const t = new Date(iso).getTime();
  const bound = (value) => {
    if (!value) return null;
    const v = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
    const n = new Date(v).getTime();
    return Number.isNaN(n) ? null : n;
  };
  const from = bound(state.from);
  const to = bound(state.to);
  return (from === null || t >= from) && (to === null || t < to);
}

function flagOf(lead, stage, stuckDays) {
  if (lead.status === "Unqualified" || lead.outcome === "lost") return "dropped";
  const reached = lead[`${stage}_at`];
  if (stage !== "won" && reached && f.daysBetween(new Date().toISOString(), reached) > stuckDays) {
    return "stuck";
  }
  return null;
}

async function stageLeads(state, stuckDays, nav) {
  const stage = state.stage;
  const list = ["stuck", "dropped"].includes(state.list) ? state.list : "all";
  const params = { stage, owner: state.owner, source: state.source };
  const { items, truncated } = await allLeads(params);
  const leads = items
    .filter((l) => !state.campaign || (l.campaign ?? "(none)") === state.campaign)
    .filter((l) => within(l.captured_at, state))
    .map((l) => ({ ...l, flag: flagOf(l, stage, stuckDays),
      days_here: f.daysBetween(new Date().toISOString(), l[`${stage}_at`]) }))
    .filter((l) => list === "all" || l.flag === list);
  const label = f.STAGE_LABELS[stage];
  const link = (lead) => h("a", {
    href: urlOf(switchView(state, "lead", { lead: lead.id })),
    onclick: (e) => {
      e.preventDefault();
      nav.go(switchView(state, "lead", { lead: lead.id }));
    },
  }, lead.email);
  const columns = [
    { key: "email", label: "Email", render: link },
    { key: "status", label: "Status", render: (l) => f.pill(l.status, f.statusKind(l.status)) },
    { key: "owner", label: "Owner", render: (l) => l.owner ?? "unassigned" },
    { key: "source", label: "Source" },
    { key: "campaign", label: "Campaign", render: (l) => l.campaign ?? "(none)" },
    { key: "score", label: "Score", numeric: true },
    { key: "captured_at", label: "Captured", render: (l) => f.date(l.captured_at) },
    stage === "captured" ? null
      : { key: `${stage}_at`, label: `Reached ${label}`, render: (l) => f.date(l[`${stage}_at`]) },
    { key: "days_here", label: "Days since", numeric: true, render: (l) => f.days(l.days_here) },
    { key: "flag", label: "Flag", render: (l) => (l.flag === "stuck" ? f.pill("Stuck", "warn")
      : l.flag === "dropped" ? f.pill("Dropped", "bad") : "") },
  ].filter(Boolean);
  const table = leads.length
    ? sortableTable(columns, leads, {
      sort: state.sort || "days_here", dir: state.dir || "desc",
      onSort: (sort, dir) => nav.update({ sort, dir }, { replace: true }),
      rowProps: (l) => ({ dataset: { leadId: l.id } }),
    })
    : h("p", { className: "empty" }, "No leads here for these filters.");
  const filter = f.segmented([["all", "All"], ["stuck", "Stuck"], ["dropped", "Dropped"]], list,
    (value) => nav.update({ list: value === "all" ? null : value }), "Which leads");
  const close = h("button", { type: "button", className: "ghost",
    onclick: () => nav.update({ stage: null, list: null, sort: null, dir: null }) }, "Close");
  const note = `Leads whose current stage is ${label} (their state now, from GET /leads`
    + `${state.as_of ? "; not as of the date above" : ""}); stuck means more than ${stuckDays}`
    + ` days since reaching it.${truncated ? " Showing the first 1,000." : ""}`;
  return f.card(`${f.plural(leads.length, list === "all" ? "lead" : `${list} lead`)} at ${label}`,
    table, { actions: [filter, close], note, className: "stage-leads" });
}
