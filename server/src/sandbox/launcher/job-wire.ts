/**
 * The launcher's input encoding (runtime-images/README.md, "The launcher protocol"): NUL-terminated header
 * fields, then the script's bytes, length-prefixed. The launcher parses it with bash builtins alone, so no
 * process starts between a job's arrival and its interpreter; the length lets it begin without waiting for
 * stdin to close.
 */
export interface WireJob {
  tokens: MarkTokens;
  filename: string;
  argv: string[];
  env: Record<string, string>;
  script: string;
}

/**
 * One-time tokens of the launcher's three marks, each known only to the server and the launcher. They are
 * separate because they are exposed at different times: the job mark passes through the sandbox's stdout just
 * before the script starts (the script can read its own stdout back), the end mark and the usage report only once
 * nothing of the script is left alive to read them. A stolen job mark reveals nothing about the other two.
 */
export interface MarkTokens {
  job: string;
  end: string;
  usage: string;
}

/** CRONIUM2: three tokens. (CRONIUM1, one nonce for all three marks, is still read by the launcher.) */
export const WIRE_MAGIC = 'CRONIUM2';

export function encodeJob(job: WireJob): Buffer {
  const script = Buffer.from(job.script, 'utf8');
  for (const t of [job.tokens.job, job.tokens.end, job.tokens.usage]) {
    if (!/^[A-Za-z0-9]{1,128}$/.test(t)) throw new Error('a mark token must be 1-128 characters [A-Za-z0-9]');
  }
  const fields = [
    WIRE_MAGIC,
    job.tokens.job,
    job.tokens.end,
    job.tokens.usage,
    job.filename,
    String(job.argv.length),
    ...job.argv,
    String(Object.keys(job.env).length),
    ...Object.entries(job.env).map(([k, v]) => `${k}=${v}`),
    String(script.length),
  ];
  // A NUL would end a field early (and bash cannot hold one in a variable); requests are validated long before.
  for (const f of fields) if (f.includes('\0')) throw new Error('a job field contains a NUL byte');
  if (script.includes(0)) throw new Error('the script contains a NUL byte');
  return Buffer.concat([Buffer.from(fields.map((f) => f + '\0').join(''), 'utf8'), script]);
}
