import { type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction, data, redirect } from '@remix-run/node';
import { Form, useActionData, useNavigation, useSearchParams } from '@remix-run/react';
import { Alert, Field, fieldProps } from '../components/ui';
import { currentSession } from '../lib/auth.server';
import { safeRedirect } from '../lib/forms';
import { signIn } from '../lib/login.server';

export const meta: MetaFunction = () => [{ title: 'Sign in · Cronium Sandbox' }];

export async function loader({ request }: LoaderFunctionArgs) {
  if (await currentSession(request)) throw redirect(safeRedirect(new URL(request.url).searchParams.get('redirectTo')));
  return null;
}

export async function action({ request }: ActionFunctionArgs) {
  const r = await signIn(await request.formData(), request.headers.get('Cookie'));
  if (r.ok) throw redirect(r.redirectTo, { headers: { 'Set-Cookie': r.cookie } });
  return data({ error: r.error }, { status: r.status });
}

export default function Login() {
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const busy = useNavigation().state === 'submitting';
  const error = result?.error;
  return (
    <div className="login">
      <div className="login-card">
        <div className="login-brand">
          <svg width="36" height="36" viewBox="0 0 24 24" aria-hidden="true">
            <rect x="1" y="1" width="22" height="22" rx="6" fill="#4f46e5" />
            <path d="M7 8l4 4-4 4M12.5 16H17" stroke="#fff" strokeWidth="2" fill="none" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
          <div>
            <h1>Sign in to Cronium Sandbox</h1>
            <p className="muted">Use an API key that an administrator issued to you.</p>
          </div>
        </div>
        {params.get('redirectTo') && !error && <Alert kind="info">Sign in to continue.</Alert>}
        <Form method="post" replace>
          <input type="hidden" name="redirectTo" value={params.get('redirectTo') ?? '/'} />
          <Field id="apiKey" label="API key" error={error} hint="The key stays on the dashboard server, in an HTTP-only cookie; this page never stores it.">
            <input {...fieldProps('apiKey', error, true)} type="password" autoComplete="off" spellCheck={false} required autoFocus placeholder="csk_…" />
          </Field>
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </Form>
      </div>
    </div>
  );
}
