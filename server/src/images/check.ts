import crypto from 'node:crypto';
import type { Language } from '../api/enums.js';
import { type ContentsLabel, contentsLabelSchema } from '../runtimes/catalog.js';
import type { SandboxDriver } from '../sandbox/driver.js';
import { checkScript, imageConfigProblem } from './policy.js';

export type ImageCheck =
  | { ok: true; imageId: string; probe: ContentsLabel }
  | { ok: false; status: 400 | 422; message: string };

const CHECK_TIMEOUT_MS = 30_000;

/**
 * The registration check of a custom image: the engine has it (never pulled), its configuration passes
 * policy.ts, and a real test sandbox of it, started exactly as an execution's (same spec: read-only root, no
 * capabilities, uid 10001, seccomp, the sandbox network), runs the language's interpreter, imports the SDK and
 * reports its contents.
 */
export async function checkImage(
  driver: Pick<SandboxDriver, 'inspectImage' | 'start'>,
  o: { image: string; language: Language; tmpfsMb: number },
): Promise<ImageCheck> {
  const facts = await driver.inspectImage(o.image);
  if (!facts) return { ok: false, status: 400, message: `image: ${o.image} is not in the local Docker engine (Cronium never pulls images: build or load it on this host first)` };
  const problem = imageConfigProblem(facts);
  if (problem) return { ok: false, status: 422, message: `image: ${o.image} cannot run the Cronium launcher: ${problem}` };

  let stdout = '';
  let stderr = '';
  const run = await driver.start(
    {
      executionId: `image-check-${crypto.randomUUID()}`,
      language: o.language,
      image: facts.id,
      script: checkScript(o.language),
      filename: 'check.sh',
      argv: ['bash', '/work/check.sh'],
      env: {},
      limits: { memoryMb: 256, cpus: 1, pids: 64, tmpfsMb: o.tmpfsMb },
      isolation: 'standard',
    },
    { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      run.done,
      new Promise<null>((r) => (timer = setTimeout(() => r(null), CHECK_TIMEOUT_MS))),
    ]);
    if (!result) {
      await run.kill();
      return { ok: false, status: 422, message: `image: the test sandbox of ${o.image} did not finish in ${CHECK_TIMEOUT_MS / 1000} s` };
    }
    const why = stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 500);
    if (result.exitCode !== 0) return { ok: false, status: 422, message: `image: the test sandbox of ${o.image} failed (exit ${result.exitCode}): ${why || 'no output'}` };
    const last = stdout.trim().split('\n').pop() ?? '';
    let probe: ContentsLabel | null = null;
    try {
      const p = contentsLabelSchema.safeParse(JSON.parse(last));
      probe = p.success ? p.data : null;
    } catch {
      probe = null;
    }
    if (!probe || probe.language !== o.language) return { ok: false, status: 422, message: `image: the test sandbox of ${o.image} did not report its contents: ${why || last.slice(0, 200)}` };
    return { ok: true, imageId: facts.id, probe };
  } finally {
    clearTimeout(timer);
    await run.remove().catch(() => undefined);
  }
}
