// Reproduce what the runtime image does: copy sdk-node/package.json and sdk-node/dist/ to
// <tmp>/node_modules/cronium/ (outside the repo, so no workspace node_modules can leak in).
import { cpSync, existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const SDK_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");

export function installPackageCopy() {
  const dist = join(SDK_DIR, "dist");
  for (const f of ["esm/index.js", "cjs/index.js", "cjs/package.json", "esm/index.d.ts", "cjs/index.d.ts"]) {
    if (!existsSync(join(dist, f))) throw new Error(`sdk-node/dist/${f} is missing: run "npm run build -w sdk-node" first`);
  }
  const root = mkdtempSync(join(tmpdir(), "cronium-sdk-node-"));
  const pkgDir = join(root, "node_modules", "cronium");
  mkdirSync(pkgDir, { recursive: true });
  cpSync(join(SDK_DIR, "package.json"), join(pkgDir, "package.json"));
  cpSync(dist, join(pkgDir, "dist"), { recursive: true });
  return {
    root,
    pkgDir,
    write(name, text) {
      const file = join(root, name);
      writeFileSync(file, text);
      return file;
    },
    /** ESM entry, resolved through the package's "exports" map ("import" condition). */
    async importEsm() {
      const file = join(root, "load-esm.mjs");
      writeFileSync(file, 'export * from "cronium";\nexport { default } from "cronium";\n');
      return import(pathToFileURL(file).href);
    },
    /** CJS entry, resolved through the package's "exports" map ("require" condition). */
    requireCjs() {
      return createRequire(join(root, "load-cjs.cjs"))("cronium");
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
