// Tests of the bash SDK (sdk-bash/cronium) run with `bash sdk-bash/cronium ...` against an
// in-memory implementation of the runtime API. Run: node --test sdk-bash/test/
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_CONTEXT, TOKEN, closedPort, proxyEnv, startFakeApi } from "../../sdk-node/test-support/fake-api.mjs";
import { tree } from "../../sdk-node/test-support/tree.mjs";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "..", "cronium");
const HOME = mkdtempSync(join(tmpdir(), "cronium-bash-home-"));
let PROXY;

before(async () => {
  PROXY = proxyEnv(await closedPort());
});
after(() => rmSync(HOME, { recursive: true, force: true }));

/** Run a command with the given env; never blocks the event loop (the fake API lives here). */
function run(cmd, args, { env, input, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => {}); // the script may not read stdin
    child.stdin.end(input ?? "");
  });
}

function cliEnv(api, extra = {}) {
  return {
    PATH: process.env.PATH,
    HOME,
    ...PROXY,
    ...(api ? { CRONIUM_API_URL: api.url, CRONIUM_TOKEN: TOKEN } : {}),
    ...extra,
  };
}

describe("cronium (bash)", () => {
  let api;
  const cronium = (args, opts = {}) => run("bash", [SCRIPT, ...args], { env: opts.env ?? cliEnv(api), input: opts.input });
  const last = () => api.requests.at(-1);

  beforeEach(async () => {
    api = await startFakeApi();
  });
  afterEach(async () => {
    await api.close();
  });

  it("get-input prints the input as compact JSON, with the bearer token", async () => {
    const r = await cronium(["get-input"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"hello":"world","n":1}\n');
    assert.equal(r.stderr, "");
    assert.equal(last().method, "GET");
    assert.equal(last().url, "/runtime/v1/input");
    assert.equal(last().headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(last().headers["content-type"], undefined);
  });

  it("legacy `input` gives the same result as get-input", async () => {
    const a = await cronium(["get-input"]);
    const b = await cronium(["input"]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, a.stdout);
    assert.deepEqual(
      api.requests.map((r) => `${r.method} ${r.url}`),
      ["GET /runtime/v1/input", "GET /runtime/v1/input"],
    );
    api.state.input = null;
    assert.equal((await cronium(["input"])).stdout, "null\n");
  });

  it("set-output sends {value} as JSON and prints nothing", async () => {
    const r = await cronium(["set-output", '{"a": [1, 2], "s": "x y \\"q\\"", "u": "h\\u00e9"}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.deepEqual(api.state.output, { a: [1, 2], s: 'x y "q"', u: "hé" });
    assert.equal(last().method, "PUT");
    assert.equal(last().url, "/runtime/v1/output");
    assert.match(last().headers["content-type"], /^application\/json/);
    assert.equal(last().headers.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(JSON.parse(last().bodyText), { value: { a: [1, 2], s: 'x y "q"', u: "hé" } });
  });

  it("set-output / output read stdin when the argument is - or omitted", async () => {
    let r = await cronium(["set-output", "-"], { input: '[1, {"from": "stdin"}]\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(api.state.output, [1, { from: "stdin" }]);
    r = await cronium(["output"], { input: '"legacy"' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.state.output, "legacy");
    assert.equal(last().url, "/runtime/v1/output");
    r = await cronium(["output", "false"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.state.output, false);
    assert.equal(api.state.outputWrites, 3);
  });

  it("set-output handles values larger than a command-line argument via stdin", async () => {
    const big = { rows: Array.from({ length: 20000 }, (_, i) => `row-${i}`) };
    const r = await cronium(["set-output"], { input: JSON.stringify(big) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(api.state.output, big);
  });

  it("invalid JSON is a usage error (exit 2) naming the argument, and nothing is sent", async () => {
    for (const [args, input] of [
      [["set-output", "{a:1}"]],
      [["set-output", "hello"]],
      [["set-output", "1 2"]],
      [["set-output", ""]],
      [["set-output"], "not json"],
      [["set-output", "-"], ""],
      [["set-variable", "k", "[1,"]],
    ]) {
      const r = await cronium(args, { input });
      assert.equal(r.code, 2, `${args.join(" ")} -> ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^cronium: ${args[0]}: <json>`));
      assert.equal(r.stdout, "");
    }
    assert.equal(api.requests.length, 0);
  });

  it("get-variable prints the value, and null (exit 0) when unset", async () => {
    let r = await cronium(["get-variable", "existing"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"a":[1,2,3]}\n');
    assert.equal(last().method, "GET");
    assert.equal(last().url, "/runtime/v1/variables/existing");
    r = await cronium(["get-variable", "missing"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "null\n");
    assert.equal(r.stderr, "");
  });

  it("set-variable / get-variable / delete-variable round-trip with URL-encoded keys", async () => {
    const key = "odd key/with?&#%chars";
    const encoded = "odd%20key%2Fwith%3F%26%23%25chars";
    let r = await cronium(["set-variable", key, '{"count": 3}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(last().method, "PUT");
    assert.equal(last().url, `/runtime/v1/variables/${encoded}`);
    assert.deepEqual(JSON.parse(last().bodyText), { value: { count: 3 } });
    assert.deepEqual(api.state.variables.get(key), { count: 3 });
    assert.equal((await cronium(["get-variable", key])).stdout, '{"count":3}\n');

    r = await cronium(["set-variable", "piped"], { input: '"from stdin"' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.state.variables.get("piped"), "from stdin");

    r = await cronium(["delete-variable", key]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "true\n");
    assert.equal(last().method, "DELETE");
    assert.equal(last().url, `/runtime/v1/variables/${encoded}`);
    assert.equal(last().headers["content-type"], undefined);
    assert.equal(api.state.variables.has(key), false);
    assert.equal((await cronium(["delete-variable", key])).stdout, "false\n");
    assert.equal((await cronium(["get-variable", key])).stdout, "null\n");
  });

  it("set-condition accepts only true|false", async () => {
    let r = await cronium(["set-condition", "true"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.state.condition, true);
    assert.equal(last().method, "PUT");
    assert.equal(last().url, "/runtime/v1/condition");
    assert.deepEqual(JSON.parse(last().bodyText), { value: true });
    r = await cronium(["set-condition", "false"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.state.condition, false);
    const before = api.requests.length;
    for (const bad of ["yes", "1", "TRUE", '"true"']) {
      r = await cronium(["set-condition", bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /^cronium: set-condition: /);
    }
    assert.equal((await cronium(["set-condition"])).code, 2);
    assert.equal(api.requests.length, before);
    assert.equal(api.state.condition, false);
  });

  it("get-secret prints the raw value without quotes", async () => {
    const r = await cronium(["get-secret", "API_KEY"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 's3cr3t value with "quotes" and spaces\n');
    assert.equal(last().method, "GET");
    assert.equal(last().url, "/runtime/v1/secrets/API_KEY");
    api.state.secrets.set("EMPTY", "");
    api.state.granted.add("EMPTY");
    const e = await cronium(["get-secret", "EMPTY"]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stdout, "\n");
  });

  it("a non-granted secret prints `cronium: <status> <code>: <message>` and exits 1", async () => {
    const r = await cronium(["get-secret", "NOT_GRANTED"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, 'cronium: 403 SECRET_NOT_GRANTED: secret "NOT_GRANTED" was not granted to this execution\n');
    assert.equal(api.requests.length, 1, "HTTP errors are not retried");
  });

  it("context prints the context; legacy event prints {id,name,type,userId,executionId}", async () => {
    let r = await cronium(["context"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), DEFAULT_CONTEXT);
    assert.equal(r.stdout, JSON.stringify(DEFAULT_CONTEXT) + "\n", "compact JSON");
    assert.equal(last().url, "/runtime/v1/context");
    r = await cronium(["event"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"id":"evt-7","name":"Nightly report","type":"NODEJS","userId":"user-42","executionId":"exec-123"}\n');
    assert.equal(last().url, "/runtime/v1/context");
    api.state.context.event = null;
    r = await cronium(["event"]);
    assert.equal(r.stdout, '{"id":null,"name":null,"type":null,"userId":"user-42","executionId":"exec-123"}\n');
  });

  it("server errors: JSON error bodies, non-JSON bodies, other 404 codes; no retries", async () => {
    api.state.nextResponse = {
      status: 404,
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "NOT_FOUND", message: "no such route" } }),
    };
    let r = await cronium(["get-variable", "existing"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "cronium: 404 NOT_FOUND: no such route\n");
    api.state.nextResponse = { status: 502, body: "Bad Gateway" };
    r = await cronium(["context"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "cronium: 502 HTTP_502: Bad Gateway\n");
    assert.equal(api.requests.length, 2);
    api.state.nextResponse = { status: 200, body: "<html>proxy login</html>" };
    r = await cronium(["get-input"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cronium: 200 INVALID_RESPONSE: /);
  });

  it("a wrong token gets the server's 401", async () => {
    const r = await cronium(["get-input"], { env: cliEnv(api, { CRONIUM_TOKEN: "not-the-token" }) });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "cronium: 401 UNAUTHORIZED: missing or invalid runtime token\n");
    assert.equal(last().headers.authorization, "Bearer not-the-token");
  });

  it("fails clearly outside Cronium", async () => {
    let r = await cronium(["get-input"], { env: cliEnv(null, { CRONIUM_TOKEN: TOKEN }) });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "cronium: not running inside Cronium: CRONIUM_API_URL is not set\n");
    r = await cronium(["set-output", "1"], { env: cliEnv(null, { CRONIUM_API_URL: api.url }) });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "cronium: not running inside Cronium: CRONIUM_TOKEN is not set\n");
    assert.equal(api.requests.length, 0);
  });

  it("accepts CRONIUM_API_URL with or without a trailing slash", async () => {
    for (const url of [`${api.url}/`, `${api.url}//`, api.url]) {
      const r = await cronium(["get-input"], { env: cliEnv(api, { CRONIUM_API_URL: url }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(last().url, "/runtime/v1/input");
    }
  });

  it("bypasses HTTP_PROXY/http_proxy (pointing at a closed port)", async () => {
    const env = cliEnv(api);
    assert.match(env.http_proxy, /^http:\/\/127\.0\.0\.1:\d+$/);
    // sanity check: plain curl in this environment goes through the (dead) proxy and fails
    const plain = await run("curl", ["-q", "-s", "-o", "/dev/null", "--max-time", "5", `${api.url}/runtime/v1/input`], { env });
    assert.notEqual(plain.code, 0);
    assert.equal(api.requests.length, 0);
    const r = await cronium(["set-variable", "via", '"direct"'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await cronium(["get-variable", "via"], { env })).stdout, '"direct"\n');
    assert.equal(last().url, "/runtime/v1/variables/via", "origin-form target, not a proxied absolute URL");
  });

  it("help and usage errors", async () => {
    const h = await cronium(["help"]);
    assert.equal(h.code, 0);
    for (const word of ["get-input", "set-output", "get-variable", "set-variable", "delete-variable", "set-condition", "get-secret", "context", "save-artifact", "input", "output", "event"]) {
      assert.match(h.stdout, new RegExp(`^\\s+${word}\\b`, "m"), word);
    }
    const none = await cronium([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: cronium/);
    const unknown = await cronium(["get-outptu"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^cronium: unknown command 'get-outptu'/);
    assert.equal((await cronium(["get-input", "extra"])).code, 2);
    assert.equal((await cronium(["get-variable"])).code, 2);
    assert.equal((await cronium(["get-variable", ""])).code, 2);
    assert.equal((await cronium(["get-secret", "a", "b"])).code, 2);
    assert.equal(api.requests.length, 0);
  });
});

describe("cronium (bash): connection errors", () => {
  it("retries when the first connection is dropped", async () => {
    const api = await startFakeApi({ dropConnections: 1 });
    try {
      const r = await run("bash", [SCRIPT, "get-input"], { env: cliEnv(api) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '{"hello":"world","n":1}\n');
      assert.equal(api.connections, 2);
    } finally {
      await api.close();
    }
  });

  it("retries a PUT whose connection is dropped, writing once", async () => {
    const api = await startFakeApi({ dropConnections: 2 });
    try {
      const r = await run("bash", [SCRIPT, "set-output", "-"], { env: cliEnv(api), input: '{"ok":1}' });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(api.state.output, { ok: 1 });
      assert.equal(api.state.outputWrites, 1);
      assert.equal(api.connections, 3);
    } finally {
      await api.close();
    }
  });

  it("gives up after 4 attempts with backoff, exit 1", async () => {
    const api = await startFakeApi({ dropConnections: Infinity });
    try {
      const started = Date.now();
      const r = await run("bash", [SCRIPT, "get-input"], { env: cliEnv(api) });
      const elapsed = Date.now() - started;
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^cronium: cannot reach the Cronium API at http:\/\/127\.0\.0\.1:\d+: .+ \(GET \/runtime\/v1\/input\)\n$/);
      assert.equal(api.connections, 4);
      assert.ok(elapsed >= 900, `backoff 0.1+0.25+0.6 s expected, took ${elapsed} ms`);
    } finally {
      await api.close();
    }
  });

  it("connection refused is retried then reported", async () => {
    const env = cliEnv(null, { CRONIUM_API_URL: `http://127.0.0.1:${await closedPort()}`, CRONIUM_TOKEN: TOKEN });
    const started = Date.now();
    const r = await run("bash", [SCRIPT, "set-condition", "true"], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cronium: cannot reach the Cronium API/);
    assert.ok(Date.now() - started >= 900);
  });
});


// save-artifact is local (no API call): run without CRONIUM_API_URL/CRONIUM_TOKEN, on real files in a temporary
// directory standing in for /work, with CRONIUM_ARTIFACTS_DIR pointing at its out/.
describe("cronium (bash): save-artifact", () => {
  let dir, work, out, src, bytes;
  const save = (args, opts = {}) =>
    run("bash", [SCRIPT, "save-artifact", ...args], { env: cliEnv(null, { CRONIUM_ARTIFACTS_DIR: out, ...opts.env }), cwd: opts.cwd });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cronium-sdk-artifacts-"));
    work = join(dir, "work");
    out = join(work, "out");
    mkdirSync(work);
    bytes = Buffer.concat([randomBytes(200_000), Buffer.from([0, 255, 10, 13])]);
    src = join(dir, "report.bin");
    writeFileSync(src, bytes);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("copies the bytes under the file's basename, prints the name, leaves no temporary file", async () => {
    const r = await save([src]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "report.bin\n");
    assert.equal(r.stderr, "");
    assert.deepEqual(readFileSync(join(out, "report.bin")), bytes);
    const st = lstatSync(join(out, "report.bin"));
    assert.ok(st.isFile());
    assert.equal(st.nlink, 1, "a copy, not a hard link (the collector skips those)");
    assert.equal(st.mode & 0o777, 0o644);
    assert.deepEqual(tree(work), ["out", "out/report.bin"], "the temporary copy was renamed away");
  });

  it("writes the temporary copy outside the artifacts directory (in its parent) and renames it into place", async () => {
    // An `mv` first on PATH that records what it moves (and whether the copy is whole), then does the move.
    const shims = join(dir, "shims");
    mkdirSync(shims);
    writeFileSync(
      join(shims, "mv"),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$@" >>"${dir}/mv.log"\ncmp -s -- "\${@: -2:1}" "${src}" && echo whole >>"${dir}/mv.log"\nexec ${execFileSync("bash", ["-c", "command -v mv"]).toString().trim()} "$@"\n`,
      { mode: 0o755 },
    );
    const r = await save([src, "deep/er/report.bin"], { env: { PATH: `${shims}:${process.env.PATH}` } });
    assert.equal(r.code, 0, r.stderr);
    const log = readFileSync(join(dir, "mv.log"), "utf8").split("\n");
    const from = log.find((l) => l.includes(".cronium-artifact-"));
    assert.match(from, new RegExp(`^${work}/\\.cronium-artifact-[A-Za-z0-9]{16}\\.tmp$`), "not under out/, where a half copy would be collected");
    assert.ok(log.includes(join(out, "deep/er/report.bin")), log.join(" | "));
    assert.ok(log.includes("whole"), "the whole file is written before the move");
    assert.deepEqual(readFileSync(join(out, "deep/er/report.bin")), bytes);
  });

  it("takes a name with subdirectories, and makes them; a relative path is the working directory's", async () => {
    let r = await save([src, "reports/2024/summary.bin"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "reports/2024/summary.bin\n");
    assert.deepEqual(readFileSync(join(out, "reports/2024/summary.bin")), bytes);
    mkdirSync(join(work, "data"));
    writeFileSync(join(work, "data/orders.csv"), "id,amount\n1,12.5\n");
    r = await save(["data/orders.csv"], { cwd: work, env: { CRONIUM_ARTIFACTS_DIR: "out" } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "orders.csv\n");
    assert.equal(readFileSync(join(out, "orders.csv"), "utf8"), "id,amount\n1,12.5\n");
    assert.deepEqual(tree(out), ["orders.csv", "reports", "reports/2024", "reports/2024/summary.bin"]);
  });

  it("follows the script's own link to the file; replaces an artifact, a link or a hard link of the same name", async () => {
    symlinkSync(src, join(dir, "latest.bin"));
    let r = await save([join(dir, "latest.bin")]);
    assert.equal(r.stdout, "latest.bin\n", r.stderr);
    assert.ok(lstatSync(join(out, "latest.bin")).isFile());
    assert.deepEqual(readFileSync(join(out, "latest.bin")), bytes);

    writeFileSync(join(out, "report.bin"), "old");
    symlinkSync(src, join(out, "linked.bin"));
    linkSync(src, join(out, "hard.bin"));
    for (const name of ["report.bin", "linked.bin", "hard.bin"]) {
      r = await save([src, name]);
      assert.equal(r.code, 0, r.stderr);
      const st = lstatSync(join(out, name));
      assert.ok(st.isFile() && st.nlink === 1 && st.ino !== statSync(src).ino, name);
      assert.deepEqual(readFileSync(join(out, name)), bytes, name);
    }
  });

  it("is a no-op for the file already at that name", async () => {
    mkdirSync(join(out, "sub"), { recursive: true });
    writeFileSync(join(out, "report.txt"), "written in place");
    writeFileSync(join(out, "sub/x.txt"), "x");
    const ino = statSync(join(out, "report.txt")).ino;
    let r = await save([join(out, "report.txt")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "report.txt\n");
    r = await save(["out/sub/x.txt", "sub/x.txt"], { cwd: work });
    assert.equal(r.stdout, "sub/x.txt\n", r.stderr);
    assert.equal(statSync(join(out, "report.txt")).ino, ino, "not rewritten");
    assert.deepEqual(tree(work), ["out", "out/report.txt", "out/sub", "out/sub/x.txt"]);
  });

  it("refuses every bad name: usage error (exit 2) naming the argument, nothing written", async () => {
    // A NUL cannot be passed in a command-line argument at all; every other bad name:
    for (const name of ["", "/abs.txt", "a//b", "a/", "./a", "a/./b", "..", ".", "../x", "a/../b", "a\\b", "a\nb", "a\x7fb"]) {
      const r = await save([src, name]);
      assert.equal(r.code, 2, `${JSON.stringify(name)}: ${r.stderr}`);
      assert.match(r.stderr, /^cronium: save-artifact: <name> .* must /, JSON.stringify(name));
      assert.equal(r.stdout, "");
    }
    const odd = join(dir, "a\\b.txt");
    writeFileSync(odd, "x");
    let r = await save([odd]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^cronium: save-artifact: <name> \(the basename of <path> .*\) 'a\\b.txt' must not contain a backslash\n/);
    for (const args of [[], [""], [src, "a", "b"]]) {
      r = await save(args);
      assert.equal(r.code, 2, JSON.stringify(args));
      assert.match(r.stderr, /^cronium: save-artifact: /);
    }
    assert.deepEqual(tree(work), []);
  });

  it("refuses what is not a regular file (exit 1): a directory, a missing path, a FIFO (without blocking)", async () => {
    let r = await save([dir]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `cronium: save-artifact: <path> '${dir}' is a directory, not a regular file\n`);
    r = await save([join(dir, "missing.csv")]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `cronium: save-artifact: <path> '${dir}/missing.csv' does not exist\n`);
    execFileSync("mkfifo", [join(dir, "pipe")]);
    r = await save([join(dir, "pipe")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is a FIFO, not a regular file\n$/);
    assert.equal(r.stdout, "");
    assert.deepEqual(tree(work), []);
  });

  it("refuses a name that runs into a directory, a file or a symlink in the artifacts directory, or a linked out/", async () => {
    mkdirSync(join(out, "taken"), { recursive: true });
    writeFileSync(join(out, "plain"), "p");
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere"), join(out, "linkdir"));
    for (const [name, why] of [["taken", /taken is a directory\n$/], ["plain/x", /plain is not a directory\n$/], ["linkdir/x", /linkdir is a symbolic link/]]) {
      const r = await save([src, name]);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, why);
    }
    assert.deepEqual(tree(join(dir, "elsewhere")), [], "nothing written through the link");
    rmSync(out, { recursive: true });
    symlinkSync(join(dir, "elsewhere"), out);
    const r = await save([src]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /out is a symbolic link/);
    assert.deepEqual(tree(join(dir, "elsewhere")), []);
  });
});
