import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resetSessionStorage } from '../app/lib/session.server';

/** Listens with a test's fake of the Cronium API and points the dashboard's server code at it, with a fresh session store. */
export async function serveAsCroniumApi(server: http.Server): Promise<void> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.env.CRONIUM_API_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.CRONIUM_SESSION_SECRET = 'unit-test-session-secret-0123456789';
  resetSessionStorage();
}
