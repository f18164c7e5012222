/**
 * The launcher's input encoding (runtime-images/README.md, "The launcher protocol"): NUL-terminated header
 * fields, then the script's bytes, length-prefixed. The launcher parses it with bash builtins alone, so no
 * process starts between a job's arrival and its interpreter; the length lets it begin without waiting for
 * stdin to close.
 */
export interface WireJob {
  nonce: string;
  filename: string;
  argv: string[];
  env: Record<string, string>;
  script: string;
}

export const WIRE_MAGIC = 'CRONIUM1';

export function encodeJob(job: WireJob): Buffer {
  const script = Buffer.from(job.script, 'utf8');
  const fields = [
    WIRE_MAGIC,
    job.nonce,
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
