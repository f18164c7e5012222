/**
 * Cronium Sandbox SDK for Node.js scripts.
 *
 * Talks to the Cronium runtime API (`$CRONIUM_API_URL/runtime/v1/...`) with the
 * per-execution token in `$CRONIUM_TOKEN`. No third-party dependencies.
 *
 * The API is always reached directly: requests go through `node:http` /
 * `node:https` with a private agent, never through global `fetch` or any
 * HTTP(S)_PROXY configured for the script's own egress.
 */
import * as http from "node:http";
import * as https from "node:https";
import { saveArtifact as saveArtifactFile } from "./artifacts.js";
import { CroniumError } from "./errors.js";

/** Any JSON value. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** The event that triggered the execution, if any. */
export interface CroniumEvent {
  id: string;
  name: string;
  type: string;
}

/** Result of `context()`. */
export interface CroniumContext {
  executionId: string;
  userId: string;
  language: string;
  /** ISO-8601 timestamp after which the execution is killed. */
  deadline: string;
  attempt: number;
  event: CroniumEvent | null;
}

/** Result of the legacy `event()` call. */
export interface CroniumLegacyEvent {
  id: string | null;
  name: string | null;
  type: string | null;
  userId: string;
  executionId: string;
}

export interface ClientOptions {
  /** Base URL of the runtime API. Defaults to `process.env.CRONIUM_API_URL` (read at call time). */
  apiUrl?: string;
  /** Bearer token. Defaults to `process.env.CRONIUM_TOKEN` (read at call time). */
  token?: string;
  /** Per-request timeout in milliseconds (default 10000). */
  timeoutMs?: number;
  /** Delays between attempts on connection errors (default [100, 250, 600] => up to 4 attempts). */
  retryDelaysMs?: readonly number[];
}

export interface CroniumClient {
  /** Input of the execution (`null` if none). */
  getInput<T = unknown>(): Promise<T>;
  /** Set the execution's output (any JSON value). */
  setOutput(value: unknown): Promise<void>;
  /** Get a user variable; resolves to `null` when it is not set. */
  getVariable<T = unknown>(key: string): Promise<T | null>;
  /** Set a user variable (any JSON value). */
  setVariable(key: string, value: unknown): Promise<void>;
  /** Delete a user variable; resolves to whether it existed. */
  deleteVariable(key: string): Promise<boolean>;
  /** Set the execution's condition flag (must be a boolean). */
  setCondition(condition: boolean): Promise<void>;
  /** Read a secret granted to this execution. */
  getSecret(name: string): Promise<string>;
  /** Execution context. */
  context(): Promise<CroniumContext>;
  /**
   * Copy a regular file into the artifacts directory (`/work/out`, or `$CRONIUM_ARTIFACTS_DIR`) as `name`
   * (default: the file's basename; subdirectories allowed, e.g. `reports/day.csv`); resolves to the name.
   * Local only: no API call.
   */
  saveArtifact(path: string, name?: string | null): Promise<string>;
  /** Legacy spelling of `getInput()`. */
  input<T = unknown>(): Promise<T>;
  /** Legacy spelling of `setOutput()`. */
  output(data: unknown): Promise<void>;
  /** Legacy: the triggering event plus user/execution ids. */
  event(): Promise<CroniumLegacyEvent>;
}

export { CroniumError, type CroniumErrorOptions } from "./errors.js";

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [100, 250, 600];

/** Error codes meaning "no usable connection": retried, unlike HTTP errors. */
const RETRYABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "CRONIUM_TIMEOUT",
]);

// Private agents: never the global ones (which may become proxy-aware via NODE_USE_ENV_PROXY).
const httpAgent = new http.Agent({ keepAlive: false });
const httpsAgent = new https.Agent({ keepAlive: false });

interface RawResponse {
  status: number;
  text: string;
}

