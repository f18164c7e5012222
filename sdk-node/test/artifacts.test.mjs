// saveArtifact() of the built SDK (dist/esm and dist/cjs, through the package "exports" map): real files in a
// temporary directory standing in for /work, with CRONIUM_ARTIFACTS_DIR pointing at its out/.
import { after, afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
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
import { promises as fsp } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installPackageCopy } from "../test-support/package-copy.mjs";
import { rejectsWith } from "../test-support/rejects.mjs";
import { tree } from "../test-support/tree.mjs";

const pkg = installPackageCopy();
after(() => pkg.cleanup());
const entries = { esm: await pkg.importEsm(), cjs: pkg.requireCjs() };

const BAD_NAMES = ["", "/abs.txt", "a//b", "a/", "./a", "a/./b", "..", ".", "../x", "a/../b", "a\\b", "a\0b", "a\nb"];



for (const [kind, sdk] of Object.entries(entries)) {
  describe(`${kind} entry: saveArtifact`, () => {
    let dir, work, out, src, bytes;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "cronium-sdk-artifacts-"));
      work = join(dir, "work");
      out = join(work, "out");
      mkdirSync(work);
      process.env.CRONIUM_ARTIFACTS_DIR = out;
      bytes = Buffer.concat([randomBytes(200_000), Buffer.from([0, 255, 10, 13])]);
      src = join(dir, "report.bin");
      writeFileSync(src, bytes);
    });
    afterEach(() => {
      delete process.env.CRONIUM_ARTIFACTS_DIR;
      rmSync(dir, { recursive: true, force: true });
    });

    it("is a named export, on the default object and on createClient() clients", () => {
      assert.equal(typeof sdk.saveArtifact, "function");
      assert.equal(sdk.default.saveArtifact, sdk.saveArtifact);
      assert.equal(typeof sdk.createClient().saveArtifact, "function");
    });

    it("copies the bytes under the file's basename, making the artifacts directory, leaving no temporary file", async () => {
      assert.equal(await sdk.saveArtifact(src), "report.bin");
      assert.deepEqual(readFileSync(join(out, "report.bin")), bytes);
      const st = lstatSync(join(out, "report.bin"));
      assert.ok(st.isFile());
      assert.equal(st.nlink, 1, "a copy, not a hard link (the collector skips those)");
      assert.deepEqual(tree(out), ["report.bin"]);
      assert.deepEqual(tree(work), ["out", "out/report.bin"], "the temporary copy was renamed away");
      assert.deepEqual(readFileSync(src), bytes, "the source is untouched");
    });

    it("writes the temporary copy outside the artifacts directory (in its parent) and renames it into place", async () => {
      const renames = [];
      const rename = fsp.rename;
      fsp.rename = async (from, to) => {
        renames.push([String(from), String(to), readFileSync(from).equals(bytes)]);
        return rename(from, to);
      };
      try {
        await sdk.saveArtifact(src, "deep/er/report.bin");
      } finally {
        fsp.rename = rename;
      }
      assert.equal(renames.length, 1);
      const [from, to, complete] = renames[0];
      assert.match(from, new RegExp(`^${work}/\\.cronium-artifact-[0-9a-f]{16}\\.tmp$`), "not under out/, where a half copy would be collected");
      assert.equal(to, join(out, "deep/er/report.bin"));
      assert.ok(complete, "the whole file is written before the rename");
    });

    it("takes a name with subdirectories, and makes them", async () => {
      assert.equal(await sdk.saveArtifact(src, "reports/2024/summary.bin"), "reports/2024/summary.bin");
      assert.deepEqual(readFileSync(join(out, "reports/2024/summary.bin")), bytes);
      assert.equal(await sdk.default.saveArtifact(src, "reports/other.bin"), "reports/other.bin");
      assert.deepEqual(tree(out), ["reports", "reports/2024", "reports/2024/summary.bin", "reports/other.bin"]);
    });

    it("follows the script's own link to the file, names the artifact after the link, stores a regular file", async () => {
      symlinkSync(src, join(dir, "latest.bin"));
      assert.equal(await sdk.saveArtifact(join(dir, "latest.bin")), "latest.bin");
      assert.ok(lstatSync(join(out, "latest.bin")).isFile());
      assert.deepEqual(readFileSync(join(out, "latest.bin")), bytes);
    });

    it("replaces an artifact of the same name, and a link or second hard link in its place with a copy", async () => {
      mkdirSync(out);
      writeFileSync(join(out, "report.bin"), "old");
      await sdk.saveArtifact(src);
      assert.deepEqual(readFileSync(join(out, "report.bin")), bytes);

      symlinkSync(src, join(out, "linked.bin"));
      await sdk.saveArtifact(src, "linked.bin");
      assert.ok(lstatSync(join(out, "linked.bin")).isFile(), "the symlink is replaced by a file");

      linkSync(src, join(out, "hard.bin"));
      await sdk.saveArtifact(src, "hard.bin");
      const st = statSync(join(out, "hard.bin"));
      assert.equal(st.nlink, 1);
      assert.notEqual(st.ino, statSync(src).ino);
      assert.deepEqual(readFileSync(join(out, "hard.bin")), bytes);
    });

    it("is a no-op for the file already at that name", async () => {
      mkdirSync(join(out, "sub"), { recursive: true });
      writeFileSync(join(out, "report.txt"), "written in place");
      writeFileSync(join(out, "sub/x.txt"), "x");
      const ino = statSync(join(out, "report.txt")).ino;
      assert.equal(await sdk.saveArtifact(join(out, "report.txt")), "report.txt");
      assert.equal(await sdk.saveArtifact(join(out, "sub/x.txt"), "sub/x.txt"), "sub/x.txt");
      assert.equal(statSync(join(out, "report.txt")).ino, ino, "not rewritten");
      assert.equal(readFileSync(join(out, "report.txt"), "utf8"), "written in place");
      assert.deepEqual(tree(work), ["out", "out/report.txt", "out/sub", "out/sub/x.txt"]);
    });

    it("refuses every bad name with a TypeError naming the argument, touching nothing", async () => {
      for (const name of BAD_NAMES) {
        await rejectsWith(sdk.saveArtifact(src, name), TypeError, {
          message: new RegExp(`^cronium: saveArtifact: name ${JSON.stringify(name).replace(/[\\.()[\]]/g, "\\$&")} must `),
        });
      }
      await rejectsWith(sdk.saveArtifact(src, 42), TypeError, { message: /^cronium: saveArtifact: name must be a string/ });
      await rejectsWith(sdk.saveArtifact(""), TypeError, { message: /^cronium: saveArtifact: path must be/ });
      await rejectsWith(sdk.saveArtifact(undefined), TypeError, { message: /path must be/ });
      assert.deepEqual(tree(work), []);
    });

    it("refuses a default name that is not a valid artifact name (the basename of path)", async () => {
      const odd = join(dir, "a\\b.txt");
      writeFileSync(odd, "x");
      await rejectsWith(sdk.saveArtifact(odd), TypeError, { message: /name \(the basename of path .*\) "a\\\\b.txt" must not contain a backslash/ });
      assert.equal(await sdk.saveArtifact(odd, "a-b.txt"), "a-b.txt");
    });

    it("refuses what is not a regular file: a directory, a missing path, a FIFO (without blocking)", async () => {
      await rejectsWith(sdk.saveArtifact(dir), sdk.CroniumError, {
        code: "NOT_A_FILE",
        field: "path",
        status: null,
        message: `cronium: saveArtifact: path ${JSON.stringify(dir)} is a directory, not a regular file`,
      });
      await rejectsWith(sdk.saveArtifact(join(dir, "missing.csv")), sdk.CroniumError, {
        code: "FILE_NOT_FOUND",
        field: "path",
        message: /path ".*missing\.csv" does not exist$/,
      });
      await rejectsWith(sdk.saveArtifact(join(src, "below-a-file")), sdk.CroniumError, { code: "FILE_NOT_FOUND" });
      execFileSync("mkfifo", [join(dir, "pipe")]);
      await rejectsWith(sdk.saveArtifact(join(dir, "pipe")), sdk.CroniumError, { code: "NOT_A_FILE", message: /is a FIFO/ });
      assert.deepEqual(tree(work), []);
    });

    it("refuses a name that runs into a file, a directory or a symlink in the artifacts directory", async () => {
      mkdirSync(join(out, "taken"), { recursive: true });
      writeFileSync(join(out, "plain"), "p");
      mkdirSync(join(dir, "elsewhere"));
      symlinkSync(join(dir, "elsewhere"), join(out, "linkdir"));
      await rejectsWith(sdk.saveArtifact(src, "taken"), sdk.CroniumError, { code: "ARTIFACT_CONFLICT", field: "name", message: /is a directory$/ });
      await rejectsWith(sdk.saveArtifact(src, "plain/x"), sdk.CroniumError, { code: "ARTIFACT_CONFLICT", message: /plain is not a directory$/ });
      await rejectsWith(sdk.saveArtifact(src, "linkdir/x"), sdk.CroniumError, { code: "ARTIFACT_CONFLICT", message: /linkdir is a symbolic link/ });
      assert.deepEqual(tree(join(dir, "elsewhere")), [], "nothing written through the link");
      assert.deepEqual(tree(out), ["linkdir", "plain", "taken"]);
    });

    it("refuses an artifacts directory that is a symlink (the collector would take nothing from it)", async () => {
      mkdirSync(join(dir, "real-out"));
      symlinkSync(join(dir, "real-out"), out);
      await rejectsWith(sdk.saveArtifact(src), sdk.CroniumError, { code: "ARTIFACT_CONFLICT", message: /is a symbolic link/ });
      assert.deepEqual(tree(join(dir, "real-out")), []);
    });
  });
}
