import type { FieldErrors } from './errors';

/** What every action returns to its page. */
export interface ActionResult {
  ok: boolean;
  /** Which form on the page this answers (pages with several forms send `intent`). */
  intent?: string;
  fieldErrors?: FieldErrors;
  formError?: string | null;
  /** A success message. */
  message?: string;
  /** What the user typed, to fill the form again after an error (never secret values). */
  values?: Record<string, string>;
  /** Extra data for the page (an API key shown once…). */
  extra?: Record<string, string>;
}

export function failure(intent: string | undefined, fieldErrors: FieldErrors, formError: string | null = null, values?: Record<string, string>): ActionResult {
  return { ok: false, intent, fieldErrors, formError, values };
}

/** The form's values as strings (files and secret fields left out), for filling the form again. */
export function formValues(form: FormData, omit: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of form.entries()) {
    if (typeof v !== 'string' || omit.includes(k)) continue;
    out[k] = k in out ? `${out[k]}\n${v}` : v;
  }
  return out;
}
