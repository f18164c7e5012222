import { createContext, useContext } from 'react';

/** The viewer's time zone for every time on the page (root.tsx provides it; see time.ts). */
export const TimeZoneContext = createContext('UTC');

export function useTimeZone(): string {
  return useContext(TimeZoneContext);
}
