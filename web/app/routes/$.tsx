import { data } from '@remix-run/node';

export async function loader() {
  throw data({ message: 'There is nothing at this address.' }, { status: 404 });
}

export default function NotFound() {
  return null;
}
