// Behaviour of the built SDK (dist/esm and dist/cjs, loaded through the package "exports" map
// from an image-like copy) against an in-memory implementation of the runtime API.
import { after, afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CONTEXT, TOKEN, closedPort, proxyEnv, startFakeApi } from "../test-support/fake-api.mjs";
import { installPackageCopy } from "../test-support/package-copy.mjs";
import { rejectsWith } from "../test-support/rejects.mjs";

const pkg = installPackageCopy();
after(() => pkg.cleanup());

// Every proxy variable points at a closed port: the SDK must reach the API directly anyway.
const PROXY_PORT = await closedPort();
Object.assign(process.env, proxyEnv(PROXY_PORT));

const entries = { esm: await pkg.importEsm(), cjs: pkg.requireCjs() };

const API_NAMES = [
  "getInput",
  "setOutput",
  "getVariable",
  "setVariable",
  "deleteVariable",
  "setCondition",
  "getSecret",
  "context",
  "saveArtifact",
  "input",
  "output",
  "event",
];

function lastRequest(api) {
  return api.requests.at(-1);
}


for (const [kind, sdk] of Object.entries(entries)) {
  describe(`${kind} entry`, () => {
    let api;
    beforeEach(async () => {
      api = await startFakeApi();
      process.env.CRONIUM_API_URL = api.url;
      process.env.CRONIUM_TOKEN = TOKEN;
    });
    afterEach(async () => {
      await api.close();
    });

    it("exports every function as a named export and on the default object", () => {
      for (const name of API_NAMES) {
        assert.equal(typeof sdk[name], "function", `named export ${name}`);
        assert.equal(sdk.default[name], sdk[name], `default.${name} is the named export`);
      }
      assert.equal(typeof sdk.createClient, "function");
      assert.equal(sdk.default.createClient, sdk.createClient);
      assert.equal(sdk.default.CroniumError, sdk.CroniumError);
    });

    it("getInput() GETs /runtime/v1/input with the bearer token and returns the input", async () => {
      const value = await sdk.getInput();
      assert.deepEqual(value, { hello: "world", n: 1 });
      const req = lastRequest(api);
      assert.equal(req.method, "GET");
      assert.equal(req.url, "/runtime/v1/input");
      assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(req.headers["content-type"], undefined, "no content-type without a body");
      assert.equal(req.bodyText, "");
    });

    it("legacy input() is the same call as getInput()", async () => {
      const a = await sdk.getInput();
      const b = await sdk.input();
      const c = await sdk.default.input();
      assert.deepEqual(b, a);
      assert.deepEqual(c, a);
      assert.equal(api.requests.length, 3);
      for (const r of api.requests) {
        assert.equal(r.method, "GET");
        assert.equal(r.url, "/runtime/v1/input");
      }
    });

    it("getInput() returns null when there is no input", async () => {
      api.state.input = null;
      assert.equal(await sdk.getInput(), null);
    });

    it("setOutput() PUTs {value} as JSON", async () => {
      const value = { rows: [1, 2, { nested: true }], text: "héllo \"quoted\"", none: null };
      assert.equal(await sdk.setOutput(value), undefined);
      assert.deepEqual(api.state.output, value);
      const req = lastRequest(api);
      assert.equal(req.method, "PUT");
      assert.equal(req.url, "/runtime/v1/output");
      assert.match(req.headers["content-type"], /^application\/json/);
      assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
      assert.deepEqual(JSON.parse(req.bodyText), { value });
    });

    it("legacy output() is the same call as setOutput(); undefined is sent as null", async () => {
      await sdk.output(["legacy", 1]);
      assert.deepEqual(api.state.output, ["legacy", 1]);
      assert.equal(lastRequest(api).url, "/runtime/v1/output");
      assert.equal(lastRequest(api).method, "PUT");
      await sdk.default.output("via default");
      assert.equal(api.state.output, "via default");
      await sdk.setOutput(0);
      assert.equal(api.state.output, 0);
      await sdk.setOutput();
      assert.equal(api.state.output, null);
      assert.deepEqual(JSON.parse(lastRequest(api).bodyText), { value: null });
    });

    it("context() returns the execution context", async () => {
      assert.deepEqual(await sdk.context(), DEFAULT_CONTEXT);
      assert.equal(lastRequest(api).method, "GET");
      assert.equal(lastRequest(api).url, "/runtime/v1/context");
    });

    it("legacy event() returns {id, name, type, userId, executionId} from context()", async () => {
      assert.deepEqual(await sdk.event(), {
        id: "evt-7",
        name: "Nightly report",
        type: "NODEJS",
        userId: "user-42",
        executionId: "exec-123",
      });
      assert.equal(lastRequest(api).url, "/runtime/v1/context");
      api.state.context.event = null;
      assert.deepEqual(await sdk.default.event(), {
        id: null,
        name: null,
        type: null,
        userId: "user-42",
        executionId: "exec-123",
      });
    });

    it("getVariable() returns the value, and null (not an error) when unset", async () => {
      assert.deepEqual(await sdk.getVariable("existing"), { a: [1, 2, 3] });
      assert.equal(lastRequest(api).method, "GET");
      assert.equal(lastRequest(api).url, "/runtime/v1/variables/existing");
      assert.equal(await sdk.getVariable("missing"), null);
      assert.equal(lastRequest(api).url, "/runtime/v1/variables/missing");
    });

    it("setVariable()/getVariable()/deleteVariable() round-trip with URL-encoded keys", async () => {
      const key = "odd key/with?&#%chars";
      const encoded = "odd%20key%2Fwith%3F%26%23%25chars";
      await sdk.setVariable(key, { count: 3 });
      let req = lastRequest(api);
      assert.equal(req.method, "PUT");
      assert.equal(req.url, `/runtime/v1/variables/${encoded}`);
      assert.match(req.headers["content-type"], /^application\/json/);
      assert.deepEqual(JSON.parse(req.bodyText), { value: { count: 3 } });
      assert.deepEqual(api.state.variables.get(key), { count: 3 });
      assert.deepEqual(await sdk.getVariable(key), { count: 3 });

      for (const falsy of [0, false, "", null]) {
        await sdk.setVariable("falsy", falsy);
        assert.equal(await sdk.getVariable("falsy"), falsy);
      }

      assert.equal(await sdk.deleteVariable(key), true);
      req = lastRequest(api);
      assert.equal(req.method, "DELETE");
      assert.equal(req.url, `/runtime/v1/variables/${encoded}`);
      assert.equal(req.headers["content-type"], undefined, "DELETE must not claim a JSON body");
      assert.equal(req.bodyText, "");
      assert.equal(api.state.variables.has(key), false);
      assert.equal(await sdk.deleteVariable(key), false);
      assert.equal(await sdk.getVariable(key), null);
    });

    it("rejects empty or non-string keys without sending a request", async () => {
      await assert.rejects(sdk.getVariable(""), TypeError);
      await assert.rejects(sdk.setVariable(42, 1), TypeError);
      await assert.rejects(sdk.getSecret(undefined), TypeError);
      assert.equal(api.requests.length, 0);
    });

    it("setCondition() PUTs a boolean and throws TypeError for anything else", async () => {
      await sdk.setCondition(true);
      assert.equal(api.state.condition, true);
      assert.equal(lastRequest(api).method, "PUT");
      assert.equal(lastRequest(api).url, "/runtime/v1/condition");
      assert.deepEqual(JSON.parse(lastRequest(api).bodyText), { value: true });
      await sdk.setCondition(false);
      assert.equal(api.state.condition, false);
      const before = api.requests.length;
      for (const bad of ["true", 1, null, undefined]) {
        await assert.rejects(sdk.setCondition(bad), TypeError);
      }
      assert.equal(api.requests.length, before, "invalid conditions are not sent");
      assert.equal(api.state.condition, false);
    });

    it("getSecret() returns the raw string value", async () => {
      assert.equal(await sdk.getSecret("API_KEY"), 's3cr3t value with "quotes" and spaces');
      assert.equal(lastRequest(api).method, "GET");
      assert.equal(lastRequest(api).url, "/runtime/v1/secrets/API_KEY");
    });

    it("getSecret() of a non-granted secret rejects with a typed CroniumError", async () => {
      const err = await rejectsWith(sdk.getSecret("NOT_GRANTED"), {
        name: "CroniumError",
        status: 403,
        code: "SECRET_NOT_GRANTED",
        message: 'Cronium API error 403 SECRET_NOT_GRANTED: secret "NOT_GRANTED" was not granted to this execution',
      });
      assert.ok(err instanceof sdk.CroniumError);
      assert.ok(err instanceof Error);
      assert.equal(api.requests.length, 1, "HTTP errors are not retried");
    });

    it("a 404 with another code than VARIABLE_NOT_FOUND is an error, not null", async () => {
      api.state.nextResponse = {
        status: 404,
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "NOT_FOUND", message: "no such route" } }),
      };
      await rejectsWith(sdk.getVariable("existing"), { status: 404, code: "NOT_FOUND" });
    });

    it("server errors carry status, code and field, and are not retried", async () => {
      api.state.nextResponse = {
        status: 400,
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "VALIDATION_ERROR", message: "value is too large", field: "value" } }),
      };
      const err = await rejectsWith(sdk.setOutput("x"), {
        status: 400,
        code: "VALIDATION_ERROR",
        field: "value",
        message: "Cronium API error 400 VALIDATION_ERROR: value is too large",
      });
      assert.ok(err instanceof sdk.CroniumError);
      api.state.nextResponse = { status: 502, body: "Bad Gateway" };
      await rejectsWith(sdk.getInput(), { status: 502, code: "HTTP_502", message: /Bad Gateway/ });
      assert.equal(api.requests.length, 2);
    });

    it("a non-JSON success body is an INVALID_RESPONSE error", async () => {
      api.state.nextResponse = { status: 200, body: "<html>proxy login</html>" };
      await rejectsWith(sdk.getInput(), { status: 200, code: "INVALID_RESPONSE" });
    });

    it("a wrong token gets the server's 401 as a CroniumError", async () => {
      process.env.CRONIUM_TOKEN = "not-the-token";
      await rejectsWith(sdk.getInput(), { status: 401, code: "UNAUTHORIZED" });
      assert.equal(lastRequest(api).headers.authorization, "Bearer not-the-token");
    });

    it("fails clearly outside Cronium (missing CRONIUM_API_URL / CRONIUM_TOKEN)", async () => {
      delete process.env.CRONIUM_API_URL;
      const err = await rejectsWith(sdk.getInput(), {
        code: "NOT_IN_CRONIUM",
        status: null,
        message: "not running inside Cronium: CRONIUM_API_URL is not set",
      });
      assert.ok(err instanceof sdk.CroniumError);
      process.env.CRONIUM_API_URL = api.url;
      delete process.env.CRONIUM_TOKEN;
      await rejectsWith(sdk.setOutput(1), {
        code: "NOT_IN_CRONIUM",
        message: "not running inside Cronium: CRONIUM_TOKEN is not set",
      });
      assert.equal(api.requests.length, 0);
    });

    it("accepts CRONIUM_API_URL with or without a trailing slash", async () => {
      process.env.CRONIUM_API_URL = `${api.url}/`;
      assert.deepEqual(await sdk.getInput(), { hello: "world", n: 1 });
      assert.equal(lastRequest(api).url, "/runtime/v1/input");
      process.env.CRONIUM_API_URL = `${api.url}//`;
      await sdk.setCondition(true);
      assert.equal(lastRequest(api).url, "/runtime/v1/condition");
    });

    it("ignores HTTP_PROXY/HTTPS_PROXY (all pointing at a closed port) and talks to the API directly", async () => {
      assert.equal(process.env.HTTP_PROXY, `http://127.0.0.1:${PROXY_PORT}`);
      assert.equal(process.env.http_proxy, `http://127.0.0.1:${PROXY_PORT}`);
      await sdk.setVariable("via", "direct");
      assert.equal(await sdk.getVariable("via"), "direct");
      // origin-form request target: a proxied request would use the absolute URL
      assert.equal(lastRequest(api).url, "/runtime/v1/variables/via");
      assert.equal(lastRequest(api).headers.host, `127.0.0.1:${api.port}`);
    });

    it("createClient({apiUrl, token}) works without any environment", async () => {
      delete process.env.CRONIUM_API_URL;
      delete process.env.CRONIUM_TOKEN;
      const client = sdk.createClient({ apiUrl: api.url, token: TOKEN });
      assert.deepEqual(await client.input(), await client.getInput());
      await client.setOutput({ from: "client" });
      assert.deepEqual(api.state.output, { from: "client" });
      assert.equal((await client.event()).executionId, "exec-123");
      const bad = sdk.createClient({ apiUrl: api.url, token: "nope" });
      await rejectsWith(bad.getInput(), { status: 401, code: "UNAUTHORIZED" });
    });
  });

  describe(`${kind} entry: connection errors`, () => {
    beforeEach(() => {
      process.env.CRONIUM_TOKEN = TOKEN;
    });

    it("retries when the first connection is dropped", async () => {
      const api = await startFakeApi({ dropConnections: 1 });
      try {
        process.env.CRONIUM_API_URL = api.url;
        assert.deepEqual(await sdk.getInput(), { hello: "world", n: 1 });
        assert.equal(api.connections, 2);
        assert.equal(api.requests.length, 1);
      } finally {
        await api.close();
      }
    });

    it("retries a PUT whose connection is dropped, writing once", async () => {
      const api = await startFakeApi({ dropConnections: 2 });
      try {
        process.env.CRONIUM_API_URL = api.url;
        await sdk.setOutput({ ok: 1 });
        assert.deepEqual(api.state.output, { ok: 1 });
        assert.equal(api.state.outputWrites, 1);
        assert.equal(api.connections, 3);
      } finally {
        await api.close();
      }
    });

    it("gives up after 4 attempts with backoff and a CONNECTION_FAILED error", async () => {
      const api = await startFakeApi({ dropConnections: Infinity });
      try {
        process.env.CRONIUM_API_URL = api.url;
        const started = Date.now();
        const err = await rejectsWith(sdk.getInput(), { code: "CONNECTION_FAILED", status: null, name: "CroniumError" });
        const elapsed = Date.now() - started;
        assert.ok(err instanceof sdk.CroniumError);
        assert.equal(api.connections, 4, "exactly 4 attempts");
        assert.ok(elapsed >= 900, `backoff 100+250+600 ms expected, took ${elapsed} ms`);
        assert.ok(elapsed < 5000, `took ${elapsed} ms`);
      } finally {
        await api.close();
      }
    });

    it("connection refused becomes CONNECTION_FAILED after retrying", async () => {
      process.env.CRONIUM_API_URL = `http://127.0.0.1:${await closedPort()}`;
      const started = Date.now();
      await rejectsWith(sdk.setCondition(true), { code: "CONNECTION_FAILED", message: /ECONNREFUSED|cannot reach/ });
      assert.ok(Date.now() - started >= 900, "retried with backoff");
    });

    it("times out a request that never gets an answer, and retries it", async () => {
      const api = await startFakeApi({ hang: true });
      try {
        const client = sdk.createClient({ apiUrl: api.url, token: TOKEN, timeoutMs: 150, retryDelaysMs: [10, 10, 10] });
        const started = Date.now();
        await rejectsWith(client.getInput(), { code: "CONNECTION_FAILED", message: /timed out/ });
        assert.equal(api.requests.length, 4);
        assert.ok(Date.now() - started >= 4 * 150);
      } finally {
        await api.close();
      }
    });
  });
}
