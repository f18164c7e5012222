/**
 * The launcher's ready mark (cronium-launch, step 0): `__CRONIUM_READY__` and a newline, the first line of a
 * pooled sandbox's stdout once its pre-started interpreter has loaded, written only when the server asks for it
 * with CRONIUM_READY_MARK=1. It never follows the job mark, so it can only ever be at the very start.
 */
export const READY_MARK = Buffer.from('__CRONIUM_READY__\n');

/** The launcher environment that asks for the mark. */
export const READY_MARK_ENV = 'CRONIUM_READY_MARK=1';

export interface ReadyMarkStripper {
  /** Bytes of the stream in; what passes on out (held back while it may still be the mark). */
  push(b: Buffer): Buffer;
  /** The stream ended: whatever was held back. */
  end(): Buffer;
  /** Whether the stripper has decided (mark seen, or the stream starts with something else). */
  readonly decided: boolean;
}

/** Takes the ready mark off the front of a stdout byte stream and calls `onReady` when it was there. */
export function readyMarkStripper(onReady: () => void): ReadyMarkStripper {
  let head: Buffer | null = Buffer.alloc(0);
  return {
    push(b) {
      if (!head) return b;
      const got = head.length ? Buffer.concat([head, b]) : b;
      if (got.length < READY_MARK.length && READY_MARK.subarray(0, got.length).equals(got)) {
        head = got;
        return Buffer.alloc(0);
      }
      head = null;
      if (!got.subarray(0, READY_MARK.length).equals(READY_MARK)) return got;
      onReady();
      return got.subarray(READY_MARK.length);
    },
    end() {
      const rest = head ?? Buffer.alloc(0);
      head = null;
      return rest;
    },
    get decided() {
      return head === null;
    },
  };
}
