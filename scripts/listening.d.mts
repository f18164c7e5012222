import type { ChildProcess } from 'node:child_process';

export function waitForListening(proc: ChildProcess, what: string, timeoutMs: number): Promise<{ url: string; output: () => string }>;
