// The view's state lives in the URL query string, so that a view can be shared and
// bookmarked: ?view=funnel&from=2026-06-01&source=webinar&as_of=2026-09-01&stage=sql

export const FILTERS = ["from", "to", "source", "campaign", "owner", "as_of", "stuck_days"];
export const VIEWS = ["funnel", "rates", "roi", "lead"];
// Parameters of one view, dropped when moving to another view.
const VIEW_PARAMS = ["stage", "list", "by", "roi_by", "sort", "dir", "lead", "email"];
const KEEP = [...FILTERS, "refresh"];

export function readState() {
  const q = new URLSearchParams(window.location.search);
  const state = {};
  for (const [key, value] of q.entries()) state[key] = value;
  if (!VIEWS.includes(state.view)) state.view = "funnel";
  return state;
}

/** The filters of the read models (CONTRACT 7) in `state`, as API query parameters. */
export function filterParams(state, { owner = true, stuck = false } = {}) {
  const params = {};
  for (const key of FILTERS) {
    if (key === "owner" && !owner) continue;
    if (key === "stuck_days" && !stuck) continue;
    if (state[key] !== undefined && state[key] !== "") params[key] = state[key];
  }
  return params;
}

export function hasFilters(state) {
  return FILTERS.some((key) => state[key] !== undefined && state[key] !== "");
}

/** The URL of `state` (null and "" values dropped). */
export function urlOf(state) {
  const q = new URLSearchParams();
  const ordered = ["view", ...FILTERS, ...VIEW_PARAMS, "refresh"];
  const keys = [...ordered, ...Object.keys(state).filter((k) => !ordered.includes(k))];
  for (const key of keys) {
    const value = state[key];
    if (value === null || value === undefined || value === "") continue;
    if (key === "view" && value === "funnel") continue;
    q.set(key, value);
  }
  const text = q.toString();
  return `${window.location.pathname}${text ? `?${text}` : ""}`;
}

/** State for another view: the filters (and refresh) carry over, the view's own do not. */
export function switchView(state, view, extra = {}) {
  const next = { view };
  for (const key of KEEP) if (state[key] !== undefined) next[key] = state[key];
  return { ...next, ...extra };
}

let onChange = () => {};

export function listen(callback) {
  onChange = callback;
  window.addEventListener("popstate", () => onChange(readState()));
}

/** Moves to `state`: a new history entry (or a replaced one), then renders it. */
export function go(state, { replace = false } = {}) {
  const url = urlOf(state);
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  onChange(readState());
}

/** Changes some parameters of the current state. */
export function update(changes, options) {
  go({ ...readState(), ...changes }, options);
}
