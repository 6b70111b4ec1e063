// The lead page: search by email, then profile, status, owner, score with each event's
// points, stage timeline and conversion result of one lead.
import { getJSON } from "./api.js";
import * as f from "./dom.js";
import { switchView, urlOf } from "./state.js";

const { h } = f;

export function searchForm(state, nav) {
  const input = h("input", { type: "search", name: "email", id: "lead-email",
    placeholder: "someone@example.com", value: state.email || "", "aria-label": "Email" });
  return h("form", { className: "lead-search", role: "search",
    onsubmit: (e) => {
      e.preventDefault();
      const email = input.value.trim();
      nav.go(switchView(state, "lead", email ? { email } : {}));
    } },
  h("label", { for: "lead-email" }, "Find a lead by email"), input,
  h("button", { type: "submit", className: "primary" }, "Search"));
}

export async function renderLead(state, nav) {
  const parts = [searchForm(state, nav)];
  if (state.lead) {
    parts.push(leadDetail(await getJSON(`/leads/${encodeURIComponent(state.lead)}`)));
  } else if (state.email) {
    const page = await getJSON("/leads", { email: state.email, limit: 20 });
    if (page.items.length === 1) {
      parts.push(leadDetail(page.items[0]));
    } else if (!page.items.length) {
      parts.push(h("p", { className: "empty" }, `No lead has the email ${state.email}.`));
    } else {
      parts.push(f.card("Leads with this email", h("ul", { className: "plain" },
        page.items.map((l) => h("li", {}, h("a", { href: urlOf(switchView(state, "lead",
          { lead: l.id })) }, `${l.email} · ${l.status} · captured ${f.date(l.captured_at)}`))))));
    }
  } else {
    parts.push(h("p", { className: "empty" },
      "Search for a lead by email, or click a lead in the funnel's stage lists."));
  }
  return parts;
}

function personName(lead) {
  const p = lead.profile || {};
  const name = [p.first_name, p.last_name].filter(Boolean).join(" ");
  return name || lead.email;
}

function initials(text) {
  const parts = text.replace(/@.*/, "").split(/[\s._-]+/).filter(Boolean);
  return (parts[0]?.[0] || "?").toUpperCase() + (parts[1]?.[0] || "").toUpperCase();
}

function header(lead) {
  const name = personName(lead);
  const p = lead.profile || {};
  const role = [p.job_title, p.company].filter(Boolean).join(" at ");
  const outcome = lead.outcome === "lost" ? f.pill("Opportunity lost", "bad")
    : lead.outcome === null && lead.conversion?.opportunity_id ? f.pill("Opportunity open")
      : null;
  return h("section", { className: "card lead-head" },
    h("div", { className: "avatar", "aria-hidden": "true" }, initials(name)),
    h("div", { className: "who" },
      h("h2", { id: "lead-name" }, name),
      h("div", { className: "muted" }, name === lead.email ? null : `${lead.email} · `,
        role || null, lead.email_opt_out ? " · opted out of email" : null),
      h("div", { className: "pills" },
        f.pill(lead.status, f.statusKind(lead.status)),
        f.pill(`Stage: ${f.STAGE_LABELS[lead.stage] || lead.stage}`,
          lead.stage === "won" ? "good" : "accent"), outcome)),
    h("dl", { className: "facts" },
      h("div", {}, h("dt", {}, "Owner"), h("dd", { id: "lead-owner" }, lead.owner ?? "unassigned")),
      h("div", {}, h("dt", {}, "Source"), h("dd", {}, lead.source)),
      h("div", {}, h("dt", {}, "Campaign"), h("dd", {}, lead.campaign ?? "(none)")),
      h("div", { className: "score" }, h("dt", {}, "Score"),
        h("dd", { id: "lead-score" }, f.int(lead.score)))));
}

