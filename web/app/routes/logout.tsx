import { type ActionFunctionArgs, redirect } from '@remix-run/node';
import { getSession } from '../lib/auth.server';
import { sessionStorage } from '../lib/session.server';

export async function action({ request }: ActionFunctionArgs) {
  const session = await getSession(request);
  throw redirect('/login', { headers: { 'Set-Cookie': await sessionStorage().storage.destroySession(session) } });
}

export async function loader() {
  throw redirect('/');
}
