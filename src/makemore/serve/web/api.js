// The JSON API under /api/ (docs/serve.md): one POST per question, and a cache of the answers that
// depend only on the run and the arguments.

const answers = new Map();    // "route run args" -> answer, for answers that do not change

export class ApiError extends Error {
  constructor(message, field, status) {
    super(message);
    this.field = field;
    this.status = status;
  }
}

/** POST a JSON object to /api/NAME; the answer, or an ApiError with the server's message. */
export async function api(name, body = {}) {
  const r = await fetch("/api/" + name, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  let data;
  try {
    data = await r.json();
  } catch {
    throw new ApiError(`${name}: the server answered ${r.status} without JSON`, null, r.status);
  }
  if (!r.ok) throw new ApiError(data.error || `HTTP ${r.status}`, data.field, r.status);
  return data;
}

/** api(), remembered: for answers that depend on the run and the arguments only. */
export function cached(name, body) {
  const key = name + " " + JSON.stringify(body);
  if (!answers.has(key)) {
    const p = api(name, body);
    p.catch(() => answers.delete(key));
    answers.set(key, p);
  }
  return answers.get(key);
}
