import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const configPath: string = join(root, 'eslint.config.js');
const { layerRules } = (await import(configPath)) as { layerRules: () => Record<string, string[]> };

/** The top folder of src/ a file belongs to ('(root)' for src/*.ts). */
function folderOf(file: string): string {
  const parts = relative(join(root, 'src'), file).split(sep);
  return parts.length > 1 ? parts[0] : '(root)';
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('one-way layers (ARCHITECTURE.md)', () => {
  const eslint = new ESLint({ cwd: root });

  it('lint refuses an image → dicom import, and a tabular → image one', async () => {
    const [image] = await eslint.lintText("import { readDicom } from '../dicom/index.js';\nexport const probe = readDicom;\n", { filePath: join(root, 'src/image/probe.ts') });
    expect(image.messages.map((m) => m.ruleId)).toContain('@typescript-eslint/no-restricted-imports');
    expect(image.messages.find((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')?.message).toMatch(/image may not import from .*dicom/);
    const [tabular] = await eslint.lintText("import { redactImages } from '../../image/index.js';\nexport const probe = redactImages;\n", { filePath: join(root, 'src/tabular/metrics/probe.ts') });
    expect(tabular.messages.map((m) => m.ruleId)).toContain('@typescript-eslint/no-restricted-imports');
  });

  it('lint allows the downward direction (dicom → image) and type-only imports into report', async () => {
    const [dicom] = await eslint.lintText("import { redactImages } from '../image/index.js';\nexport const probe = redactImages;\n", { filePath: join(root, 'src/dicom/probe.ts') });
    expect(dicom.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')).toEqual([]);
    const [report] = await eslint.lintText("import type { Table } from '../tabular/index.js';\nexport type Probe = Table;\n", { filePath: join(root, 'src/report/probe.ts') });
    expect(report.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')).toEqual([]);
  });

  it('no dynamic import() climbs a layer either (lint does not see those)', () => {
    const rules = layerRules();
    const offenders: string[] = [];
    for (const file of sourceFiles(join(root, 'src'))) {
      const from = folderOf(file);
      const forbidden = rules[from] ?? [];
      for (const match of readFileSync(file, 'utf8').matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) {
        const target = folderOf(resolve(dirname(file), match[1]));
        if (forbidden.includes(target)) offenders.push(`${relative(root, file)} → ${match[1]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
