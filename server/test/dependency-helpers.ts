import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILD_MOUNT, type BuildSandbox, type BuildStep } from '../src/dependencies/build-sandbox.js';
import assert from 'node:assert/strict';
import { DependencyError } from '../src/dependencies/errors.js';
import { DependencyService, type DependencyServiceOptions } from '../src/dependencies/service.js';
import { parseDependencies } from '../src/dependencies/specifiers.js';
import type { RuntimeTarget } from '../src/dependencies/types.js';

const imageExists = (image: string) => spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status === 0;
const inImage = (image: string, argv: string[]) => spawnSync('docker', ['run', '--rm', '--network', 'none', '--entrypoint', argv[0]!, image, ...argv.slice(1)], { encoding: 'utf8' }).stdout.trim();

/**
 * The runtime images the tests build for, and the target each is: the interpreter version and glibc are read from
 * the image itself. Python prefers the 3.11 image (the real wheels cached for the tests are CPython 3.11's).
 */
function pickImage(candidates: (string | undefined)[]): string {
  const image = candidates.find((c): c is string => !!c && imageExists(c));
  if (!image) throw new Error(`none of the runtime images ${candidates.filter(Boolean).join(', ')} exists: build them (bash runtime-images/build.sh)`);
  return image;
}
export const PYTHON_IMAGE = pickImage(['cronium/runtime-python:3.11', process.env.CRONIUM_IMAGE_PYTHON, 'cronium/runtime-python:latest']);
export const NODE_IMAGE = pickImage([process.env.CRONIUM_IMAGE_NODE, 'cronium/runtime-node:latest']);

const pyVersion = inImage(PYTHON_IMAGE, ['python3', '-c', 'import sys, platform; print("%d.%d" % sys.version_info[:2], platform.libc_ver()[1])']).split(' ');
export const PY: RuntimeTarget = { id: `python@${pyVersion[0]}`, version: pyVersion[0]!, platform: `manylinux_${pyVersion[1]!.replace('.', '_')}_x86_64` };
const nodeMajor = inImage(NODE_IMAGE, ['node', '-p', 'process.versions.node.split(".")[0]']);
export const NODE: RuntimeTarget = { id: `node@${nodeMajor}`, version: nodeMajor, platform: 'linux-x64' };

/** The hardening every sandbox gets (as an execution's): unprivileged, read-only root, no capabilities, no network. */
export const HARDENED = ['--user', '10001:10001', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--network', 'none', '--pids-limit', '128', '--memory', '512m', '--tmpfs', '/tmp:rw,nosuid,nodev,size=64m'];

/**
 * The build sandbox the tests use: a real hardened `docker run` of the runtime image with the step's directory as
 * its only writable mount. (The engine's implementation uses its sandbox driver; this one has no network at all,
 * which is stricter than the index-only egress a step is allowed.)
 */
export function dockerBuildSandbox(runs: BuildStep[] = []): BuildSandbox {
  return {
    run(step, log) {
      runs.push(step);
      const image = step.language === 'python' ? PYTHON_IMAGE : NODE_IMAGE;
      const name = `cronium-build-test-${crypto.randomBytes(4).toString('hex')}`;
      const args = ['run', '--rm', '--name', name, ...HARDENED, '-v', `${step.writableDir}:${BUILD_MOUNT}:rw`, '-w', BUILD_MOUNT, '--entrypoint', step.command[0]!, image, ...step.command.slice(1)];
      return new Promise((resolve) => {
        const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          spawnSync('docker', ['kill', name]);
        }, step.timeoutMs);
        let rest = '';
        const onData = (b: Buffer) => {
          const parts = (rest + b.toString()).split('\n');
          rest = parts.pop()!;
          parts.forEach((l) => log(l));
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('close', (code) => {
          clearTimeout(timer);
          if (rest) log(rest);
          resolve({ exitCode: code, timedOut });
        });
      });
    },
  };
}

/** Runs a command in the runtime image with a bundle mounted read-only where an execution would see it. */
export function runWithBundle(image: string, bundle: { hostPath: string; mountPath: string; env: Record<string, string> }, argv: string[], extraMounts: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const env = Object.entries(bundle.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const r = spawnSync(
    'docker',
    ['run', '--rm', ...HARDENED, '--tmpfs', '/work:rw,size=16m,uid=10001,gid=10001,mode=0700', '-v', `${bundle.hostPath}:${bundle.mountPath}:ro`, ...extraMounts, ...env, '-w', '/work', '--entrypoint', argv[0]!, image, ...argv.slice(1)],
    { encoding: 'utf8' },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A service on a fresh bundle directory (removed by cleanup()). */
export function testService(opts: Partial<DependencyServiceOptions> & Pick<DependencyServiceOptions, 'pipIndexUrl' | 'npmRegistry'>): { service: DependencyService; dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-test-bundles-'));
  const service = new DependencyService({ bundleDir: dir, cacheBytes: 512 * 1024 * 1024, buildSandbox: dockerBuildSandbox(), ...opts });
  return {
    service,
    dir,
    cleanup: () => {
      spawnSync('chmod', ['-R', 'u+w', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function collectLog(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (l) => lines.push(l) };
}

/** A dependency set as an execution's request would give it (asserted valid). */
export function packageSet(language: 'python' | 'node', ...specs: string[]) {
  const r = parseDependencies(language, { dependencies: { [language]: specs } });
  assert.ok(r.ok, JSON.stringify(r));
  return r.set;
}

/** The DependencyError a promise rejects with (anything else fails the test). */
export async function refusal(p: Promise<unknown>): Promise<DependencyError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DependencyError, `a DependencyError, got ${(err as Error).stack}`);
    return err;
  }
  assert.fail('expected a DependencyError');
}
