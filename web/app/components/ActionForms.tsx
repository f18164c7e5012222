/**
 * The pieces of a page whose action answers several forms (each sends an `intent`): the answer's alerts, a form
 * that saves, a button that deletes. Plain posts, so they work without JavaScript.
 */
import { Form } from '@remix-run/react';
import type { ReactNode } from 'react';
import type { ActionResult } from '../lib/actions';
import { Alert } from './ui';

/**
 * The action's answer above the page: a success message, whichever form sent it, and the error of `intent`, the
 * form (a delete button in a table row) that has no room of its own for one.
 */
export function ActionAlerts({ result, intent }: { result: ActionResult | undefined; intent: string }) {
  return (
    <>
      {result?.ok && result.message && <Alert kind="success">{result.message}</Alert>}
      {result && !result.ok && result.intent === intent && result.formError && <Alert>{result.formError}</Alert>}
    </>
  );
}

function Hidden({ fields }: { fields: Record<string, string> }) {
  return (
    <>
      {Object.entries(fields).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
    </>
  );
}

/**
 * A one-row form that posts `intent` (and `hidden` fields): the action's form error above its fields, then the
 * submit button, which shows `busyLabel` while `busy`. Give it a `key` that changes after a success to empty it.
 */
export function IntentForm({
  intent,
  label,
  id,
  formError,
  hidden = {},
  heading,
  className,
  autoComplete,
  submitLabel,
  busy,
  busyLabel,
  secondary,
  children,
}: {
  intent: string;
  /** The form's accessible name. */
  label: string;
  /** The form's id (a link's #fragment). */
  id?: string;
  formError?: string | null;
  hidden?: Record<string, string>;
  heading?: ReactNode;
  className?: string;
  autoComplete?: string;
  submitLabel: string;
  busy?: boolean;
  busyLabel?: string;
  /** A plain button instead of the primary one. */
  secondary?: boolean;
  children: ReactNode;
}) {
  return (
    <Form method="post" id={id} className={className} noValidate autoComplete={autoComplete} aria-label={label}>
      <input type="hidden" name="intent" value={intent} />
      <Hidden fields={hidden} />
      {heading}
      {formError && <Alert>{formError}</Alert>}
      <div className="form-row">
        {children}
        <div className="form-submit">
          <button type="submit" className={secondary ? 'btn' : 'btn btn-primary'} disabled={busy}>
            {busy && busyLabel ? busyLabel : submitLabel}
          </button>
        </div>
      </div>
    </Form>
  );
}

/**
 * A small danger button in a table row that posts `intent` with `hidden` fields naming the thing; with
 * JavaScript it first asks `confirm` (when given). `label` is the button's accessible name.
 */
export function DeleteButton({
  intent = 'delete',
  hidden,
  confirm: question,
  label,
  children = 'Delete',
}: {
  intent?: string;
  hidden: Record<string, string>;
  confirm?: string;
  label: string;
  children?: ReactNode;
}) {
  return (
    <Form
      method="post"
      replace
      onSubmit={
        question
          ? (e) => {
              if (!confirm(question)) e.preventDefault();
            }
          : undefined
      }
    >
      <input type="hidden" name="intent" value={intent} />
      <Hidden fields={hidden} />
      <button type="submit" className="btn btn-small btn-danger-ghost" aria-label={label}>
        {children}
      </button>
    </Form>
  );
}
