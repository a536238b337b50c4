import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as errors from '../src/errors';

describe('error codes', () => {
  it('are all listed in the README table, and the table lists no others', () => {
    const codes = Object.entries(errors)
      .filter(([name, value]) => name.startsWith('LAT_ERR_') && typeof value === 'string')
      .map(([, value]) => value as string)
      .sort();
    const readme = readFileSync(resolve(__dirname, '../README.md'), 'utf8');
    const documented = [...readme.matchAll(/^\| `(LAT_ERR_SDK_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(codes.length).toBeGreaterThan(0);
    expect(documented).toEqual(codes);
  });
});
