import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import {
  Form,
  Link,
  Links,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  isRouteErrorResponse,
  useLoaderData,
  useNavigation,
  useRouteError,
  useRouteLoaderData,
} from '@remix-run/react';
import type { ReactNode } from 'react';
import { currentSession } from './lib/auth.server';
import type { SessionUser } from './lib/session.server';
import styles from './styles.css?url';

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: styles },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
];

export const meta: MetaFunction = () => [{ title: 'Cronium Sandbox' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const s = await currentSession(request);
  return { user: s?.user ?? null };
}

const NAV: { to: string; label: string; admin?: boolean; end?: boolean }[] = [
  { to: '/', label: 'Overview', end: true },
  { to: '/executions', label: 'Executions' },
  { to: '/run', label: 'Run' },
  { to: '/egress', label: 'Egress' },
  { to: '/secrets', label: 'Secrets' },
  { to: '/variables', label: 'Variables' },
  { to: '/settings', label: 'Settings', admin: true },
  { to: '/users', label: 'Users & API keys', admin: true },
];

function Logo() {
  return (
    <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true">
      <rect x="2" y="2" width="20" height="20" rx="6" fill="currentColor" opacity="0.15" />
      <path d="M7 8l4 4-4 4M12.5 16H17" stroke="currentColor" strokeWidth="2" fill="none" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

function Shell({ user, children }: { user: SessionUser | null; children: ReactNode }) {
  const navigation = useNavigation();
  if (!user) return <main className="bare">{children}</main>;
  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <aside className="sidebar">
        <Link to="/" className="brand">
          <Logo /> Cronium <span>Sandbox</span>
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => !n.admin || user.role === 'admin').map((n) => (
              <li key={n.to}>
                <NavLink to={n.to} end={n.end} prefetch="intent">
                  {n.label}
                  {n.admin && <span className="nav-tag">admin</span>}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="sidebar-footer">
          <div className="whoami">
            <span className="avatar" aria-hidden="true">
              {user.name.slice(0, 1).toUpperCase()}
            </span>
            <span>
              <span className="whoami-name" data-testid="whoami">
                {user.name}
              </span>
              <span className="whoami-role">{user.role === 'admin' ? 'Administrator' : 'User'}</span>
            </span>
          </div>
          <Form method="post" action="/logout">
            <button type="submit" className="btn btn-ghost btn-small">
              Sign out
            </button>
          </Form>
        </div>
      </aside>
      <main id="main" className={`content${navigation.state === 'loading' ? ' is-loading' : ''}`}>
        {children}
      </main>
    </div>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  const { user } = useLoaderData<typeof loader>();
  return (
    <Shell user={user}>
      <Outlet />
    </Shell>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  const root = useRouteLoaderData<typeof loader>('root');
  let status = 500;
  let title = 'Something went wrong';
  let message = 'The dashboard hit an unexpected error. Try again; the details are in the dashboard server’s log.';
  if (isRouteErrorResponse(error)) {
    status = error.status;
    const data = error.data as { message?: string } | string | null;
    const text = typeof data === 'string' ? data : data?.message;
    if (status === 403) title = 'Admins only';
    else if (status === 404) title = 'Not found';
    else if (status === 503) title = 'The API is not reachable';
    else title = `Error ${status}`;
    message = text || (status === 404 ? 'There is nothing at this address.' : error.statusText) || message;
  } else if (error instanceof Error && process.env.NODE_ENV !== 'production') {
    message = error.message;
  }
  return (
    <Shell user={root?.user ?? null}>
      <div className="error-page" data-status={status}>
        <p className="error-code">{status}</p>
        <h1>{title}</h1>
        <p>{message}</p>
        <p>
          <Link to="/" className="btn">
            Back to the overview
          </Link>
        </p>
      </div>
    </Shell>
  );
}
