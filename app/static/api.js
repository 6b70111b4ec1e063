// Calls to leadflow's JSON API (same origin). Failures become ApiError with the contract's
// {"error": {"code", "message", "details"}} when the server sent one.
//
// Access (CONTRACT 9): every call sends the API key kept in this tab's sessionStorage as
// `Authorization: Bearer`. A 401 opens the key form (#auth), once for all calls waiting on
// it; each of them is retried with the key entered. A 403 is an ApiError like any other.

const KEY_STORE = "leadflow.apiKey";
let asking = null;

function storedKey() {
  try {
    return window.sessionStorage.getItem(KEY_STORE);
  } catch {
    return null;
  }
}

/** Forgets the key of this tab (the next call that needs one asks again). */
export function forgetKey() {
  window.sessionStorage.removeItem(KEY_STORE);
}

/** Shows the key form with `reason` and resolves once a key is entered and stored. */
export function askForKey(reason) {
  if (asking) return asking;
  const form = document.getElementById("auth");
  const input = document.getElementById("auth-key");
  document.getElementById("auth-reason").textContent = reason;
  form.hidden = false;
  input.value = "";
  input.focus();
  asking = new Promise((resolve) => {
    const submitted = (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      window.sessionStorage.setItem(KEY_STORE, key);
      form.removeEventListener("submit", submitted);
      form.hidden = true;
      input.value = "";
      asking = null;
      resolve();
    };
    form.addEventListener("submit", submitted);
  });
  return asking;
}

async function call(url) {
  for (;;) {
    const key = storedKey();
    const headers = { Accept: "application/json" };
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch(url, { headers });
    if (response.status !== 401) return response;
    if (storedKey() !== key) continue; // another call got a new key meanwhile: use it
    if (key) forgetKey();
    await askForKey(key ? "That API key was not accepted (unknown or revoked). Enter another."
      : "This leadflow API needs an API key.");
  }
}

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") q.set(key, value);
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

export async function getJSON(path, params) {
  let response;
  try {
    response = await call(path + query(params));
  } catch (e) {
    throw new ApiError(0, "unreachable", `The leadflow API does not answer (${e.message}).`, null);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const err = body && body.error ? body.error : {};
    throw new ApiError(
      response.status,
      err.code || `http_${response.status}`,
      err.message || `The API answered ${response.status} ${response.statusText}.`,
      err.details ?? null,
    );
  }
  if (body === null) throw new ApiError(response.status, "bad_json", "The API sent no JSON.", null);
  return body;
}

/** Every lead of a /leads query, following next_cursor up to `max` leads. */
export async function allLeads(params, max = 1000) {
  const items = [];
  let cursor = null;
  do {
    const page = await getJSON("/leads", { ...params, limit: 200, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return { items: items.slice(0, max), truncated: Boolean(cursor) };
}
