/**
 * /healthz latency while hostile policy bodies are refused (issue 13, item 5): starts
 * `veil serve` on loopback, sends a bounded number of PUT /v1/policies bodies (alias bombs,
 * deep nesting in flow and block style, 2 MB of brackets, and a list of 40,000 one-letter
 * values that passes every limit and takes the YAML parser longest), two at a time, while
 * GET /healthz is timed back to back. Prints /healthz percentiles (target p99 ≤ 100 ms) and,
 * for comparison, how long each body takes to parse inline (what an in-process parse would
 * block the server for). Asserts nothing.
 *
 *   npx tsx bench/policyBomb.bench.ts [puts]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKey, startVeilServer } from './veilServer.js';
import { parsePolicy } from '../src/policy/load.js';
import { POLICY_LIMITS } from '../src/policy/screen.js';
import { HOSTILE } from '../test/policy/hostile.js';

const puts = Number(process.argv[2] ?? 200);
const IN_FLIGHT = 2;

/** Passes every limit, then costs the parser the most: as many one-letter values as allowed. */
function slowestAccepted(): string {
  return `name: p\nversion: 1\ndescription: [${'a,'.repeat(POLICY_LIMITS.maxNodes - 10)}]\n`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const bodies: [string, string][] = [...Object.entries(HOSTILE).map(([name, make]): [string, string] => [name, make()]), ['40,000 values (accepted size)', slowestAccepted()]];
  const dataDir = mkdtempSync(join(tmpdir(), 'veil-bomb-bench-'));
  const committee = createKey(dataDir, 'committee');
  const { server, base } = await startVeilServer(dataDir, ['--log-level', 'warn']);
  try {
    const health = async (): Promise<number> => {
      const started = performance.now();
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      return performance.now() - started;
    };

    const idle: number[] = [];
    for (let i = 0; i < 100; i++) idle.push(await health());

    const statuses = new Map<string, number>();
    let sent = 0;
    let done = false;
    const sender = async (): Promise<void> => {
      while (sent < puts) {
        const [, body] = bodies[sent++ % bodies.length];
        const res = await fetch(`${base}/v1/policies/p`, { method: 'PUT', headers: { Authorization: `Bearer ${committee}`, 'Content-Type': 'application/yaml' }, body });
        const parsed = (await res.json()) as { error?: { code?: string } };
        const label = `${res.status} ${parsed.error?.code ?? ''}`.trim();
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
      }
    };
    const busy: number[] = [];
    const prober = async (): Promise<void> => {
      while (!done) busy.push(await health());
    };
    const started = performance.now();
    const probing = prober();
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => sender()));
    done = true;
    await probing;
    const seconds = (performance.now() - started) / 1000;

    idle.sort((a, b) => a - b);
    busy.sort((a, b) => a - b);
    const line = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms, max ${xs[xs.length - 1].toFixed(1)} ms (${xs.length} requests)`;
    process.stdout.write(`policy bomb bench: ${puts} hostile PUT /v1/policies bodies, ${IN_FLIGHT} in flight, loopback, ${seconds.toFixed(1)} s\n`);
    process.stdout.write(`  answers: ${[...statuses].map(([k, v]) => `${v}× ${k}`).join(', ')}\n`);
    process.stdout.write(`  /healthz idle                 ${line(idle)}\n`);
    process.stdout.write(`  /healthz while refusing       ${line(busy)}\n`);
    process.stdout.write(`  target p99 ≤ 100 ms: ${percentile(busy, 99) <= 100 ? 'met' : 'NOT met'}\n`);
    process.stdout.write('  inline parsePolicy per body (what an in-process parse would block the server for):\n');
    for (const [name, body] of bodies) {
      const t = performance.now();
      const result = parsePolicy(body, { file: 'p.yaml', baseDir: '.' });
      const ms = performance.now() - t;
      process.stdout.write(`    ${name.padEnd(28)} ${(body.length / 1024).toFixed(0).padStart(5)} KiB  ${ms.toFixed(1).padStart(7)} ms  ${result.success ? 'accepted' : result.issues[0].message.slice(0, 60)}\n`);
    }
  } finally {
    server.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