interface ResolvedConfig {
  url: URL;
  token: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorCode(err: unknown): string | undefined {
  if (isRecord(err) && typeof err["code"] === "string") return err["code"];
  return undefined;
}

function requireKey(what: string, key: unknown): string {
  if (typeof key !== "string" || key.length === 0) {
    throw new TypeError(`cronium: ${what} must be a non-empty string`);
  }
  return encodeURIComponent(key);
}

function jsonBody(value: unknown): { value: unknown } {
  return { value: value === undefined ? null : value };
}

function sendOnce(url: URL, method: string, token: string, payload: string | undefined, timeoutMs: number): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const isHttps = url.protocol === "https:";
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      Accept: "application/json",
    };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    const options: http.RequestOptions = {
      method,
      headers,
      agent: isHttps ? httpsAgent : httpAgent,
    };
    let settled = false;
    const finish = (err: unknown, res?: RawResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== undefined) reject(err);
      else resolve(res as RawResponse);
    };
    const req = (isHttps ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", (err) => finish(err));
      res.on("aborted", () => finish(Object.assign(new Error("response aborted"), { code: "ECONNRESET" })));
      res.on("end", () => {
        finish(undefined, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`request timed out after ${timeoutMs} ms`), { code: "CRONIUM_TIMEOUT" }));
    }, timeoutMs);
    req.on("error", (err) => finish(err));
    req.end(payload);
  });
}

function apiError(res: RawResponse): CroniumError {
  let code = `HTTP_${res.status}`;
  let message = res.text.trim().slice(0, 500) || http.STATUS_CODES[res.status] || "request failed";
  let field: string | undefined;
  try {
    const parsed: unknown = JSON.parse(res.text);
    const e = isRecord(parsed) ? parsed["error"] : undefined;
    if (isRecord(e)) {
      if (typeof e["code"] === "string") code = e["code"];
      if (typeof e["message"] === "string") message = e["message"];
      if (typeof e["field"] === "string") field = e["field"];
    }
  } catch {
    // not JSON: keep the raw text
  }
  return new CroniumError(`Cronium API error ${res.status} ${code}: ${message}`, {
    status: res.status,
    code,
    ...(field === undefined ? {} : { field }),
  });
}

