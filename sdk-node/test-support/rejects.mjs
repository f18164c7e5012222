import assert from "node:assert/strict";

/**
 * Awaits `promise`, which must reject, and checks the error: `rejectsWith(p, checks)` or
 * `rejectsWith(p, ErrorClass, checks)`; each check is a value (deepEqual) or a RegExp (match). Returns the error.
 */
export async function rejectsWith(promise, typeOrChecks, maybeChecks) {
  const Type = typeof typeOrChecks === "function" ? typeOrChecks : null;
  const checks = (Type ? maybeChecks : typeOrChecks) ?? {};
  let caught;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, "expected the call to reject");
  if (Type) assert.ok(caught instanceof Type, `expected a ${Type.name}, got ${caught?.name}: ${caught?.message}`);
  for (const [k, v] of Object.entries(checks)) {
    if (v instanceof RegExp) assert.match(String(caught[k]), v, `error.${k}`);
    else assert.deepEqual(caught[k], v, `error.${k}`);
  }
  return caught;
}
