import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatClock, formatDateTime, formatHourOf, formatUtc, timeZoneFromCookie, validTimeZone, zoneLabel } from '../app/lib/time';

const at = '2026-07-01T12:03:22.123Z';

describe('times in the viewer’s zone', () => {
  it('formats in the zone, labelled', () => {
    assert.equal(formatDateTime(at, 'UTC'), '2026-07-01 12:03:22');
    assert.equal(formatDateTime(at, 'Asia/Kolkata'), '2026-07-01 17:33:22');
    assert.equal(formatDateTime(at, 'America/New_York'), '2026-07-01 08:03:22');
    assert.equal(formatDateTime('2026-12-31T23:30:00Z', 'Asia/Tokyo'), '2027-01-01 08:30:00', 'the date moves with the zone');
    assert.equal(zoneLabel('UTC'), 'UTC');
    assert.equal(zoneLabel('America/New_York', new Date(at)), 'EDT');
    assert.equal(zoneLabel('America/New_York', new Date('2026-01-15T12:00:00Z')), 'EST');
    assert.equal(zoneLabel('Asia/Kolkata', new Date(at)), 'GMT+5:30');
  });
  it('log clocks with milliseconds, chart hours, UTC for hover', () => {
    assert.equal(formatClock(at, 'Asia/Kolkata'), '17:33:22.123');
    assert.equal(formatClock('2026-07-01T00:00:00.005Z', 'UTC'), '00:00:00.005');
    assert.equal(formatHourOf('2026-07-01T12:00:00Z', 'Asia/Kolkata'), '17:30');
    assert.equal(formatHourOf('2026-07-01T00:00:00Z', 'UTC'), '00:00', 'midnight is 00, not 24');
    assert.equal(formatUtc(at), '2026-07-01 12:03:22.123 UTC');
  });
  it('handles missing and invalid times', () => {
    assert.equal(formatDateTime(null, 'UTC'), '—');
    assert.equal(formatDateTime('nonsense', 'UTC'), '—');
    assert.equal(formatClock(undefined, 'UTC'), '');
    assert.equal(formatUtc('x'), '');
  });
  it('takes only a real zone from the cookie', () => {
    assert.equal(timeZoneFromCookie('a=1; cronium_tz=Europe%2FBerlin; b=2'), 'Europe/Berlin');
    assert.equal(timeZoneFromCookie('cronium_tz=Mars%2FOlympus'), 'UTC');
    assert.equal(timeZoneFromCookie('cronium_tz=%E0%A4%A'), 'UTC', 'bad percent-encoding');
    assert.equal(timeZoneFromCookie('cronium_tz=<script>'), 'UTC');
    assert.equal(timeZoneFromCookie(null), 'UTC');
    assert.equal(validTimeZone('UTC'), 'UTC');
    assert.equal(validTimeZone(''), null);
  });
});
