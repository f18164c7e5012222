/**
 * Docker's seccomp profile format -> the OCI runtime spec's `linux.seccomp`, the way Docker 20.10 converts it
 * (moby profiles/seccomp: setupSeccomp) for one architecture and a given capability set. The sandbox runs with
 * no capabilities, so every rule that `includes` a capability is left out and no `excludes.caps` applies.
 */

export interface DockerSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

interface Filter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface DockerSeccompRule {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: DockerSeccompArg[] | null;
  comment?: string;
  includes?: Filter;
  excludes?: Filter;
}

export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  syscalls?: DockerSeccompRule[];
}

export interface OciSeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: OciSeccompRule[];
}

/** Docker's names for the architecture the server runs on, as used in `includes.arches`. */
const GO_ARCH: Record<string, { go: string; scmp: string }> = {
  x64: { go: 'amd64', scmp: 'SCMP_ARCH_X86_64' },
  arm64: { go: 'arm64', scmp: 'SCMP_ARCH_AARCH64' },
};

/** Compares kernel versions like "4.8" against "5.10.0-21-amd64"; true when `kernel` >= `min`. */
export function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (v: string) => (/^(\d+)\.(\d+)/.exec(v) ?? ['', '0', '0']).slice(1).map(Number);
  const [a, b] = parse(kernel);
  const [c, d] = parse(min);
  return a! > c! || (a === c && b! >= d!);
}

export interface ConvertOptions {
  /** Docker's (Go) name of the architecture: amd64, arm64. */
  arch: string;
  /** Capabilities the container keeps; the sandbox keeps none. */
  caps?: string[];
  /** The running kernel's release (os.release()). */
  kernel: string;
}

export function hostArch(): string {
  const a = GO_ARCH[process.arch];
  if (!a) throw new Error(`unsupported architecture for the runc driver: ${process.arch}`);
  return a.go;
}

export function toOciSeccomp(profile: DockerSeccompProfile, opts: ConvertOptions): OciSeccomp {
  const caps = new Set(opts.caps ?? []);
  const scmp = Object.values(GO_ARCH).find((a) => a.go === opts.arch)?.scmp;
  if (!scmp) throw new Error(`unknown architecture ${opts.arch}`);

  let architectures: string[] = [];
  if (profile.archMap?.length) {
    for (const a of profile.archMap) {
      if (a.architecture === scmp) architectures = [a.architecture, ...(a.subArchitectures ?? [])];
    }
  } else if (profile.architectures?.length) {
    architectures = [...profile.architectures];
  }

  const syscalls: OciSeccompRule[] = [];
  for (const call of profile.syscalls ?? []) {
    const ex = call.excludes ?? {};
    const inc = call.includes ?? {};
    if (ex.arches?.includes(opts.arch)) continue;
    if (ex.caps?.some((c) => caps.has(c))) continue;
    if (ex.minKernel && kernelAtLeast(opts.kernel, ex.minKernel)) continue;
    if (inc.arches?.length && !inc.arches.includes(opts.arch)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) continue;
    if (inc.minKernel && !kernelAtLeast(opts.kernel, inc.minKernel)) continue;
    if (call.name && call.names?.length) throw new Error('seccomp rule has both "name" and "names"');
    const rule: OciSeccompRule = { names: call.name ? [call.name] : [...(call.names ?? [])], action: call.action };
    if (call.errnoRet !== undefined) rule.errnoRet = call.errnoRet;
    if (call.args?.length) {
      rule.args = call.args.map((a) => ({ index: a.index, value: a.value, ...(a.valueTwo ? { valueTwo: a.valueTwo } : {}), op: a.op }));
    }
    syscalls.push(rule);
  }
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures,
    syscalls,
  };
}
