// The package as the runtime image installs it (/node_modules/cronium = package.json + dist/):
// every import style used by scripts works, in a fresh node process, with proxies configured.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { TOKEN, closedPort, proxyEnv, startFakeApi } from "../test-support/fake-api.mjs";
import { SDK_DIR, installPackageCopy } from "../test-support/package-copy.mjs";

const run = promisify(execFile);
const pkg = installPackageCopy();
let api;
let env;

before(async () => {
  api = await startFakeApi();
  env = {
    PATH: process.env.PATH,
    CRONIUM_API_URL: api.url,
    CRONIUM_TOKEN: TOKEN,
    ...proxyEnv(await closedPort()),
  };
});
after(async () => {
  await api.close();
  pkg.cleanup();
});

async function runScript(name, source) {
  const file = pkg.write(name, source);
  const { stdout } = await run(process.execPath, [file], { cwd: pkg.root, env, timeout: 20_000 });
  return JSON.parse(stdout);
}

describe("package layout", () => {
  it("has no runtime dependencies and every exports target exists", () => {
    const manifest = JSON.parse(readFileSync(join(SDK_DIR, "package.json"), "utf8"));
    assert.equal(manifest.dependencies, undefined);
    assert.equal(manifest.peerDependencies, undefined);
    const targets = [];
    const walk = (v) => (typeof v === "string" ? targets.push(v) : Object.values(v).forEach(walk));
    walk(manifest.exports["."]);
    assert.ok(targets.length >= 4);
    for (const t of [...targets, manifest.main, manifest.types]) {
      assert.ok(existsSync(join(pkg.pkgDir, t)), `${t} exists in the installed copy`);
    }
    const cjsPkg = JSON.parse(readFileSync(join(pkg.pkgDir, "dist/cjs/package.json"), "utf8"));
    assert.equal(cjsPkg.type, "commonjs");
  });

  it("never uses global fetch (proxy-aware) to reach the API", () => {
    for (const f of ["dist/esm/index.js", "dist/cjs/index.js"]) {
      const code = readFileSync(join(pkg.pkgDir, f), "utf8");
      assert.doesNotMatch(code, /\bfetch\s*\(/, `${f} must use node:http/https`);
      assert.match(code, /node:http/);
    }
  });
});

describe("import styles (fresh node process, proxies set to a closed port)", () => {
  it('import cronium from "cronium"', async () => {
    const out = await runScript(
      "default-import.mjs",
      `import cronium from "cronium";
       const a = await cronium.getInput();
       const b = await cronium.input();
       await cronium.output({ style: "esm-default" });
       const ev = await cronium.event();
       console.log(JSON.stringify({ a, b, ev }));`,
    );
    assert.deepEqual(out.a, { hello: "world", n: 1 });
    assert.deepEqual(out.b, out.a);
    assert.equal(out.ev.executionId, "exec-123");
    assert.deepEqual(api.state.output, { style: "esm-default" });
  });

  it('import { getInput, ... } from "cronium"', async () => {
    const out = await runScript(
      "named-import.mjs",
      `import { getInput, setOutput, getSecret, CroniumError } from "cronium";
       const a = await getInput();
       await setOutput("esm-named");
       let code = null;
       try { await getSecret("NOT_GRANTED"); } catch (e) { code = e instanceof CroniumError ? e.code : "wrong-type"; }
       console.log(JSON.stringify({ a, code }));`,
    );
    assert.deepEqual(out, { a: { hello: "world", n: 1 }, code: "SECRET_NOT_GRANTED" });
    assert.equal(api.state.output, "esm-named");
  });

  it('const cronium = require("cronium")', async () => {
    const out = await runScript(
      "require-default.cjs",
      `const cronium = require("cronium");
       (async () => {
         const a = await cronium.getInput();
         const b = await cronium.input();
         await cronium.setVariable("from-cjs", [1]);
         const v = await cronium.getVariable("from-cjs");
         await cronium.output({ style: "cjs" });
         console.log(JSON.stringify({ a, b, v }));
       })().catch((e) => { console.error(e); process.exit(1); });`,
    );
    assert.deepEqual(out, { a: { hello: "world", n: 1 }, b: { hello: "world", n: 1 }, v: [1] });
    assert.deepEqual(api.state.output, { style: "cjs" });
  });

  it('require("cronium").getInput', async () => {
    const out = await runScript(
      "require-named.cjs",
      `const getInput = require("cronium").getInput;
       const { context, CroniumError } = require("cronium");
       Promise.all([getInput(), context()]).then(([a, ctx]) =>
         console.log(JSON.stringify({ a, attempt: ctx.attempt, err: typeof CroniumError })));`,
    );
    assert.deepEqual(out, { a: { hello: "world", n: 1 }, attempt: 2, err: "function" });
  });

  it("type declarations work for ESM and CommonJS TypeScript consumers", async (t) => {
    let tsc;
    try {
      tsc = createRequire(join(SDK_DIR, "package.json")).resolve("typescript/bin/tsc");
    } catch {
      t.skip("typescript is not installed");
      return;
    }
    pkg.write(
      "consumer.mts",
      `import cronium, { getInput, CroniumError, type CroniumContext } from "cronium";
       const v: { n: number } = await getInput<{ n: number }>();
       const ctx: CroniumContext = await cronium.context();
       const s: string = await cronium.getSecret("x");
       const d: boolean = await cronium.deleteVariable("k");
       const e = new CroniumError("m", { code: "C", status: 400 });
       const st: number | null = e.status;
       export { v, ctx, s, d, st };`,
    );
    pkg.write(
      "consumer.cts",
      `import cronium = require("cronium");
       export async function main(): Promise<string | null> {
         await cronium.setCondition(true);
         const ev = await cronium.event();
         return ev.id;
       }`,
    );
    pkg.write(
      "tsconfig.json",
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, types: [] },
        files: ["consumer.mts", "consumer.cts"],
      }),
    );
    await run(process.execPath, [tsc, "-p", join(pkg.root, "tsconfig.json")], { cwd: pkg.root, timeout: 60_000 });
  });
});
