/** Numbers, times and durations in the user's locale. */
const locale = navigator.language || undefined;
const numbers = new Intl.NumberFormat(locale);
const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' });
const time = new Intl.DateTimeFormat(locale, { timeStyle: 'medium' });

export const formatNumber = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : numbers.format(value));
export const formatDateTime = (value: string | null | undefined): string => (value ? dateTime.format(new Date(value)) : '—');
export const formatTime = (value: string | null | undefined): string => (value ? time.format(new Date(value)) : '—');

/** 75 → "1:15", 3725 → "1:02:05" (clock style, locale digits). */
export function formatDuration(totalSeconds: number | null | undefined): string {
  if (totalSeconds === null || totalSeconds === undefined) return '—';
  const seconds = Math.max(0, Math.round(Math.abs(totalSeconds)));
  const two = new Intl.NumberFormat(locale, { minimumIntegerDigits: 2, useGrouping: false });
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${numbers.format(h)}:${two.format(m)}:${two.format(s)}` : `${numbers.format(m)}:${two.format(s)}`;
}
