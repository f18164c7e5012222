/**
 * The launcher's output marks (runtime-images/README.md, "The launcher protocol"): the job mark and end mark on
 * stdout, the usage report on stderr, each taken out of the sandbox's decoded text whatever runtime carries it.
 */
export interface LauncherReport {
  exitCode: number | null;
  cpuNs: number | null;
  memoryPeakBytes: number | null;
  oomKills: number | null;
}

/**
 * Takes one marker line (`<marker><payload>\n`) out of a stream's text and hands its payload to `onPayload`.
 * The marker carries a one-time token known only to the launcher and the server, which the launcher writes only
 * when nothing of the script can read it back (runtime-images/README.md), so a script cannot forge it. Only the
 * first marker counts: after it, everything passes through as text. Text that might be the start of the marker
 * is held back until it is known not to be.
 */
export function createMarkerExtractor(marker: string, emit: (text: string) => void, onPayload: (payload: string) => void) {
  let pending = '';
  let inMarker = false;
  let payload = '';
  let found = false;

  const holdBack = (s: string): number => {
    const max = Math.min(s.length, marker.length - 1);
    for (let n = max; n > 0; n--) if (marker.startsWith(s.slice(s.length - n))) return n;
    return 0;
  };

  return {
    push(text: string) {
      if (found) {
        if (text) emit(text);
        return;
      }
      if (inMarker) {
        payload += text;
      } else {
        pending += text;
        const idx = pending.indexOf(marker);
        if (idx < 0) {
          const keep = holdBack(pending);
          const out = pending.slice(0, pending.length - keep);
          pending = pending.slice(pending.length - keep);
          if (out) emit(out);
          return;
        }
        if (idx > 0) emit(pending.slice(0, idx));
        inMarker = true;
        payload = pending.slice(idx + marker.length);
        pending = '';
      }
      const nl = payload.indexOf('\n');
      if (nl >= 0) {
        const line = payload.slice(0, nl);
        const rest = payload.slice(nl + 1);
        found = true;
        inMarker = false;
        payload = '';
        onPayload(line);
        if (rest) emit(rest);
      }
    },
    end() {
      if (inMarker) {
        found = true;
        onPayload(payload.trim());
      } else if (pending) emit(pending);
      pending = '';
      inMarker = false;
      payload = '';
    },
  };
}

/**
 * The launcher's usage line on stderr: `__CRONIUM_USAGE_<usage token>__ {json}\n`, the last thing it writes there,
 * once every other process of the sandbox has gone. Only the first one counts.
 */
export function createUsageExtractor(token: string, emit: (text: string) => void) {
  let report: LauncherReport | null = null;
  let announce!: () => void;
  const reported = new Promise<void>((resolve) => (announce = resolve));
  const parse = (text: string) => {
    try {
      const v = JSON.parse(text) as Partial<LauncherReport>;
      const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
      report = { exitCode: num(v.exitCode), cpuNs: num(v.cpuNs), memoryPeakBytes: num(v.memoryPeakBytes), oomKills: num(v.oomKills) };
      if (report.exitCode !== null) announce();
    } catch {
      report = null;
    }
  };
  const x = createMarkerExtractor(`__CRONIUM_USAGE_${token}__ `, emit, parse);
  return {
    push: x.push,
    end: x.end,
    report: () => report,
    /** Settles once a complete report with an exit code has arrived; never, if none does. */
    reported,
  };
}

/** A mark line on a stream (`<mark>\n`) taken out of its text; `seen` settles once it has passed. */
function createMarkExtractor(mark: string, emit: (text: string) => void) {
  let announce!: () => void;
  const seen = new Promise<void>((resolve) => (announce = resolve));
  const x = createMarkerExtractor(mark, emit, () => announce());
  return { push: x.push, end: x.end, seen };
}

/**
 * The launcher's job mark on stdout: `__CRONIUM_JOB_<job token>__\n`, written as soon as it has read the job's
 * tokens, before anything of the job runs. A sandbox that ends without it never ran the job.
 */
export function createJobMarkExtractor(token: string, emit: (text: string) => void) {
  return createMarkExtractor(`__CRONIUM_JOB_${token}__`, emit);
}

/**
 * The launcher's end mark on stdout: `__CRONIUM_END_<end token>__\n`, written after the job's process ended and
 * every other process of the sandbox has gone. Once it is seen, every byte the job wrote to stdout has arrived (a
 * stream keeps its order; stdout and stderr do not keep theirs against each other), so the result need not wait
 * for the runtime to close the stream.
 */
export function createEndMarkExtractor(token: string, emit: (text: string) => void) {
  return createMarkExtractor(`__CRONIUM_END_${token}__`, emit);
}
