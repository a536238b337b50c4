/**
 * Keeps docs/errors.md in step with src/errors.ts (house style, after Fastify's errors doc test):
 * every coded error has exactly one row, under the heading of its area, with the same HTTP status
 * and Retry-After; the doc lists no code that no longer exists.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errors } from '../src/errors.js';

const DOC_PATH = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));

interface DocRow {
  code: string;
  /** `## AREA — …` heading the row sits under */
  area: string;
  statusCode: number;
  retryAfterSeconds: number | undefined;
  line: number;
}

/** Table rows whose first cell is a code: `| \`LAT_ERR_X_Y\` | 503, Retry-After: 5 | … |`. */
export function parseErrorsDoc(markdown: string): { rows: DocRow[]; problems: string[] } {
  const rows: DocRow[] = [];
  const problems: string[] = [];
  let area = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^##\s+([A-Z]+)\b/.exec(line);
    if (heading) {
      area = heading[1]!;
      continue;
    }
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
    const code = /^`(LAT_ERR_[A-Z0-9_]+)`$/.exec(cells[0] ?? '');
    if (!code) continue;
    const status = /^(\d{3})(?:, Retry-After: (\d+))?$/.exec(cells[1] ?? '');
    if (!status) {
      problems.push(`line ${i + 1}: ${code[1]} should have a status like "400" or "503, Retry-After: 5", instead got '${cells[1] ?? ''}'`);
      continue;
    }
    if (cells.length < 4 || cells.slice(2).some((cell) => cell === '')) {
      problems.push(`line ${i + 1}: ${code[1]} should say when it happens and what to do, instead a cell is empty`);
    }
    rows.push({
      code: code[1]!,
      area,
      statusCode: Number(status[1]),
      retryAfterSeconds: status[2] === undefined ? undefined : Number(status[2]),
      line: i + 1,
    });
  }
  return { rows, problems };
}

const { rows, problems } = parseErrorsDoc(readFileSync(DOC_PATH, 'utf8'));
const documented = new Map(rows.map((row) => [row.code, row]));
const defined = Object.values(errors);

describe('docs/errors.md', () => {
  it('parses: every row has a status and says when and what to do', () => {
    expect(rows.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it('lists every code in src/errors.ts', () => {
    const missing = defined.map((e) => e.code).filter((code) => !documented.has(code));
    expect(missing, 'add a row to docs/errors.md for each of these codes').toEqual([]);
  });

  it('lists no code that src/errors.ts does not define, and none twice', () => {
    const known = new Set(defined.map((e) => e.code));
    expect(rows.filter((row) => !known.has(row.code)).map((row) => `${row.code} (line ${row.line})`)).toEqual([]);
    expect(rows.length, 'a code is listed twice').toBe(documented.size);
  });

  it.each(defined.map((e) => [e.code, e] as const))('documents %s with its status, Retry-After and area', (code, error) => {
    const row = documented.get(code);
    if (row === undefined) return; // reported by "lists every code"
    expect({ statusCode: row.statusCode, retryAfterSeconds: row.retryAfterSeconds, area: row.area }).toEqual({
      statusCode: error.spec.statusCode,
      retryAfterSeconds: error.spec.retryAfterSeconds,
      area: /^LAT_ERR_([A-Z]+)_/.exec(code)?.[1],
    });
  });
});

describe('parseErrorsDoc', () => {
  it('reads code, area, status and Retry-After from a table row', () => {
    const doc = '## STORE — x\n| Code | HTTP | When | Do |\n| --- | --- | --- | --- |\n| `LAT_ERR_STORE_X` | 503, Retry-After: 5 | a | b |\n';
    expect(parseErrorsDoc(doc)).toEqual({
      rows: [{ code: 'LAT_ERR_STORE_X', area: 'STORE', statusCode: 503, retryAfterSeconds: 5, line: 4 }],
      problems: [],
    });
  });

  it('reports a row with a malformed status or an empty cell', () => {
    const doc = '## API\n| `LAT_ERR_API_X` | four hundred | a | b |\n| `LAT_ERR_API_Y` | 400 |  | b |\n';
    const { rows: parsed, problems: found } = parseErrorsDoc(doc);
    expect(parsed.map((row) => row.code)).toEqual(['LAT_ERR_API_Y']);
    expect(found).toHaveLength(2);
  });
});
