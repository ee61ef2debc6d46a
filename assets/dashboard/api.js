// The dashboard's only way to the server: a fetch wrapper that sends the admin key
// (`X-API-KEY`) and the tenant (`Tenant-ID`) kept in sessionStorage, encodes and decodes
// JSON, and turns an `{"error": ...}` answer into a thrown ApiError carrying the status.
//
// No imports and no DOM use, so it also runs under Node (tests/sdk/dashboard/test_api.mjs).

const KEY = "trophyd.adminKey";
const TENANT = "trophyd.tenantId";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** A rejected key (401) or one that may not use the Admin API (403). */
export function isAuthError(e) {
  return e instanceof ApiError && (e.status === 401 || e.status === 403);
}

/** Builds `?a=1&b=2` from the defined, non-empty values of `params` ("" when none). */
export function query(params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) {
      for (const v of value) q.append(name, String(v));
    } else if (value !== undefined && value !== null && value !== "") {
      q.append(name, String(value));
    }
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

/**
 * `base`: prefix for every path ("" in the browser: same origin). `storage`: where the
 * credentials live (sessionStorage in the browser). `fetch`: the fetch function.
 */
export function createApi({
  base = "",
  storage = globalThis.sessionStorage,
  fetch: fetchFn = (...args) => globalThis.fetch(...args),
} = {}) {
  const credentials = () => ({
    key: storage.getItem(KEY) || "",
    tenant: storage.getItem(TENANT) || "",
  });

  async function request(method, path, body) {
    const { key, tenant } = credentials();
    const headers = { Accept: "application/json" };
    if (key) headers["X-API-KEY"] = key;
    if (tenant) headers["Tenant-ID"] = tenant;
    const init = { method, headers, credentials: "omit", cache: "no-store", redirect: "error" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetchFn(base + path, init);
    } catch (e) {
      throw new ApiError(0, `The server could not be reached (${e && e.message ? e.message : e})`);
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const message =
        data && typeof data.error === "string" && data.error
          ? data.error
          : `${response.status} ${response.statusText || "error"}`.trim();
      throw new ApiError(response.status, message);
    }
    return data;
  }

  return {
    /** Keeps the key (trimmed) and the optional tenant for the rest of the session. */
    login(key, tenant) {
      storage.setItem(KEY, String(key).trim());
      const t = tenant ? String(tenant).trim() : "";
      if (t) storage.setItem(TENANT, t);
      else storage.removeItem(TENANT);
    },
    logout() {
      storage.removeItem(KEY);
      storage.removeItem(TENANT);
    },
    credentials,
    loggedIn: () => credentials().key !== "",
    request,
    get: (path) => request("GET", path),
    post: (path, body) => request("POST", path, body),
    patch: (path, body) => request("PATCH", path, body),
    del: (path) => request("DELETE", path),
  };
}
