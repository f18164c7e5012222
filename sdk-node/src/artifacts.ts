/**
 * `saveArtifact(path, name?)`: copy one of the script's files into the artifacts directory, whose regular files
 * the sandbox collects when the script ends. Local only (no API call), so it works outside Cronium too.
 *
 * The collector takes regular files with one link and skips symlinks and hard links, so the artifact is always a
 * fresh copy of the bytes, never a link. The copy is written under a temporary name outside the artifacts tree
 * (when that directory is on the same filesystem) and renamed into place: a script killed in the middle of a copy
 * (time-out, OOM) leaves neither a half artifact nor a temporary file to be collected.
 */
import { randomBytes } from "node:crypto";
import { constants, promises as fsp, type Stats } from "node:fs";
import * as path from "node:path";
import { CroniumError } from "./errors.js";

/** Where the sandbox collects artifacts from; `CRONIUM_ARTIFACTS_DIR` overrides it (tests, local runs). */
export const DEFAULT_ARTIFACTS_DIR = "/work/out";

const FN = "saveArtifact";

function artifactsDir(): string {
  return path.resolve(process.env["CRONIUM_ARTIFACTS_DIR"] || DEFAULT_ARTIFACTS_DIR);
}

function errno(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "string"
    ? (err as { code: string }).code
    : undefined;
}

/**
 * Why `name` cannot be an artifact name, or null. The same rule as the server's file paths: relative, no empty,
 * "." or ".." segment, no backslash; control characters too (the server would rewrite them, so the name returned
 * would not be the artifact's).
 */
export function artifactNameProblem(name: string): string | null {
  if (name === "") return "must not be empty";
  if (name.includes("\0")) return "must not contain a NUL character";
  if (name.includes("\\")) return "must not contain a backslash";
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) return "must not contain control characters";
  if (name.startsWith("/")) return "must be relative (no leading /)";
  const segs = name.split("/");
  if (segs.includes("")) return "must not have an empty segment (// or a trailing /)";
  if (segs.some((s) => s === "." || s === "..")) return 'must not have a "." or ".." segment';
  return null;
}

function checkName(name: string, what: string): void {
  const problem = artifactNameProblem(name);
  if (problem !== null) throw new TypeError(`cronium: ${FN}: ${what} ${JSON.stringify(name)} ${problem}`);
}

function writeFailed(what: string, cause: unknown): CroniumError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CroniumError(`cronium: ${FN}: cannot ${what}: ${reason}`, { code: "ARTIFACT_WRITE_FAILED", cause });
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (errno(err) === "ENOENT") return null;
    throw writeFailed(`inspect ${p}`, err);
  }
}

/** A real directory at `dir` (made if missing): a symlink or a file there would put the artifact out of reach. */
async function ensureDir(dir: string, field: string | undefined): Promise<void> {
  let st = await lstatOrNull(dir);
  if (st === null) {
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (err) {
      if (errno(err) !== "EEXIST") throw writeFailed(`create the directory ${dir}`, err);
    }
    st = await lstatOrNull(dir);
  }
  if (st === null || !st.isDirectory()) {
    const kind = st?.isSymbolicLink() ? "a symbolic link (the collector does not follow links)" : "not a directory";
    throw new CroniumError(`cronium: ${FN}: ${dir} is ${kind}`, {
      code: "ARTIFACT_CONFLICT",
      ...(field === undefined ? {} : { field }),
    });
  }
}

/**
 * Where the temporary copy goes: the artifacts directory's parent (/work) when it is on the same filesystem as the
 * destination (so the rename is atomic) and writable, else the destination's own directory.
 */
async function tempDirFor(root: string, destDir: string): Promise<string> {
  const parent = path.dirname(root);
  if (parent === root) return destDir;
  try {
    const [p, d] = await Promise.all([fsp.stat(parent), fsp.stat(destDir)]);
    await fsp.access(parent, constants.W_OK);
    return p.dev === d.dev ? parent : destDir;
  } catch {
    return destDir;
  }
}

/** Copy the regular file at `src` to `<artifacts dir>/<name>` (default: its basename); resolves to the name. */
export async function saveArtifact(src: string, name?: string | null): Promise<string> {
  if (typeof src !== "string" || src === "") throw new TypeError(`cronium: ${FN}: path must be a non-empty string`);
  if (name !== undefined && name !== null) {
    if (typeof name !== "string") throw new TypeError(`cronium: ${FN}: name must be a string, got ${typeof name}`);
    checkName(name, "name");
  }

  let st: Stats;
  try {
    st = await fsp.stat(src); // follows the script's own links: it names the file it means
  } catch (err) {
    const e = errno(err);
    if (e === "ENOENT" || e === "ENOTDIR") {
      throw new CroniumError(`cronium: ${FN}: path ${JSON.stringify(src)} does not exist`, {
        code: "FILE_NOT_FOUND",
        field: "path",
        cause: err,
      });
    }
    throw writeFailed(`read ${JSON.stringify(src)}`, err);
  }
  if (!st.isFile()) {
    const kind = st.isDirectory() ? "a directory" : st.isFIFO() ? "a FIFO" : st.isSocket() ? "a socket" : "a device";
    throw new CroniumError(`cronium: ${FN}: path ${JSON.stringify(src)} is ${kind}, not a regular file`, {
      code: "NOT_A_FILE",
      field: "path",
    });
  }
  const artifact = name ?? path.basename(src);
  if (name === undefined || name === null) checkName(artifact, `name (the basename of path ${JSON.stringify(src)})`);

  const root = artifactsDir();
  const segs = artifact.split("/");
  await ensureDir(root, undefined);
  let destDir = root;
  for (const seg of segs.slice(0, -1)) {
    destDir = path.join(destDir, seg);
    await ensureDir(destDir, "name");
  }
  const dest = path.join(destDir, segs[segs.length - 1] as string);

  const existing = await lstatOrNull(dest);
  if (existing?.isDirectory()) {
    throw new CroniumError(`cronium: ${FN}: ${dest} is a directory`, { code: "ARTIFACT_CONFLICT", field: "name" });
  }
  // Already the artifact (the script wrote it there): nothing to do. Not so for a second link to the file, which
  // the collector would skip: that one is replaced by a copy.
  if (existing?.isFile() && existing.nlink === 1 && existing.dev === st.dev && existing.ino === st.ino) return artifact;

  const tmp = path.join(await tempDirFor(root, destDir), `.cronium-artifact-${randomBytes(8).toString("hex")}.tmp`);
  try {
    await fsp.copyFile(src, tmp, constants.COPYFILE_EXCL);
    await fsp.chmod(tmp, 0o644);
    await fsp.rename(tmp, dest);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw writeFailed(`copy ${JSON.stringify(src)} to ${dest}`, err);
  }
  return artifact;
}
