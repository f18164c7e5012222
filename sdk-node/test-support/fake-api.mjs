// In-memory implementation of the Cronium runtime API contract (/runtime/v1/*), used by the
// sdk-node and sdk-bash tests. Not a test file itself (kept out of test/ so `node --test` skips it).
import http from "node:http";

export const TOKEN = "test.jwt.token";

export const DEFAULT_CONTEXT = Object.freeze({
  executionId: "exec-123",
  userId: "user-42",
  language: "node",
  deadline: "2030-01-01T00:00:00.000Z",
  attempt: 2,
  event: { id: "evt-7", name: "Nightly report", type: "NODEJS" },
});

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function apiError(res, status, code, message, field) {
  sendJson(res, status, { error: { code, message, ...(field ? { field } : {}) } });
}

/**
 * Start a fake runtime API on 127.0.0.1 (random port).
 * options.dropConnections: number of incoming TCP connections to destroy before answering (Infinity = all).
 * options.hang: never answer requests (to test timeouts).
 */
export async function startFakeApi(options = {}) {
  const state = {
    input: { hello: "world", n: 1 },
    context: structuredClone(DEFAULT_CONTEXT),
    output: undefined,
    outputWrites: 0,
    condition: undefined,
    variables: new Map([["existing", { a: [1, 2, 3] }]]),
    secrets: new Map([
      ["API_KEY", "s3cr3t value with \"quotes\" and spaces"],
      ["NOT_GRANTED", "never-returned"],
    ]),
    granted: new Set(["API_KEY"]),
    /** If set, the next request gets this {status, body (string), contentType} instead. */
    nextResponse: undefined,
  };
  const requests = [];
  let connections = 0;
  let dropped = 0;
  const dropLimit = options.dropConnections ?? 0;

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const bodyText = Buffer.concat(chunks).toString("utf8");
      const record = { method: req.method, url: req.url, headers: req.headers, bodyText, body: undefined };
      requests.push(record);
      if (options.hang) return; // never answer
      if (state.nextResponse) {
        const r = state.nextResponse;
        state.nextResponse = undefined;
        res.writeHead(r.status, { "content-type": r.contentType ?? "text/plain" });
        res.end(r.body);
        return;
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        return apiError(res, 401, "UNAUTHORIZED", "missing or invalid runtime token");
      }
      const contentType = req.headers["content-type"];
      if (contentType !== undefined) {
        if (!/^application\/json\b/.test(contentType)) {
          return apiError(res, 415, "UNSUPPORTED_MEDIA_TYPE", `unsupported content-type ${contentType}`);
        }
        // Same behaviour as Fastify: a JSON content-type with an empty body is rejected.
        if (bodyText === "") {
          return apiError(res, 400, "FST_ERR_CTP_EMPTY_JSON_BODY", "Body cannot be empty when content-type is set to 'application/json'");
        }
        try {
          record.body = JSON.parse(bodyText);
        } catch {
          return apiError(res, 400, "INVALID_JSON", "request body is not valid JSON");
        }
      } else if (bodyText !== "") {
        return apiError(res, 415, "UNSUPPORTED_MEDIA_TYPE", "body without content-type");
      }

      const path = req.url.split("?")[0];
      const segments = path.split("/").slice(1); // ["runtime","v1",...]
      if (segments[0] !== "runtime" || segments[1] !== "v1") {
        return apiError(res, 404, "NOT_FOUND", `no route ${req.method} ${path}`);
      }
      const [, , resource, rawKey, ...rest] = segments;
      if (rest.length > 0) return apiError(res, 404, "NOT_FOUND", `no route ${req.method} ${path}`);
      const key = rawKey === undefined ? undefined : decodeURIComponent(rawKey);
      const needValue = () => {
        if (!record.body || typeof record.body !== "object" || !("value" in record.body)) {
          apiError(res, 400, "VALIDATION_ERROR", "body must be an object with a value", "value");
          return false;
        }
        return true;
      };

      const route = `${req.method} ${resource}${key === undefined ? "" : "/:key"}`;
      switch (route) {
        case "GET input":
          return sendJson(res, 200, { input: state.input ?? null });
        case "GET context":
          return sendJson(res, 200, state.context);
        case "PUT output":
          if (!needValue()) return;
          state.output = record.body.value;
          state.outputWrites++;
          return sendJson(res, 200, { ok: true });
        case "PUT condition":
          if (!needValue()) return;
          if (typeof record.body.value !== "boolean") {
            return apiError(res, 400, "VALIDATION_ERROR", "value must be a boolean", "value");
          }
          state.condition = record.body.value;
          return sendJson(res, 200, { ok: true });
        case "GET variables/:key":
          if (!state.variables.has(key)) {
            return apiError(res, 404, "VARIABLE_NOT_FOUND", `variable "${key}" is not set`);
          }
          return sendJson(res, 200, { key, value: state.variables.get(key) });
        case "PUT variables/:key":
          if (!needValue()) return;
          state.variables.set(key, record.body.value);
          return sendJson(res, 200, { ok: true });
        case "DELETE variables/:key":
          return sendJson(res, 200, { deleted: state.variables.delete(key) });
        case "GET secrets/:key":
          if (!state.granted.has(key)) {
            return apiError(res, 403, "SECRET_NOT_GRANTED", `secret "${key}" was not granted to this execution`);
          }
          return sendJson(res, 200, { name: key, value: state.secrets.get(key) });
        default:
          return apiError(res, 404, "NOT_FOUND", `no route ${req.method} ${path}`);
      }
    });
  });

  const sockets = new Set();
  server.on("connection", (socket) => {
    connections++;
    if (dropped < dropLimit) {
      dropped++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    requests,
    get connections() {
      return connections;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP port on 127.0.0.1 with nothing listening (used as a bogus proxy / unreachable API). */
export async function closedPort() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(() => resolve()));
  return port;
}

/** Environment pointing every proxy variable at a closed port (the SDKs must ignore them). */
export function proxyEnv(port) {
  const proxy = `http://127.0.0.1:${port}`;
  return {
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    ALL_PROXY: proxy,
    all_proxy: proxy,
    NO_PROXY: "",
    no_proxy: "",
    NODE_USE_ENV_PROXY: "1",
  };
}
