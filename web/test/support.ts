/** Helpers for the dashboard's browser tests: build once, start the production server, drive Debian's Chromium. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { waitForListening } from '../../scripts/listening.mjs';

export const webRoot = path.resolve(new URL('..', import.meta.url).pathname);
export const repoRoot = path.resolve(webRoot, '..');
export const screenshotDir = path.join(repoRoot, 'test-results', 'screenshots');

function newest(p: string): number {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return fs.readdirSync(p).reduce((m, f) => Math.max(m, newest(path.join(p, f))), st.mtimeMs);
}

/** Runs `npm run build -w web` when the build is missing or older than its sources. */
export function buildWebIfStale(): void {
  const out = path.join(webRoot, 'build', 'server', 'index.js');
  const sources = Math.max(...['app', 'public', 'vite.config.ts', 'package.json'].map((p) => newest(path.join(webRoot, p))));
  if (fs.existsSync(out) && fs.existsSync(path.join(webRoot, 'build', 'client')) && fs.statSync(out).mtimeMs >= sources) return;
  const r = spawnSync('npm', ['run', 'build', '-w', 'web'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build -w web failed:\n${r.stdout}\n${r.stderr}`);
}

export interface WebServer {
  url: string;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `node web/server.mjs` (the production server) on a free port. */
export async function startWeb(env: Record<string, string>): Promise<WebServer> {
  const proc = spawn(process.execPath, [path.join(webRoot, 'server.mjs')], {
    cwd: repoRoot,
    env: { ...process.env, CRONIUM_WEB_HOST: '127.0.0.1', CRONIUM_WEB_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { url, output } = await waitForListening(proc, 'web server', 30_000);
  return {
    url,
    proc,
    output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
  };
}

export const CHROMIUM = process.env.CRONIUM_TEST_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is required at ${CHROMIUM} (Debian package "chromium"; scripts/host-setup.sh --test installs it)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Elements that stick out of the viewport to the right without a scrolling box around them (what a phone cuts).
 * The page script is a string: tsx would wrap named functions in a helper the page does not have.
 */
export async function overflowing(page: Page): Promise<{ scrollWidth: number; viewport: number; offenders: string[] }> {
  return page.evaluate(`(() => {
    const viewport = window.innerWidth;
    const clipped = (el) => {
      // An absolutely placed element escapes the scrolling boxes that are not its containing block.
      if (getComputedStyle(el).position === 'absolute' || getComputedStyle(el).position === 'fixed') return false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
      }
      return false;
    };
    const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    const offenders = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= viewport + 1 || clipped(el)) continue;
      offenders.push(name(el) + ' (right edge at ' + Math.round(r.right) + ' px)');
    }
    return { scrollWidth: document.documentElement.scrollWidth, viewport, offenders: offenders.slice(0, 8) };
  })()`);
}

const axeSource = fs.readFileSync(path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core run in the page itself (injected into the real Chromium page): its serious and critical violations. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const violations: AxeViolation[] = await page.evaluate(`(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => (JSON.stringify(n.target) + ' ' + (n.failureSummary || '')).replace(/\\s+/g, ' ')),
    }));
  })()`);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
