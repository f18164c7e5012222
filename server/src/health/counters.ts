/** A Prometheus counter kept by this server (passed down from start-up, never module state). */
export class Counter {
  private value = 0;

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(by = 1): void {
    this.value += by;
  }

  get total(): number {
    return this.value;
  }

  lines(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`, `${this.name} ${this.value}`];
  }
}

/** Failures /metrics reports, so that none passes unnoticed. */
export interface ServerCounters {
  /** Writes of log entries (or of the truncation flag) to the database that failed after their retries. */
  logWriteFailures: Counter;
  /** Log entries that could not be stored at all, not even as a line saying so. */
  logEntriesLost: Counter;
}

export function createServerCounters(): ServerCounters {
  return {
    logWriteFailures: new Counter(
      'cronium_log_write_failures_total',
      'Log writes to the database that failed after their retries (each is also a system line in its execution\'s log where that could still be stored).',
    ),
    logEntriesLost: new Counter('cronium_log_entries_lost_total', 'Log entries that could not be stored at all, not even as a line saying so.'),
  };
}

export function counterLines(c: ServerCounters): string[] {
  return Object.values(c).flatMap((x: Counter) => x.lines());
}
