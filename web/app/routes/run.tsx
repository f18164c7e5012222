import { type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction, data, redirect } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useLocation, useNavigation } from '@remix-run/react';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { CodeEditor } from '../components/CodeEditor';
import { FilesInput } from '../components/FilesInput';
import { Alert, Card, Field, PageHeader, fieldProps } from '../components/ui';
import type { ActionResult } from '../lib/actions';
import { submitForm } from '../lib/actions.server';
import { isMultipart, sendRunWithFiles } from '../lib/run-files.server';
import { FieldAfterFilesError, FormTooLargeError, readStreamedForm } from '../lib/streamed-form.server';
import { requireUser } from '../lib/auth.server';
import { RUN_FIELDS } from '../lib/errors';
import { EXAMPLES, EXAMPLE_INPUT, isStarterOrEmpty } from '../lib/examples';
import { parseRunForm } from '../lib/forms';
import { requestedPackages } from '../lib/packages';
import { formatDuration } from '../lib/format';
import { type Execution, LANGUAGES, LANGUAGE_LABELS, type Language, type Limits, type Runtime, type Secret, type Settings, isLanguage } from '../lib/types';

export const meta: MetaFunction = () => [{ title: 'Run a script · Cronium Sandbox' }];

export interface RunValues {
  language: Language;
  script: string;
  input: string;
  timeout: string;
  memoryMb: string;
  cpus: string;
  pids: string;
  isolation: string;
  egress: string;
  env: string;
  secrets: string[];
  packages: string;
  /** A runtime id, `image:<name>`, or empty for the language's default. */
  runtime: string;
  stdin: string;
}

export async function loader({ request }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  const search = new URL(request.url).searchParams;
  // The settings are an admin's to read: others see that limits exist, not their numbers.
  const [secrets, settings, runtimes] = await Promise.all([
    a.api<{ items: Secret[] }>('GET', '/api/v1/secrets'),
    a.user.role === 'admin' ? a.api<Settings>('GET', '/api/v1/settings') : Promise.resolve(null),
    a.api<{ items: Runtime[] }>('GET', '/api/v1/runtimes'),
  ]);
  const lang = search.get('language');
  const language: Language = isLanguage(lang) ? lang : 'python';
  let initial: RunValues = {
    language,
    script: EXAMPLES[language],
    input: EXAMPLE_INPUT,
    timeout: '',
    memoryMb: '',
    cpus: '',
    pids: '',
    isolation: 'default',
    egress: '',
    env: '',
    secrets: [],
    packages: '',
    runtime: '',
    stdin: '',
  };
  let fromError: string | null = null;
  const from = search.get('from');
  if (from && /^[0-9a-f-]{36}$/i.test(from)) {
    const r = await a.api<Execution>('GET', `/api/v1/executions/${from}`);
    if (r.ok) {
      const ex = r.data;
      initial = {
        ...initial,
        language: ex.language,
        script: ex.script,
        input: ex.input === null || ex.input === undefined ? '' : JSON.stringify(ex.input, null, 2),
        timeout: String(ex.limits.timeoutMs / 1000),
        memoryMb: String(ex.limits.memoryMb),
        cpus: String(ex.limits.cpus),
        pids: String(ex.limits.pids),
        egress: ex.egress.allow.join('\n'),
        env: ex.env.map((n) => `${n}=`).join('\n'),
        secrets: ex.secretsGranted,
        packages: ex.dependencies ? requestedPackages(ex.dependencies).join('\n') : '',
        runtime: ex.image ? `image:${ex.image}` : (ex.runtime ?? ''),
      };
    } else fromError = `Could not load execution ${from}: ${r.error.message}`;
  }
  return {
    initial,
    limits: settings?.ok ? { defaults: settings.data.defaultLimits, max: settings.data.maxLimits } : null,
    secrets: secrets.ok ? secrets.data.items.map((s) => s.name) : [],
    runtimes: runtimes.ok ? runtimes.data.items : [],
    secretsError: secrets.ok ? null : secrets.error.message,
    fromError,
  };
}

type Created = { id: string; status: string };

