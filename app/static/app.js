// The dashboard's controller: filters <-> URL, which view to draw, errors, freshness and
// auto-refresh.
import { ApiError, askForKey, forgetKey, getJSON } from "./api.js";
import { renderRates, renderRoi } from "./breakdown.js";
import * as f from "./dom.js";
import { renderFunnel } from "./funnel.js";
import { renderLead, searchForm } from "./lead.js";
import * as st from "./state.js";

const { h } = f;
const $ = (sel) => document.querySelector(sel);
const VIEWS = { funnel: renderFunnel, rates: renderRates, roi: renderRoi, lead: renderLead };
const DEFAULT_REFRESH = 30;
const nav = { go: st.go, update: st.update };
let token = 0;
let timer = null;

function fillForm(state) {
  for (const name of st.FILTERS) {
    const input = $(`#f-${name}`);
    input.value = state[name] ?? "";
    input.classList.remove("invalid");
    input.removeAttribute("aria-invalid");
  }
  for (const a of document.querySelectorAll(".tabs a")) {
    const on = a.dataset.view === state.view;
    a.classList.toggle("active", on);
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
    a.setAttribute("href", st.urlOf(st.switchView(state, a.dataset.view)));
  }
  $("#refresh").value = String(refreshSeconds(state));
}

/** What the view shows, as chips: cohort window, key filters and as-of time. */
function summary(state) {
  const when = (v) => (/^\d{4}-\d{2}-\d{2}$/.test(v) ? f.date(v)
    : /^\d{4}-\d{2}-\d{2}T/.test(v) ? f.dateTime(v) : `“${v}”`);
  const chips = [];
  if (state.from || state.to) {
    chips.push(`Captured ${state.from ? `from ${when(state.from)}` : ""}`
      + `${state.from && state.to ? " " : ""}${state.to ? `before ${when(state.to)}` : ""}`);
  } else {
    chips.push("All leads");
  }
  for (const key of ["source", "campaign", "owner"]) {
    if (state[key]) chips.push(`${key[0].toUpperCase()}${key.slice(1)}: ${state[key]}`);
  }
  const view = [h("span", { className: "label" }, "Showing")];
  view.push(chips.map((text) => f.pill(text)));
  view.push(state.as_of ? f.pill(`Historical view · as of ${when(state.as_of)}`, "warn")
    : f.pill("As of now", "info"));
  return view;
}

function showError(err, state) {
  const e = err instanceof ApiError ? err
    : new ApiError(-1, "page_error", `The page failed: ${err && err.message}`, null);
  const title = e.status === 422 ? "These filters can’t be used"
    : e.status === 403 ? "Your API key may not see this"
    : e.status === 404 ? "Not found"
      : e.status === 0 ? "The leadflow API does not answer" : "Something went wrong";
  const fields = new Set();
  if (e.details && typeof e.details === "object") {
    for (const key of Object.keys(e.details)) fields.add(key);
    for (const item of e.details.errors || []) fields.add(item.field);
  }
  const shown = [];
  for (const name of fields) {
    const input = $(`#f-${name}`);
    if (!input) continue;
    input.classList.add("invalid");
    input.setAttribute("aria-invalid", "true");
    shown.push(`${name} = “${state[name] ?? ""}”`);
  }
  const notice = $("#notice");
  notice.className = "notice error";
  f.replace(notice,
    h("strong", {}, title),
    h("p", { className: "message" }, e.message),
    h("p", { className: "muted small" },
      [e.status > 0 ? `HTTP ${e.status}` : null, e.code, ...shown].filter(Boolean).join(" · ")),
    h("div", { className: "notice-actions" },
      st.hasFilters(state) ? h("button", { type: "button", onclick: () => resetFilters() },
        "Clear the filters") : null,
      e.status === 403 ? h("button", { type: "button", onclick: () => useAnotherKey() },
        "Use another key") : null,
      h("button", { type: "button", onclick: () => render(st.readState()) }, "Try again")));
  notice.hidden = false;
  f.replace($("#view"), state.view === "lead" ? searchForm(state, nav) : null,
    h("div", { className: "card placeholder" },
    h("p", {}, e.status === 422 ? "Nothing to show until the highlighted filter is fixed: "
      + "correct it and press Apply, or clear the filters." : "Nothing to show for now.")));
}

