import { StringDecoder } from 'node:string_decoder';

/**
 * Splits Docker's multiplexed attach stream (8-byte frame headers: stream type, 3 zero bytes, big-endian size)
 * into stdout and stderr text, keeping multi-byte characters whole across frames.
 */
export function createDemuxer(onStdout: (text: string) => void, onStderr: (text: string) => void) {
  let buf: Buffer = Buffer.alloc(0);
  const out = new StringDecoder('utf8');
  const err = new StringDecoder('utf8');
  return {
    push(chunk: Buffer) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 8) {
        const size = buf.readUInt32BE(4);
        if (buf.length < 8 + size) break;
        const type = buf[0];
        const payload = buf.subarray(8, 8 + size);
        buf = buf.subarray(8 + size);
        if (type === 2) {
          const t = err.write(payload);
          if (t) onStderr(t);
        } else {
          const t = out.write(payload);
          if (t) onStdout(t);
        }
      }
    },
    end() {
      const o = out.end();
      if (o) onStdout(o);
      const e = err.end();
      if (e) onStderr(e);
    },
  };
}

export interface LauncherReport {
  exitCode: number | null;
  cpuNs: number | null;
  memoryPeakBytes: number | null;
  oomKills: number | null;
}

/**
 * Takes the launcher's usage line out of the stderr text. The line is `__CRONIUM_USAGE_<nonce>__ {json}\n`;
 * the nonce is known only to the launcher and the server, so a script cannot forge a report.
 * Text that might be the start of the marker is held back until it is known not to be.
 */
export function createUsageExtractor(nonce: string, emit: (text: string) => void) {
  const marker = `__CRONIUM_USAGE_${nonce}__ `;
  let pending = '';
  let report: LauncherReport | null = null;
  let inReport = false;
  let reportText = '';
  let announce!: () => void;
  const reported = new Promise<void>((resolve) => (announce = resolve));

  const holdBack = (s: string): number => {
    const max = Math.min(s.length, marker.length - 1);
    for (let n = max; n > 0; n--) if (marker.startsWith(s.slice(s.length - n))) return n;
    return 0;
  };

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

  return {
    push(text: string) {
      if (inReport) {
        reportText += text;
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
        inReport = true;
        reportText = pending.slice(idx + marker.length);
        pending = '';
      }
      const nl = reportText.indexOf('\n');
      if (nl >= 0) {
        parse(reportText.slice(0, nl));
        const rest = reportText.slice(nl + 1);
        inReport = false;
        reportText = '';
        if (rest) emit(rest);
      }
    },
    end() {
      if (inReport) parse(reportText.trim());
      else if (pending) emit(pending);
      pending = '';
    },
    report: () => report,
    /** Settles once a complete report with an exit code has arrived; never, if none does. */
    reported,
  };
}
