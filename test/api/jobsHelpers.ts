import request from 'supertest';
import type { Express } from 'express';
import { sleep } from './helpers.js';

export interface JobBody {
  id: string;
  kind: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  progress: number;
  error?: { code: string; message: string; field?: string };
  policy: { name: string; version: number; sha256: string } | null;
}

/** Polls GET /v1/jobs/:id until the job is done or failed (the guard only stops a hung test). */
export async function waitForJob(app: Express, key: string, id: string, guardMs = 180_000): Promise<JobBody> {
  const until = Date.now() + guardMs;
  for (;;) {
    const res = await request(app).get(`/v1/jobs/${id}`).set('Authorization', `Bearer ${key}`);
    if (res.status !== 200) throw new Error(`GET job answered ${res.status}`);
    const job = res.body as JobBody;
    if (job.status === 'done' || job.status === 'failed') return job;
    if (Date.now() > until) throw new Error(`job still ${job.status}`);
    await sleep(50);
  }
}

/** Parses a CSV without quoting (what the tests write and read back). */
export function parseSimpleCsv(text: string): { header: string[]; rows: string[][]; delimiter: string } {
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  const delimiter = lines[0].includes(';') ? ';' : ',';
  return { header: lines[0].split(delimiter), rows: lines.slice(1).map((line) => line.split(delimiter)), delimiter };
}

/** Smallest equivalence class over `columns`, leaving out rows suppressed as all `*`. */
export function smallestClass(csv: { header: string[]; rows: string[][] }, columns: string[]): { min: number; suppressed: number } {
  const indexes = columns.map((column) => {
    const index = csv.header.indexOf(column);
    if (index < 0) throw new Error(`column ${column} missing from the result`);
    return index;
  });
  const classes = new Map<string, number>();
  let suppressed = 0;
  for (const row of csv.rows) {
    const values = indexes.map((i) => row[i]);
    if (values.every((v) => v === '*')) {
      suppressed++;
      continue;
    }
    const key = values.join('\u0000');
    classes.set(key, (classes.get(key) ?? 0) + 1);
  }
  return { min: Math.min(...classes.values()), suppressed };
}
