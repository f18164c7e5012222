import { useRevalidator } from '@remix-run/react';
import { useEffect } from 'react';

/** Re-runs the page's loaders every `ms` while `enabled` and the tab is visible (JavaScript only; pages work without). */
export function useAutoRevalidate(ms: number, enabled = true) {
  const { revalidate, state } = useRevalidator();
  useEffect(() => {
    if (!enabled) return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible' && state === 'idle') revalidate();
    }, ms);
    return () => clearInterval(t);
  }, [ms, enabled, revalidate, state]);
}
