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
  useLocation,
  useNavigation,
  useRouteError,
  useRouteLoaderData,
} from '@remix-run/react';
import { type ReactNode, useEffect, useState } from 'react';
import { currentSession } from './lib/auth.server';
import type { SessionUser } from './lib/session.server';
import { TIME_ZONE_COOKIE, timeZoneFromCookie, validTimeZone } from './lib/time';
import { TimeZoneContext } from './lib/timezone';
import styles from './styles.css?url';

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: styles },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
];

export const meta: MetaFunction = () => [{ title: 'Cronium Sandbox' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const s = await currentSession(request);
  return { user: s?.user ?? null, timeZone: timeZoneFromCookie(request.headers.get('Cookie')) };
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

/**
 * The page around every signed-in page: the side menu, which on a narrow screen folds into a Menu button (with
 * JavaScript; without, it stays open above the page).
 */
function Shell({ user, children }: { user: SessionUser | null; children: ReactNode }) {
  const navigation = useNavigation();
  const { pathname } = useLocation();
  const [js, setJs] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setJs(true), []);
  useEffect(() => setMenuOpen(false), [pathname]);
  if (!user) return <main className="bare">{children}</main>;
  return (
    <div className={`shell${js ? ' has-js' : ''}${menuOpen ? ' menu-open' : ''}`}>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="sidebar-top">
          <Link to="/" className="brand">
            <Logo /> Cronium <span>Sandbox</span>
          </Link>
          {js && (
            <button type="button" className="menu-button" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen((o) => !o)}>
              <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true">
                <path d={menuOpen ? 'M6 6l12 12M18 6L6 18' : 'M4 7h16M4 12h16M4 17h16'} stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
              </svg>
              Menu
            </button>
          )}
        </div>
        <nav aria-label="Main" id="main-nav">
          <ul>
            {NAV.filter((n) => !n.admin || user.role === 'admin').map((n) => (
              <li key={n.to}>
                <NavLink to={n.to} end={n.end} prefetch="intent" onClick={() => setMenuOpen(false)}>
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

/**
 * The viewer's time zone: the one the cookie named (so the server's HTML shows it), then the browser's own, which
 * is remembered in the cookie for the next page.
 */
function useViewerTimeZone(fromCookie: string): string {
  const [tz, setTz] = useState(fromCookie);
  useEffect(() => {
    const own = validTimeZone(Intl.DateTimeFormat().resolvedOptions().timeZone) ?? 'UTC';
    if (own !== fromCookie) document.cookie = `${TIME_ZONE_COOKIE}=${encodeURIComponent(own)}; Path=/; Max-Age=31536000; SameSite=Lax`;
    setTz(own);
  }, [fromCookie]);
  return tz;
}

export default function App() {
  const { user, timeZone } = useLoaderData<typeof loader>();
  const tz = useViewerTimeZone(timeZone);
  return (
    <TimeZoneContext.Provider value={tz}>
      <Shell user={user}>
        <Outlet />
      </Shell>
    </TimeZoneContext.Provider>
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
    <TimeZoneContext.Provider value={root?.timeZone ?? 'UTC'}>
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
    </TimeZoneContext.Provider>
  );
}
