// Calls to leadflow's JSON API (same origin). Failures become ApiError with the contract's
// {"error": {"code", "message", "details"}} when the server sent one.

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
    response = await fetch(path + query(params), { headers: { Accept: "application/json" } });
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
