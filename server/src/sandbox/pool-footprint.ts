/**
 * What an idle pooled sandbox costs the host in memory, per language, for the pool's memory budget
 * (CRONIUM_POOL_MEMORY_MB, pool-sizing.ts). Its memory limit (256 MiB by default) is what it may grow to once it
 * runs a job, not what it holds while it waits: a budget in limits would allow one or two members and mean
 * nothing. Reading each member's cgroup would be exact, but the path differs per driver and cgroup version and the
 * docker driver would need an API call per member; a fixed figure per language is all a budget needs.
 *
 * Measured once (December 2026, 2-core VM, cgroup v1, three idle members per language, 5 s after warm; the
 * same under the docker and the crun driver): the sandbox's cgroup holds bash 0.5–0.7 MiB (the launcher, bash
 * waiting on stdin), python 9.4–9.9 MiB (python3 -u with the SDK imported), node 14.5–15.3 MiB (the
 * pre-started node); page cache of the image files is shared by all and charged to none of them. The docker
 * driver adds a containerd shim per sandbox (3.5 MiB PSS). The figures below are those, the shim included,
 * rounded up, plus ~1 MiB of host-side state (network namespace, veth pair, the server's streams).
 */
const FOOTPRINT_MB: Readonly<Record<string, number>> = { bash: 5, python: 15, node: 20 };

/** A learnt key (`python+…`: another image, a dependency bundle) costs what its language does; anything else as the dearest. */
const UNKNOWN_MB = Math.max(...Object.values(FOOTPRINT_MB));

export function footprintMb(key: string): number {
  return FOOTPRINT_MB[key] ?? FOOTPRINT_MB[key.split('+')[0]!] ?? UNKNOWN_MB;
}
