/**
 * A service is (project, name). Rows carry one string, `serviceName`, which the writer uses as the
 * key of its name → id map; for a project other than the default one that string is the
 * "service key" `\u0000<projectId>\u0000<name>`. Service names never contain NUL (translate/text.ts
 * rejects it: PostgreSQL cannot store it), so the key is unambiguous, and a name of the default
 * project is its own key: open mode writes exactly what it wrote before projects existed.
 * upsertServices splits keys back into (project_id, name) before anything reaches SQL.
 */
import type { IngestBatch } from '../translate/rows.js';

/** projects.id of 'default' (migration 006): open mode, and every row written before projects. */
export const DEFAULT_PROJECT_ID = '1';

const MARK = '\u0000';

export function toServiceKey(projectId: string, name: string): string {
  return projectId === DEFAULT_PROJECT_ID ? name : `${MARK}${projectId}${MARK}${name}`;
}

export function fromServiceKey(key: string): { projectId: string; name: string } {
  if (!key.startsWith(MARK)) return { projectId: DEFAULT_PROJECT_ID, name: key };
  const end = key.indexOf(MARK, 1);
  return { projectId: key.slice(1, end), name: key.slice(end + 1) };
}

/**
 * Puts a translated export in `projectId`: sets batch.projectId and, for a project other than the
 * default one, turns each row's service name into its service key and prefixes each metric
 * stream key with the project (metric_streams is keyed by stream alone: two projects sending the
 * same stream must not share cumulative state). The rows are this request's own, fresh from
 * translation: changed in place.
 */
export function assignProject(batch: IngestBatch, projectId: string): void {
  batch.projectId = projectId;
  if (projectId === DEFAULT_PROJECT_ID) return;
  for (const r of batch.requests) r.serviceName = toServiceKey(projectId, r.serviceName);
  if (batch.spans !== undefined) for (const s of batch.spans) s.serviceName = toServiceKey(projectId, s.serviceName);
  for (const p of batch.durationPoints) {
    p.serviceName = toServiceKey(projectId, p.serviceName);
    p.streamKey = `p${projectId}:${p.streamKey}`;
  }
}

/** The names, of services of `projectId`, among service keys (a live update's services). */
export function namesInProject(keys: Iterable<string>, projectId: string): string[] {
  const names: string[] = [];
  for (const key of keys) {
    const service = fromServiceKey(key);
    if (service.projectId === projectId) names.push(service.name);
  }
  return names;
}
