import { tooLarge } from '../errors.js';

/** A variable's value against the size limit, for the public API and the runtime API alike. */
export function checkVariableSize(value: unknown, max: number) {
  if (Buffer.byteLength(JSON.stringify(value ?? null)) > max) throw tooLarge(`value is larger than the limit of ${max} bytes`, 'value');
}
