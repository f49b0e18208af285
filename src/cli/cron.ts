import type { CalendarSpecDescription, Range } from '@temporalio/client';

const MONTHS = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'];
const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

/**
 * A calendar as the server stores it (cron text is turned into calendars on create), written
 * back as a 5-field cron expression: `0 0 * * *`.
 */
export function calendarsAsCron(c: CalendarSpecDescription): string {
  const fields = [
    field(c.minute, 0, 59, Number),
    field(c.hour, 0, 23, Number),
    field(c.dayOfMonth, 1, 31, Number),
    field(c.month, 1, 12, (m) => MONTHS.indexOf(String(m)) + 1),
    field(c.dayOfWeek, 0, 6, (d) => DAYS.indexOf(String(d))),
  ];
  const seconds = field(c.second, 0, 59, Number);
  return `${fields.join(' ')}${seconds === '0' ? '' : ` (second ${seconds})`}`;
}

function field<T>(ranges: Range<T>[] | undefined, min: number, max: number, toNumber: (v: T) => number): string {
  if (!ranges || ranges.length === 0) return '*';
  const parts = ranges.map((r) => {
    const start = toNumber(r.start);
    const end = r.end === undefined ? start : toNumber(r.end);
    const step = r.step || 1;
    if (start === min && end === max && step === 1) return '*';
    if (start === end) return String(start);
    return step === 1 ? `${start}-${end}` : `${start}-${end}/${step}`;
  });
  return parts.includes('*') ? '*' : parts.join(',');
}
