/**
 * The steps every action takes with a form, once: check the form, call the API, answer the page with an
 * `ActionResult` and the right HTTP status. Each route keeps only what is its own: its parser, its API call, its
 * messages.
 */
import { data } from '@remix-run/node';
import { type ActionResult, formValues } from './actions';
import type { ApiResult } from './api.server';
import { apiErrorToForm } from './errors';
import type { Parsed } from './forms';

/** What a route adds to a successful answer. */
export type Success = Omit<ActionResult, 'ok' | 'intent'>;

/** `intent` only when the page has several forms: one-form pages answer without the property. */
const tag = (intent: string | undefined) => (intent === undefined ? {} : { intent });

export interface FormSubmission<T, R> {
  /** Which of the page's forms this answers; left out on pages with one form. */
  intent?: string;
  /** The form → the API's request body, or a message per field. */
  parse: (form: FormData) => Parsed<T>;
  /** Fields never sent back to the page, not even after an error (a secret's value). */
  omit?: string[];
  /** The API call with the parsed body. */
  send: (value: T) => Promise<ApiResult<R>>;
  /** API error fields → the form's fields (see apiErrorToForm). */
  fields: Record<string, string>;
  /** The success answer: a message, extra data for the page. May throw a redirect instead. */
  done: (answer: R, value: T, status: number) => Success;
}

/**
 * A form that saves something: an invalid form is a 400 with a message per field; an API error keeps its status
 * and lands next to its field (or above the form); both send back what was typed, less `omit`, so the form (with
 * or without JavaScript) shows it again.
 */
export async function submitForm<T, R>(form: FormData, s: FormSubmission<T, R>) {
  const values = formValues(form, s.omit);
  const parsed = s.parse(form);
  if (!parsed.ok) return data<ActionResult>({ ok: false, ...tag(s.intent), fieldErrors: parsed.errors, values }, { status: 400 });
  const r = await s.send(parsed.value);
  if (!r.ok) {
    const { fieldErrors, formError } = apiErrorToForm(r.error, s.fields);
    return data<ActionResult>({ ok: false, ...tag(s.intent), fieldErrors, formError, values }, { status: r.status });
  }
  return data<ActionResult>({ ok: true, ...tag(s.intent), ...s.done(r.data, parsed.value, r.status) });
}

export interface CommandSubmission {
  intent: string;
  /** The API call (a DELETE, a cancel…). */
  send: () => Promise<ApiResult<unknown>>;
  /** The success message. */
  message: string;
  /** What was typed, to send back after an error, where the page wants it. */
  values?: Record<string, string>;
}

/**
 * A button that acts on one thing (delete, revoke, cancel): the API's message and status on failure, shown above
 * the page's forms; `message` on success.
 */
export async function submitCommand(c: CommandSubmission) {
  const r = await c.send();
  if (!r.ok) return data<ActionResult>({ ok: false, intent: c.intent, formError: r.error.message, ...(c.values ? { values: c.values } : {}) }, { status: r.status });
  return data<ActionResult>({ ok: true, intent: c.intent, message: c.message });
}

/** A form with an intent this action does not know (an old page, a hand-made request). */
export function unknownIntent() {
  return data<ActionResult>({ ok: false, formError: 'Unknown action.' }, { status: 400 });
}
