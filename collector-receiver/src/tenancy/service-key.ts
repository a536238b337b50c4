/**
 * A service is (project, name). Rows carry one string, `serviceName`, which the writer uses as the
 * key of its name → id map; for a project other than the default one that string is the
 * "service key" `\u0000<projectId>\u0000<name>`. Service names never contain NUL (translate/text.ts
 * rejects it: PostgreSQL cannot store it), so the key is unambiguous, and a name of the default
 * project is its own key: open mode writes exactly what it wrote before projects existed.
 * upsertServices splits keys back into (project_id, name) before anything reaches SQL.
 */

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
