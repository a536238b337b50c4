import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const receiverDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('generated protobuf code', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'lattice-proto-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('matches what `npm run generate:proto` makes from proto/ (run it after editing a .proto)', () => {
    execFileSync(process.execPath, [join(receiverDir, 'proto', 'generate.mjs'), outDir], { stdio: 'pipe' });
    for (const file of ['otlp.js', 'otlp.d.ts']) {
      const committed = readFileSync(join(receiverDir, 'generated', file), 'utf8');
      expect(committed.startsWith('// DO NOT EDIT')).toBe(true);
      expect(readFileSync(join(outDir, file), 'utf8') === committed, `generated/${file} drifted from proto/`).toBe(true);
    }
  });
});
