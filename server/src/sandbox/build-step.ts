import crypto from 'node:crypto';
import type { Language, SandboxDriver, SandboxLimits } from './driver.js';

/** Where a build step's scratch directory is mounted, writable, and where its command runs. */
export const BUILD_DIR = '/opt/cronium/build';

/** A command that must execute to install a package (an install script, a byte-compile), run in a sandbox. */
export interface BuildStep {
  language: Language;
  /** The image to run (a runtime's); default: the language's. */
  image?: string;
  /**
   * The directory the step may write, as the Docker host knows it, owned by the sandbox user: mounted at BUILD_DIR,
   * the only writable place besides the tmpfs.
   */
  writableDir: string;
  /** argv, run with BUILD_DIR as the working directory. */
  command: string[];
  timeoutMs: number;
}

export interface BuildStepResult {
  exitCode: number | null;
  timedOut: boolean;
  oomKilled: boolean;
}

export interface BuildSandbox {
  run(step: BuildStep, log: (line: string) => void): Promise<BuildStepResult>;
}

/** A line-splitter for one output stream; long lines are cut so that a noisy build cannot flood the log. */
function lineWriter(log: (line: string) => void, maxLine = 2000) {
  let rest = '';
  return {
    write(text: string) {
      rest += text;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        log(rest.slice(0, nl).slice(0, maxLine));
        rest = rest.slice(nl + 1);
      }
      if (rest.length > maxLine) {
        log(rest.slice(0, maxLine));
        rest = '';
      }
    },
    end() {
      if (rest) log(rest.slice(0, maxLine));
      rest = '';
    },
  };
}

/**
 * Runs build steps in sandboxes of the engine's own driver: an execution's hardening (non-root, read-only root,
 * no capabilities, seccomp, limits), its scratch directory the only writable mount, and no egress (no proxy is
 * configured, and the sandbox network reaches nothing else), so a package's install script never runs on the host
 * and cannot fetch anything either.
 */
export function sandboxBuildSteps(driver: SandboxDriver, limits: SandboxLimits): BuildSandbox {
  return {
    async run(step, log) {
      const out = lineWriter(log);
      const err = lineWriter(log);
      const run = await driver.start(
        {
          executionId: `build-${crypto.randomUUID()}`,
          language: step.language,
          ...(step.image ? { image: step.image } : {}),
          script: `cd ${BUILD_DIR} && exec "$@"\n`,
          filename: 'build-step.sh',
          argv: ['bash', '/work/build-step.sh', ...step.command],
          env: {},
          limits,
          isolation: 'standard',
          mounts: [{ source: step.writableDir, target: BUILD_DIR, writable: true }],
        },
        { stdout: (t) => out.write(t), stderr: (t) => err.write(t) },
      );
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        void run.kill();
      }, step.timeoutMs);
      try {
        const result = await run.done;
        return { exitCode: result.exitCode, timedOut, oomKilled: result.oomKilled };
      } finally {
        clearTimeout(timer);
        out.end();
        err.end();
        await run.remove().catch(() => undefined);
      }
    },
  };
}