export async function action({ request }: ActionFunctionArgs) {
  const a = await requireUser(request);
  const post = (body: Parameters<typeof a.api>[2]) => a.api<Created>('POST', '/api/v1/executions', body);
  const done = (created: Created): never => {
    throw redirect(`/executions/${created.id}`);
  };
  if (!isMultipart(request)) return submitForm(await request.formData(), { parse: parseRunForm, send: post, fields: RUN_FIELDS, done });
  // The form with files: read as it arrives and sent on to the API as it is read, never held whole here.
  try {
    return await readStreamedForm(request, (form, files) =>
      submitForm(form, {
        parse: parseRunForm,
        send: (body) => (files ? sendRunWithFiles<Created>(a.apiKey, body, form, files, request.signal) : post(body)),
        fields: RUN_FIELDS,
        done,
      }),
    );
  } catch (err) {
    if (err instanceof FormTooLargeError || err instanceof FieldAfterFilesError) return data<ActionResult>({ ok: false, fieldErrors: {}, formError: err.message }, { status: 400 });
    throw err;
  }
}

function valuesFrom(v: Record<string, string> | undefined, fallback: RunValues): RunValues {
  if (!v) return fallback;
  return {
    language: isLanguage(v.language) ? v.language : fallback.language,
    script: v.script ?? '',
    input: v.input ?? '',
    timeout: v.timeout ?? '',
    memoryMb: v.memoryMb ?? '',
    cpus: v.cpus ?? '',
    pids: v.pids ?? '',
    isolation: v.isolation ?? 'default',
    egress: v.egress ?? '',
    env: v.env ?? '',
    secrets: (v.secrets ?? '').split('\n').filter(Boolean),
    packages: v.packages ?? '',
    runtime: v.runtime ?? '',
    stdin: v.stdin ?? '',
  };
}

export default function Run() {
  const loaderData = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const location = useLocation();
  const initial = valuesFrom(result?.values, loaderData.initial);
  return (
    <RunForm
      key={location.key}
      initial={initial}
      result={result}
      limits={loaderData.limits}
      runtimes={loaderData.runtimes}
      secretNames={loaderData.secrets}
      secretsError={loaderData.secretsError}
      fromError={loaderData.fromError}
    />
  );
}

const PACKAGE_HINTS: Record<'python' | 'node', string> = {
  python: 'One pip requirement per line, like pandas==2.2.3 or requests>=2.31. Installed from wheels into a read-only bundle, reused by later runs.',
  node: 'One npm package per line, like axios@^1.7 or lodash. Installed without running install scripts on the server, into a read-only bundle reused by later runs.',
};

type KnownLimits = { defaults: Limits; max: Limits } | null;

/** A limit field's hint: the server's default and maximum, in the field's unit, when the viewer may know them. */
function limitHint(limits: KnownLimits, key: keyof Limits): string | undefined {
  if (!limits) return undefined;
  const show = (v: number) => (key === 'timeoutMs' ? `${v / 1000}` : String(v));
  return `default ${show(limits.defaults[key])} · max ${show(limits.max[key])}`;
}