/** Create a client. Without options it reads CRONIUM_API_URL / CRONIUM_TOKEN at each call. */
export function createClient(options: ClientOptions = {}): CroniumClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;

  function config(path: string): ResolvedConfig {
    const apiUrl = options.apiUrl ?? process.env["CRONIUM_API_URL"];
    const token = options.token ?? process.env["CRONIUM_TOKEN"];
    if (!apiUrl) {
      throw new CroniumError("not running inside Cronium: CRONIUM_API_URL is not set", { code: "NOT_IN_CRONIUM" });
    }
    if (!token) {
      throw new CroniumError("not running inside Cronium: CRONIUM_TOKEN is not set", { code: "NOT_IN_CRONIUM" });
    }
    let url: URL;
    try {
      url = new URL(apiUrl.replace(/\/+$/, "") + path);
    } catch (cause) {
      throw new CroniumError(`invalid CRONIUM_API_URL: ${JSON.stringify(apiUrl)}`, { code: "INVALID_CONFIG", cause });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new CroniumError(`invalid CRONIUM_API_URL (must be http or https): ${JSON.stringify(apiUrl)}`, {
        code: "INVALID_CONFIG",
      });
    }
    return { url, token };
  }

  /** Perform a request; returns the parsed JSON body of a 2xx response, or throws CroniumError. */
  async function call(method: string, path: string, body?: unknown, allowNotFoundCode?: string): Promise<unknown> {
    const { url, token } = config(path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let res: RawResponse | undefined;
    let lastErr: unknown;
    for (let attempt = 0; attempt <= retryDelays.length; attempt++) {
      if (attempt > 0) await sleep(retryDelays[attempt - 1] ?? 0);
      try {
        res = await sendOnce(url, method, token, payload, timeoutMs);
        break;
      } catch (err) {
        lastErr = err;
        const code = errorCode(err);
        if (code === undefined || !RETRYABLE_CODES.has(code)) break;
      }
    }
    if (res === undefined) {
      const reason = lastErr instanceof Error ? lastErr.message : String(lastErr);
      throw new CroniumError(`cannot reach the Cronium API at ${url.origin}: ${reason} (${method} ${path})`, {
        code: "CONNECTION_FAILED",
        cause: lastErr,
      });
    }
    if (res.status < 200 || res.status >= 300) {
      const err = apiError(res);
      if (allowNotFoundCode !== undefined && res.status === 404 && err.code === allowNotFoundCode) return undefined;
      throw err;
    }
    if (res.text.trim() === "") return null;
    try {
      return JSON.parse(res.text) as unknown;
    } catch (cause) {
      throw new CroniumError(`Cronium API returned invalid JSON (status ${res.status}, ${method} ${path})`, {
        status: res.status,
        code: "INVALID_RESPONSE",
        cause,
      });
    }
  }

  function field(data: unknown, name: string): unknown {
    return isRecord(data) ? (data[name] ?? null) : null;
  }

  const getInput = async <T = unknown>(): Promise<T> => field(await call("GET", "/runtime/v1/input"), "input") as T;

  const setOutput = async (value: unknown): Promise<void> => {
    await call("PUT", "/runtime/v1/output", jsonBody(value));
  };

  const getVariable = async <T = unknown>(key: string): Promise<T | null> => {
    const path = `/runtime/v1/variables/${requireKey("variable key", key)}`;
    const data = await call("GET", path, undefined, "VARIABLE_NOT_FOUND");
    return data === undefined ? null : (field(data, "value") as T | null);
  };

  const setVariable = async (key: string, value: unknown): Promise<void> => {
    await call("PUT", `/runtime/v1/variables/${requireKey("variable key", key)}`, jsonBody(value));
  };

  const deleteVariable = async (key: string): Promise<boolean> => {
    const data = await call("DELETE", `/runtime/v1/variables/${requireKey("variable key", key)}`);
    return field(data, "deleted") === true;
  };

  const setCondition = async (condition: boolean): Promise<void> => {
    if (typeof condition !== "boolean") {
      throw new TypeError(`cronium: setCondition expects a boolean, got ${condition === null ? "null" : typeof condition}`);
    }
    await call("PUT", "/runtime/v1/condition", { value: condition });
  };

  const getSecret = async (name: string): Promise<string> => {
    const path = `/runtime/v1/secrets/${requireKey("secret name", name)}`;
    const value = field(await call("GET", path), "value");
    if (typeof value !== "string") {
      throw new CroniumError(`Cronium API returned a non-string secret value (GET ${path})`, {
        status: 200,
        code: "INVALID_RESPONSE",
      });
    }
    return value;
  };

  const context = async (): Promise<CroniumContext> => {
    const data = await call("GET", "/runtime/v1/context");
    if (!isRecord(data)) {
      throw new CroniumError("Cronium API returned an invalid context (GET /runtime/v1/context)", {
        status: 200,
        code: "INVALID_RESPONSE",
      });
    }
    return data as unknown as CroniumContext;
  };

  const event = async (): Promise<CroniumLegacyEvent> => {
    const ctx = await context();
    const ev: Partial<CroniumEvent> = isRecord(ctx.event) ? ctx.event : {};
    return {
      id: ev.id ?? null,
      name: ev.name ?? null,
      type: ev.type ?? null,
      userId: ctx.userId,
      executionId: ctx.executionId,
    };
  };

  return {
    getInput,
    setOutput,
    getVariable,
    setVariable,
    deleteVariable,
    setCondition,
    getSecret,
    context,
    saveArtifact: saveArtifactFile,
    input: getInput,
    output: setOutput,
    event,
  };
}

const defaultClient = createClient();

export const getInput: CroniumClient["getInput"] = defaultClient.getInput;
export const setOutput: CroniumClient["setOutput"] = defaultClient.setOutput;
export const getVariable: CroniumClient["getVariable"] = defaultClient.getVariable;
export const setVariable: CroniumClient["setVariable"] = defaultClient.setVariable;
export const deleteVariable: CroniumClient["deleteVariable"] = defaultClient.deleteVariable;
export const setCondition: CroniumClient["setCondition"] = defaultClient.setCondition;
export const getSecret: CroniumClient["getSecret"] = defaultClient.getSecret;
export const context: CroniumClient["context"] = defaultClient.context;
export const saveArtifact: CroniumClient["saveArtifact"] = defaultClient.saveArtifact;
/** Legacy spelling of `getInput()`. */
export const input: CroniumClient["input"] = defaultClient.input;
/** Legacy spelling of `setOutput()`. */
export const output: CroniumClient["output"] = defaultClient.output;
/** Legacy: `{ id, name, type, userId, executionId }`. */
export const event: CroniumClient["event"] = defaultClient.event;

const cronium = {
  ...defaultClient,
  CroniumError,
  createClient,
};

export default cronium;
