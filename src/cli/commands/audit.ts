import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { VeilError } from '../../errors.js';
import { runCommand } from '../run.js';

/** Exit code of `veil audit verify` when the log is not intact (0 intact, 2 bad input). */
export const EXIT_AUDIT_BROKEN = 4;

interface VerifyOptions {
  dataDir: string;
  expectHead?: string;
  json?: boolean;
}

/** Registers `veil audit verify`. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('check the audit log of a data dir');
  audit
    .command('verify')
    .description(`re-check every entry of the audit log under the audit key (exit 0 intact, ${EXIT_AUDIT_BROKEN} broken)`)
    .option('--data-dir <dir>', 'the server data dir', './veil-data')
    .option('--expect-head <hash>', 'a head written down earlier: the log must still contain it (detects a deleted tail)')
    .option('--json', 'print the verdict as JSON')
    .action((options: VerifyOptions) =>
      runCommand(async () => {
        if (!statSync(options.dataDir, { throwIfNoEntry: false })?.isDirectory()) {
          throw new VeilError('FILE_NOT_FOUND', 'no such data dir', { file: options.dataDir, field: '--data-dir' });
        }
        const database = join(options.dataDir, 'veil.sqlite');
        if (!statSync(database, { throwIfNoEntry: false })?.isFile()) {
          throw new VeilError('FILE_NOT_FOUND', 'the data dir has no database (veil.sqlite): was it ever used by veil serve?', { file: database });
        }
        if (options.expectHead !== undefined && !/^[a-f0-9]{64}$/.test(options.expectHead)) {
          throw new VeilError('USAGE', 'expects a head hash as `veil audit verify` printed it (64 hex digits)', { field: '--expect-head' });
        }
        // Loaded on use, like every command's work, so that `veil --help` starts at once.
        const { verifyAuditLog } = await import('../../api/audit.js');
        const { loadAuditKey, readChainState } = await import('../../api/auditKey.js');
        const { openDatabaseReadOnly } = await import('../../api/db.js');
        const { key } = loadAuditKey(options.dataDir, process.env, { create: false });
        const state = readChainState(options.dataDir);
        const db = openDatabaseReadOnly(options.dataDir);
        let verdict;
        try {
          verdict = await verifyAuditLog(db, { key, unkeyedThrough: state?.unkeyedThrough ?? 0, expectHead: options.expectHead });
        } finally {
          db.close();
        }
        const entries = `${verdict.entries} ${verdict.entries === 1 ? 'entry' : 'entries'}`;
        if (options.json) {
          process.stdout.write(`${JSON.stringify(verdict)}\n`);
        } else if (verdict.intact) {
          process.stdout.write(`audit log intact: ${entries}, head ${verdict.head}\n`);
        } else {
          const at = verdict.firstBroken !== null ? ` at entry ${verdict.firstBroken}` : '';
          process.stdout.write(`audit log BROKEN${at}: ${verdict.problem ?? 'it does not verify'} (${entries}, head ${verdict.head})\n`);
        }
        return verdict.intact ? 0 : EXIT_AUDIT_BROKEN;
      }),
    );
}
