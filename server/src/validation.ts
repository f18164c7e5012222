import { z } from 'zod';
import { badRequest } from './errors.js';

/** Parses request data; the first problem becomes a 400 that names the field and says what is wrong. */
export function parse<S extends z.ZodType>(schema: S, data: unknown, where = 'body'): z.infer<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length ? issue.path.join('.') : where;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    return (() => {
      throw badRequest(`unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}`, keys.length === 1 && !issue.path.length ? keys[0] : field);
    })();
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(message)) message = 'is required';
  throw badRequest(`${field}: ${message}`, field);
}

/**
 * The deepest nesting a stored JSON value may have. Deeper values overflow the stack of JSON.stringify and of the
 * database's JSON parser (a 500 either way), and no configuration or result needs them.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * Why the database cannot store this text, or null. PostgreSQL (and PGlite) refuse U+0000 in text and jsonb, and
 * jsonb refuses a lone UTF-16 surrogate, which JSON can spell (`"\ud800"`) but which is not Unicode text: a text
 * column would silently turn it into U+FFFD. Both are refused rather than stored escaped, since an escaped form
 * would come back different from what was sent (see README, "Values the database cannot hold").
 */
export function unstorableText(text: string): string | null {
  if (text.includes('\0')) return 'contains a NUL character (\\u0000), which cannot be stored';
  const at = loneSurrogate(text);
  if (at >= 0) return `contains a lone UTF-16 surrogate (\\u${text.charCodeAt(at).toString(16)}), which is not Unicode text and cannot be stored`;
  return null;
}

/** Index of the first surrogate that is not half of a pair, or -1. */
function loneSurrogate(text: string): number {
  if (!/[\ud800-\udfff]/.test(text)) return -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

/** A key as it appears in a field name: characters that would garble the name are spelled as JSON escapes. */
function fieldKey(key: string): string {
  // eslint-disable-next-line no-control-regex
  return key.replace(/[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface Unstorable {
  /** Where inside the value: object keys and array indexes. */
  path: (string | number)[];
  message: string;
}

/** The first part of a JSON value (a string, an object key, too deep a nesting) the database cannot store, or null. */
export function unstorableJson(value: unknown): Unstorable | null {
  // Iterative, so that walking a deep value cannot overflow the stack; a node's path is built only when it fails.
  type Node = { v: unknown; key: string | number | null; parent: Node | null; depth: number };
  const pathOf = (n: Node | null, last?: string): (string | number)[] => {
    const out: (string | number)[] = last === undefined ? [] : [last];
    for (let p = n; p && p.key !== null; p = p.parent) out.unshift(typeof p.key === 'string' ? fieldKey(p.key) : p.key);
    return out;
  };
  const stack: Node[] = [{ v: value, key: null, parent: null, depth: 0 }];
  while (stack.length) {
    const node = stack.pop()!;
    const { v } = node;
    if (typeof v === 'string') {
      const why = unstorableText(v);
      if (why) return { path: pathOf(node), message: why };
    } else if (v && typeof v === 'object') {
      // Reported on the whole value: a path hundreds of levels long would name nothing useful.
      if (node.depth >= MAX_JSON_DEPTH) return { path: [], message: `nests deeper than ${MAX_JSON_DEPTH} levels` };
      const children: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
      for (let i = children.length - 1; i >= 0; i--) {
        const [k, x] = children[i]!;
        if (typeof k === 'string') {
          const why = unstorableText(k);
          if (why) return { path: pathOf(node, fieldKey(k)), message: `this key ${why}` };
        }
        stack.push({ v: x, key: k, parent: node, depth: node.depth + 1 });
      }
    }
  }
  return null;
}

/** Any JSON value the database can store as sent: a 400 naming the innermost field otherwise. */
export const storableJson = z.unknown().superRefine((v, ctx) => {
  const bad = unstorableJson(v);
  if (bad) ctx.addIssue({ code: 'custom', message: bad.message, path: bad.path });
});

/** A string the database can store as sent. */
export const storableString = (error = 'must be a string') =>
  z.string({ error }).superRefine((s, ctx) => {
    const why = unstorableText(s);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  });