function RunForm({
  initial,
  result,
  limits,
  runtimes,
  secretNames,
  secretsError,
  fromError,
}: {
  initial: RunValues;
  result: ActionResult | undefined;
  limits: KnownLimits;
  runtimes: Runtime[];
  secretNames: string[];
  secretsError: string | null;
  fromError: string | null;
}) {
  const [language, setLanguage] = useState<Language>(initial.language);
  const [script, setScript] = useState(initial.script);
  const [runtime, setRuntime] = useState(initial.runtime);
  const choices = runtimes.filter((r) => r.language === language);
  const shown = choices.find((r) => r.id === runtime) ?? choices.find((r) => r.default);
  const formRef = useRef<HTMLFormElement>(null);
  const busy = useNavigation().state === 'submitting';
  const errors = result?.fieldErrors ?? {};
  const allSecrets = [...new Set([...secretNames, ...initial.secrets])];

  return (
    <>
      <PageHeader title="Run a script" description="Runs in a throw-away container with no network except the hosts you allow. You land on the live log." />
      {fromError && <Alert kind="warning">{fromError}</Alert>}
      {result?.formError && <Alert>{result.formError}</Alert>}
      {Object.keys(errors).length > 0 && !result?.formError && <Alert>Check the highlighted fields.</Alert>}
      <Form
        method="post"
        encType="multipart/form-data"
        ref={formRef}
        className="run-layout"
        noValidate
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            formRef.current?.requestSubmit();
          }
        }}
      >
        <div className="run-main">
          <Card>
            <fieldset className="lang-picker" aria-describedby={errors.language ? 'language-error' : undefined}>
              <legend>Language</legend>
              <div className="segmented">
                {LANGUAGES.map((l) => (
                  <label key={l} className={language === l ? 'is-selected' : ''}>
                    <input
                      type="radio"
                      name="language"
                      value={l}
                      checked={language === l}
                      onChange={() => {
                        setLanguage(l);
                        setRuntime('');
                        if (isStarterOrEmpty(script)) setScript(EXAMPLES[l]);
                      }}
                    />
                    {LANGUAGE_LABELS[l]}
                  </label>
                ))}
              </div>
            </fieldset>
            {errors.language && (
              <p className="field-error" id="language-error">
                {errors.language}
              </p>
            )}
            {choices.length > 0 && (
              <Field id="runtime" label="Runtime" error={errors.runtime}>
                <select {...fieldProps('runtime', errors.runtime)} value={runtime} onChange={(e) => setRuntime(e.target.value)} data-testid="runtime">
                  {choices.map((r) => (
                    <option key={r.id} value={r.default ? '' : r.id}>
                      {r.id.startsWith('image:') ? `${r.id.slice('image:'.length)} (custom image)` : `${r.id} (${r.version})`}
                      {r.default ? ' · default' : ''}
                    </option>
                  ))}
                </select>
              </Field>
            )}
            {shown && <RuntimeContents runtime={shown} />}
            <div className={`field${errors.script ? ' field-invalid' : ''}`}>
              <div className="label-row">
                <label id="script-label" htmlFor="script">
                  Script
                </label>
                <JsOnly
                  fallback={
                    <span className="small">
                      Examples:{' '}
                      {LANGUAGES.map((l, i) => (
                        <span key={l}>
                          {i > 0 && ' · '}
                          <Link to={`?language=${l}`}>{LANGUAGE_LABELS[l]}</Link>
                        </span>
                      ))}
                    </span>
                  }
                >
                  <button type="button" className="btn btn-ghost btn-small" onClick={() => setScript(EXAMPLES[language])}>
                    Use the {LANGUAGE_LABELS[language]} example
                  </button>
                </JsOnly>
              </div>
              <CodeEditor
                id="script"
                name="script"
                value={script}
                onChange={setScript}
                language={language}
                labelId="script-label"
                describedBy={['script-hint', errors.script ? 'script-error' : ''].filter(Boolean).join(' ')}
                invalid={!!errors.script}
              />
              <p className="field-hint" id="script-hint">
                The SDK is preinstalled: <code>import cronium</code> in Python, <code>import cronium from "cronium"</code> in Node.js, the{' '}
                <code>cronium</code> command in Bash. Tab indents; press Esc, then Tab, to leave the editor. Ctrl+Enter runs.
              </p>
              {errors.script && (
                <p className="field-error" id="script-error">
                  {errors.script}
                </p>
              )}
            </div>
            {language !== 'bash' && (
              <Field id="packages" label="Packages" error={errors.packages} hint={PACKAGE_HINTS[language]}>
                <textarea {...fieldProps('packages', errors.packages, true)} className="mono" rows={3} defaultValue={initial.packages} spellCheck={false} data-testid="packages" />
              </Field>
            )}
            <Field id="input" label="Input (JSON)" error={errors.input} hint="The script reads it with get_input() / getInput() / cronium get-input. Leave empty for none.">
              <textarea {...fieldProps('input', errors.input, true)} className="mono" rows={6} defaultValue={initial.input} spellCheck={false} />
            </Field>
          </Card>
        </div>
        <div className="run-side">
          <Card title="Limits">
            <p className="field-hint" data-testid="limits-hint">
              {limits
                ? `Leave a field empty for the default. A value above the maximum is lowered to it: a run gets at most ${formatDuration(limits.max.timeoutMs)} (${limits.max.timeoutMs / 1000} s).`
                : 'Leave a field empty for the server’s default. A value above the server’s maximum is lowered to it; an administrator sets both.'}
            </p>
            <div className="grid-fields">
              <Field id="timeout" label="Timeout (s)" error={errors.timeout} hint={limitHint(limits, 'timeoutMs')}>
                <input {...fieldProps('timeout', errors.timeout, !!limits)} inputMode="decimal" defaultValue={initial.timeout} placeholder={limits ? String(limits.defaults.timeoutMs / 1000) : 'default'} />
              </Field>
              <Field id="memoryMb" label="Memory (MiB)" error={errors.memoryMb} hint={limitHint(limits, 'memoryMb')}>
                <input {...fieldProps('memoryMb', errors.memoryMb, !!limits)} inputMode="numeric" defaultValue={initial.memoryMb} placeholder={limits ? String(limits.defaults.memoryMb) : 'default'} />
              </Field>
              <Field id="cpus" label="CPUs" error={errors.cpus} hint={limitHint(limits, 'cpus')}>
                <input {...fieldProps('cpus', errors.cpus, !!limits)} inputMode="decimal" defaultValue={initial.cpus} placeholder={limits ? String(limits.defaults.cpus) : 'default'} />
              </Field>
              <Field id="pids" label="Processes" error={errors.pids} hint={limitHint(limits, 'pids')}>
                <input {...fieldProps('pids', errors.pids, !!limits)} inputMode="numeric" defaultValue={initial.pids} placeholder={limits ? String(limits.defaults.pids) : 'default'} />
              </Field>
            </div>
            <Field id="isolation" label="Isolation" error={errors.isolation}>
              <select {...fieldProps('isolation', errors.isolation)} defaultValue={initial.isolation}>
                <option value="default">Server default</option>
                <option value="standard">Standard (Docker, seccomp)</option>
                <option value="gvisor">gVisor (if installed)</option>
              </select>
            </Field>
          </Card>
          <Card title="Access">
            <Field id="egress" label="Egress hosts" error={errors.egress} hint="One per line, like api.example.com or *.example.com. Allowed for this run only, on top of your egress rules.">
              <textarea {...fieldProps('egress', errors.egress, true)} className="mono" rows={3} defaultValue={initial.egress} spellCheck={false} />
            </Field>
            <fieldset className={`field checks${errors.secrets ? ' field-invalid' : ''}`} aria-describedby={errors.secrets ? 'secrets-error' : undefined}>
              <legend>Secrets to grant</legend>
              {secretsError && <p className="field-error">{secretsError}</p>}
              {allSecrets.length ? (
                allSecrets.map((s) => (
                  <label key={s} className="check">
                    <input type="checkbox" name="secrets" value={s} defaultChecked={initial.secrets.includes(s)} /> <span className="mono">{s}</span>
                  </label>
                ))
              ) : (
                <p className="field-hint">
                  You have no secrets yet. <Link to="/secrets">Create one</Link> to pass API tokens without putting them in the script.
                </p>
              )}
              {errors.secrets && (
                <p className="field-error" id="secrets-error">
                  {errors.secrets}
                </p>
              )}
            </fieldset>
            <Field id="env" label="Environment variables" error={errors.env} hint="NAME=value, one per line.">
              <textarea {...fieldProps('env', errors.env, true)} className="mono" rows={3} defaultValue={initial.env} spellCheck={false} />
            </Field>
          </Card>
          {/* Last in the form: its fields must come before its files (see FilesInput). */}
          <Card title="Files and stdin">
            <Field id="stdin" label="Standard input" error={errors.stdin} hint="What the script reads on stdin, closed after it. Leave empty for none.">
              <textarea {...fieldProps('stdin', errors.stdin, true)} className="mono" rows={3} defaultValue={initial.stdin} spellCheck={false} />
            </Field>
            <FilesInput error={errors.files} />
          </Card>
          <button type="submit" className="btn btn-primary btn-block btn-large" disabled={busy} data-testid="run-submit">
            {busy ? 'Starting…' : 'Run'}
          </button>
        </div>
      </Form>
    </>
  );
}

/** Shows `children` once JavaScript runs, `fallback` before (and forever without JavaScript). */
function JsOnly({ children, fallback }: { children: ReactNode; fallback: ReactNode }) {
  const [js, setJs] = useState(false);
  useEffect(() => setJs(true), []);
  return <>{js ? children : fallback}</>;
}

/** What the chosen runtime's image holds (read from the image by the server), next to the picker. */
function RuntimeContents({ runtime }: { runtime: Runtime }) {
  const items = runtime.contents;
  if (!items.length) return null;
  return (
    <details className="field-hint runtime-contents" data-testid="runtime-contents">
      <summary>
        In the {runtime.id} image: {items.slice(0, 4).map((c) => `${c.name} ${c.version}`).join(' · ')}
        {items.length > 4 ? ` and ${items.length - 4} more` : ''}
      </summary>
      <ul className="mono small">
        {items.map((c) => (
          <li key={`${c.source}:${c.name}`}>
            {c.name} {c.version} <span className="muted">({c.source})</span>
          </li>
        ))}
      </ul>
    </details>
  );
}
