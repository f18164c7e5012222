/**
 * The smallest limits that every sandbox runtime (Docker, runc, crun, gVisor) applies; a request below them
 * would be accepted and then fail at the sandbox's start. Measured in
 * server/test/integration/resource-minimums.test.ts.
 *
 * - cpus: the kernel's CFS quota is at least 1 ms per period, and the period is 100 ms (Docker's NanoCpus and
 *   the runc driver alike): below 0.01 CPU, writing cpu.cfs_quota_us fails with EINVAL ("invalid argument").
 * - memoryMb: Docker refuses less than 6 MiB; at 16 MiB bash and python still run (node may be OOM-killed:
 *   a result, not a failure to start).
 * - pids: the launcher, the interpreter and a command fit in 8.
 */
export const MIN_LIMITS = { memoryMb: 16, cpus: 0.01, pids: 8 } as const;
