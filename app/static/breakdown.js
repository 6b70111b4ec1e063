// Conversion rates by source, campaign, owner or month; lead-source ROI by source or campaign.
import { getJSON } from "./api.js";
import { ratesChart, roiChart } from "./charts.js";
import * as f from "./dom.js";
import { kpi } from "./funnel.js";
import { filterParams } from "./state.js";
import { heat, sortableTable } from "./table.js";

const { h } = f;
const RATE_BY = [["source", "Source"], ["campaign", "Campaign"], ["owner", "Owner"],
  ["month", "Month"]];
const ROI_BY = [["source", "Source"], ["campaign", "Campaign"]];
const ratio = (a, b) => (b ? a / b : null);

function byLabel(options, by) {
  return (options.find(([value]) => value === by) || [by, by])[1];
}

export async function renderRates(state, nav) {
  const by = state.by || "source";
  const data = await getJSON("/conversion-rates", { ...filterParams(state), by });
  const sum = (k) => data.rows.reduce((n, r) => n + r[k], 0);
  const t = { key: "Total", leads: sum("leads"), mql: sum("mql"), sql: sum("sql"),
    converted: sum("converted"), won: sum("won") };
  Object.assign(t, {
    lead_to_mql: ratio(t.mql, t.leads), mql_to_sql: ratio(t.sql, t.mql),
    sql_to_converted: ratio(t.converted, t.sql), converted_to_won: ratio(t.won, t.converted),
    lead_to_converted: ratio(t.converted, t.leads),
  });
  const count = (key, label) => ({ key, label, numeric: true, render: (r) => f.int(r[key]) });
  const rate = (key, label) => ({ key, label, numeric: true, render: (r) => f.pct(r[key]),
    cell: (r, td) => heat(r[key], td) });
  const columns = [
    { key: "key", label: byLabel(RATE_BY, by) },
    count("leads", "Leads"), count("mql", "MQL"), count("sql", "SQL"),
    count("converted", "Converted"), count("won", "Won"),
    rate("lead_to_mql", "Lead → MQL"), rate("mql_to_sql", "MQL → SQL"),
    rate("sql_to_converted", "SQL → Conv."), rate("converted_to_won", "Conv. → Won"),
    rate("lead_to_converted", "Lead → Conv."),
  ];
  const picker = f.segmented(RATE_BY, by,
    (value) => nav.update({ by: value, sort: null, dir: null }), "Group by");
  const heads = h("div", { className: "kpis" },
    kpi("Leads", f.int(t.leads), `in ${f.plural(data.rows.length, "group")}`),
    kpi("Lead → MQL", f.pct(t.lead_to_mql)),
    kpi("MQL → SQL", f.pct(t.mql_to_sql)),
    kpi("Lead → Converted", f.pct(t.lead_to_converted)),
    kpi("Converted → Won", f.pct(t.converted_to_won), null, "good"));
  return [
    heads,
    f.card(`Conversion by ${byLabel(RATE_BY, by).toLowerCase()}`, ratesChart(data.rows),
      { actions: picker, note: "Stage counts per group, as nested bars; the share of leads "
        + "that converted at the right." }),
    f.card("Rates", data.rows.length ? sortableTable(columns, data.rows, {
      sort: state.sort || null, dir: state.dir || "desc", totals: t,
      onSort: (sort, dir) => nav.update({ sort, dir }, { replace: true }),
      rowProps: (r) => ({ dataset: { key: r.key } }),
    }) : h("p", { className: "empty" }, "No leads match these filters."), {
      className: "rates-table",
      note: "Each rate is from the previous stage; stage counts include leads that went further.",
    }),
  ];
}

function money(key, label) {
  return { key, label, numeric: true, render: (r) => f.money(r[key]),
    value: (r) => (r[key] === null ? null : Number(r[key])) };
}

export async function renderRoi(state, nav) {
  const by = state.roi_by || "source";
  const data = await getJSON("/roi", { ...filterParams(state, { owner: false }), by });
  const rows = data.rows;
  const sum = (k) => rows.reduce((n, r) => n + Number(r[k]), 0);
  const t = { key: "Total", spend: sum("spend"), leads: sum("leads"), mql: sum("mql"),
    sql: sum("sql"), converted: sum("converted"), opportunities: sum("opportunities"),
    won: sum("won"), won_revenue: sum("won_revenue") };
  t.cost_per_lead = t.leads ? t.spend / t.leads : null;
  t.cost_per_conversion = t.converted ? t.spend / t.converted : null;
  t.roi = t.spend ? (t.won_revenue - t.spend) / t.spend : null;
  const count = (key, label) => ({ key, label, numeric: true, render: (r) => f.int(r[key]) });
  const columns = [
    { key: "key", label: byLabel(ROI_BY, by) },
    money("spend", "Spend"), count("leads", "Leads"), count("mql", "MQL"), count("sql", "SQL"),
    count("converted", "Converted"), count("opportunities", "Opps"), count("won", "Won"),
    money("won_revenue", "Won revenue"), money("cost_per_lead", "Cost / lead"),
    money("cost_per_conversion", "Cost / conversion"),
    { key: "roi", label: "ROI", numeric: true, render: (r) => f.roi(r.roi),
      cell: (r, td) => td.classList.add(r.roi === null ? "muted" : r.roi >= 0 ? "good" : "bad") },
  ];
  const picker = f.segmented(ROI_BY, by,
    (value) => nav.update({ roi_by: value, sort: null, dir: null }), "Group by");
  const note = state.owner
    ? "ROI is by first touch and ignores the owner filter (spend has no owner)."
    : "First-touch attribution: won revenue of the cohort's opportunities against spend "
      + "whose period starts in the window.";
  return [
    h("div", { className: "kpis" },
      kpi("Spend", f.money(t.spend)),
      kpi("Won revenue", f.money(t.won_revenue), `${f.int(t.won)} won`, "good"),
      kpi("ROI", f.roi(t.roi), "(revenue − spend) / spend", t.roi === null ? "" : t.roi < 0 ? "bad" : "good"),
      kpi("Cost per lead", f.money(t.cost_per_lead), f.plural(t.leads, "lead")),
      kpi("Cost per conversion", f.money(t.cost_per_conversion), `${f.int(t.converted)} converted`)),
    f.card(`Spend and won revenue by ${byLabel(ROI_BY, by).toLowerCase()}`, roiChart([...rows].sort(
      (a, b) => Number(b.won_revenue) - Number(a.won_revenue) || Number(b.spend) - Number(a.spend))),
      { actions: picker, note }),
    f.card("Lead-source ROI", rows.length ? sortableTable(columns, rows, {
      sort: state.sort || "roi", dir: state.dir || "desc", totals: t,
      onSort: (sort, dir) => nav.update({ sort, dir }, { replace: true }),
      rowProps: (r) => ({ dataset: { key: r.key } }),
    }) : h("p", { className: "empty" }, "No spend and no leads for these filters."),
    { className: "roi-table", note: "Click a column to sort." }),
  ];
}