async function render(state, { quiet = false } = {}) {
  // A refresh waits while someone types: it would overwrite what they have not applied yet.
  if (quiet && document.activeElement?.matches("input, select")) return;
  const mine = ++token;
  fillForm(state);
  document.body.dataset.view = state.view;
  f.replace($("#summary"), state.view === "lead" ? [] : summary(state));
  const view = $("#view");
  if (!quiet) view.classList.add("busy");
  try {
    const parts = await VIEWS[state.view](state, nav);
    if (mine !== token) return;
    $("#notice").hidden = true;
    f.replace(view, parts);
    view.dataset.view = state.view;
    view.dataset.ready = String(mine);
  } catch (err) {
    if (mine !== token) return;
    showError(err, state);
    view.dataset.ready = String(mine);
  } finally {
    if (mine === token) view.classList.remove("busy");
  }
  $("#updated").textContent = `Updated ${new Date().toLocaleTimeString("en-GB")}`;
}

async function freshness() {
  const badge = $("#freshness");
  const text = badge.querySelector(".freshness-text");
  try {
    const s = await getJSON("/status");
    const parts = [["relay", s.relay.lag], ...s.projections.map((p) => [p.name, p.lag]),
      ...s.consumers.map((c) => [c.group, c.lag])];
    const behind = parts.reduce((n, [, lag]) => n + lag, 0);
    const detail = parts.map(([name, lag]) => `${name}: ${lag} behind`).join("\n");
    let kind;
    if (!s.kafka_bootstrap) {
      kind = "unknown";
      text.textContent = `${f.int(s.stored_events)} events · lag not measured (no broker)`;
    } else if (behind === 0 && s.projections.length) {
      kind = "fresh";
      text.textContent = "Up to date";
    } else {
      kind = "stale";
      text.textContent = `Catching up · ${f.int(behind)} events behind`;
    }
    badge.className = `freshness ${kind}`;
    badge.title = `From /status at ${new Date().toLocaleTimeString("en-GB")}\n`
      + `${f.int(s.stored_events)} events stored\n${detail}`;
    badge.dataset.behind = String(behind);
  } catch (err) {
    badge.className = "freshness down";
    text.textContent = err.status === 403 ? "Status not allowed for this key" : "API unreachable";
    badge.title = err.message;
  }
}

function refreshSeconds(state) {
  const stored = Number(window.localStorage.getItem("leadflow.refresh") ?? DEFAULT_REFRESH);
  const n = state.refresh !== undefined ? Number(state.refresh) : stored;
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_REFRESH;
}

function schedule() {
  if (timer) clearInterval(timer);
  const seconds = refreshSeconds(st.readState());
  if (seconds > 0) {
    timer = setInterval(() => {
      if (document.visibilityState === "hidden") return;
      freshness();
      render(st.readState(), { quiet: true });
    }, seconds * 1000);
  }
}

async function useAnotherKey() {
  forgetKey();
  $("#notice").hidden = true;
  await askForKey("Enter an API key with the analyst role.");
  render(st.readState());
  freshness();
}

function resetFilters() {
  const state = st.readState();
  const next = { view: state.view };
  if (state.refresh !== undefined) next.refresh = state.refresh;
  st.go(next);
}

async function suggestions() {
  for (const by of ["source", "campaign", "owner"]) {
    try {
      const data = await getJSON("/conversion-rates", { by });
      f.replace($(`#l-${by}`), data.rows.map((r) => h("option", { value: r.key })));
    } catch {
      // Suggestions are a convenience: the filters work without them.
    }
  }
}

function wire() {
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const changes = {};
    for (const name of st.FILTERS) changes[name] = $(`#f-${name}`).value.trim() || null;
    st.update(changes);
  });
  $("#reset").addEventListener("click", resetFilters);
  $("#copy-link").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    try {
      await navigator.clipboard.writeText(window.location.href);
      button.textContent = "Link copied";
    } catch {
      window.prompt("Copy this link:", window.location.href);
    }
    setTimeout(() => { button.textContent = "Copy link"; }, 1500);
  });
  for (const a of document.querySelectorAll(".tabs a")) {
    a.addEventListener("click", (e) => {
      e.preventDefault();
      st.go(st.switchView(st.readState(), a.dataset.view));
    });
  }
  $("#refresh").addEventListener("change", (e) => {
    window.localStorage.setItem("leadflow.refresh", e.target.value);
    st.update({ refresh: e.target.value }, { replace: true });
    schedule();
  });
  window.addEventListener("error", (e) => showError(e.error || new Error(e.message),
    st.readState()));
  window.addEventListener("unhandledrejection", (e) => showError(e.reason, st.readState()));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") freshness();
  });
}

st.listen((state) => render(state));
wire();
render(st.readState());
freshness();
suggestions();
schedule();
