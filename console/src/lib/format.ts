/** Numbers and times as the tables show them. */
export function percent(share: number | undefined | null, digits = 1): string {
  return typeof share === 'number' && Number.isFinite(share) ? `${(share * 100).toFixed(digits)} %` : '—';
}

export function decimal(value: number | undefined | null, digits = 3): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(Number(value.toFixed(digits))) : '—';
}

export function whole(value: number | undefined | null): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toLocaleString('en') : '—';
}

/** An ISO time as `2026-12-02 19:20:43` (UTC, as the audit log writes it). */
export function when(iso: string | undefined | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function shortHash(hash: string | undefined | null): string {
  return hash ? `${hash.slice(0, 12)}…` : '—';
}