function timeline(lead) {
  let previous = null;
  const steps = f.STAGES.map((stage) => {
    const at = lead[`${stage}_at`];
    const gap = at && previous ? f.daysBetween(at, previous) : null;
    if (at) previous = at;
    return h("li", { className: at ? "done" : "todo", dataset: { stage } },
      h("span", { className: "step-dot", "aria-hidden": "true" }),
      h("span", { className: "step-name" }, f.STAGE_LABELS[stage]),
      h("span", { className: "step-date" }, at ? f.date(at) : "not reached"),
      at ? h("span", { className: "step-time" }, f.time(at)) : null,
      gap !== null ? h("span", { className: "step-gap" }, `+${f.days(gap)}`) : null);
  });
  return f.card("Stage timeline", h("ol", { className: "timeline" }, steps));
}

function breakdown(lead) {
  const items = lead.score_breakdown || [];
  const max = Math.max(1, ...items.map((i) => Math.abs(i.points)));
  let running = 0;
  const rows = items.map((item) => {
    running += item.points;
    const bar = h("span", { className: "pts-bar" });
    bar.style.width = `${Math.round((60 * Math.abs(item.points)) / max)}px`;
    return h("tr", { dataset: { eventId: item.event_id ?? "" } },
      h("td", {}, item.occurred_at ? f.dateTime(item.occurred_at) : "profile fit"),
      h("td", {}, f.humanize(item.type)),
      h("td", { className: "num points" }, bar, `${item.points > 0 ? "+" : ""}${item.points}`),
      h("td", { className: "num muted" }, f.int(running)),
      h("td", { className: "mono muted" }, item.event_id ?? ""));
  });
  const table = h("div", { className: "table-wrap" }, h("table", { className: "data breakdown" },
    h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "Event"),
      h("th", { className: "num" }, "Points"), h("th", { className: "num" }, "Running"),
      h("th", {}, "Event id"))),
    h("tbody", {}, rows.length ? rows
      : h("tr", {}, h("td", { colspan: 5, className: "empty" }, "No scored events."))),
    h("tfoot", {}, h("tr", { className: "totals" }, h("th", { colspan: 2, scope: "row" }, "Score"),
      h("td", { className: "num" }, f.int(lead.score)), h("td", {}), h("td", {})))));
  return f.card("Score breakdown", table, { className: "score-card",
    note: "Each engagement event's points, in business-time order." });
}

function profile(lead) {
  const entries = Object.entries(lead.profile || {});
  return f.card("Profile", entries.length
    ? h("dl", { className: "kv" }, entries.map(([k, v]) =>
      h("div", {}, h("dt", {}, f.humanize(k)), h("dd", {}, String(v)))))
    : h("p", { className: "empty" }, "No profile fields yet."));
}

function conversion(lead) {
  const c = lead.conversion;
  if (!c) {
    return f.card("Conversion", h("p", { className: "empty" },
      lead.status === "Unqualified" ? "Unqualified: not converted." : "Not converted yet."));
  }
  const row = (label, id, path) => h("div", {}, h("dt", {}, label),
    h("dd", { className: "mono" }, id ? h("a", { href: `/${path}/${id}` }, id) : "—"));
  return f.card("Conversion", h("dl", { className: "kv" },
    h("div", {}, h("dt", {}, "Converted"), h("dd", {}, f.dateTime(lead.converted_at))),
    row("Contact", c.contact_id, "contacts"), row("Account", c.account_id, "accounts"),
    h("div", {}, h("dt", {}, "Opportunity"), h("dd", { className: "mono" },
      c.opportunity_id || "none")),
    h("div", {}, h("dt", {}, "Outcome"), h("dd", {}, lead.outcome === "won"
      ? `Won ${f.dateTime(lead.won_at)}` : lead.outcome === "lost" ? "Lost" : "Open"))));
}

function leadDetail(lead) {
  return h("div", { className: "lead", dataset: { leadId: lead.id } },
    header(lead),
    h("div", { className: "lead-grid" },
      h("div", {}, timeline(lead), breakdown(lead)),
      h("div", {}, profile(lead), conversion(lead))));
}
