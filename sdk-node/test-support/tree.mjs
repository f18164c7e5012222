import { existsSync, readdirSync } from "node:fs";

/** Every path under `dir` (relative, sorted), so that a test sees anything left behind. */
export function tree(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String).sort();
}
