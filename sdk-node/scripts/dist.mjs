// Build helper for sdk-node (no dependencies).
//   node scripts/dist.mjs clean   -> remove dist/
//   node scripts/dist.mjs finish  -> mark dist/cjs as CommonJS (package.json is "type": "module")
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const step = process.argv[2];
if (step === "clean") {
  rmSync(join(root, "dist"), { recursive: true, force: true });
} else if (step === "finish") {
  mkdirSync(join(root, "dist", "cjs"), { recursive: true });
  writeFileSync(join(root, "dist", "cjs", "package.json"), JSON.stringify({ type: "commonjs" }) + "\n");
} else {
  console.error("usage: node scripts/dist.mjs clean|finish");
  process.exit(2);
}
