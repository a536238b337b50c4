/**
 * The maintenance loop: every ~30 s, rollups (1m → 5m → 1h) then retention, by ONE replica at a
 * time. Each pass is one transaction that first tries the maintenance advisory lock
 * (pg_try_advisory_xact_lock): a replica that does not get it skips the pass at once instead of
 * queueing behind the one working. The lock and the work end with the transaction.
 */
import type { Db } from '../db.js';
import type { ReceiverConfig } from '../../config.js';
import { rollUp, type RollupRunResult } from './rollups.js';
import { applyRetention, type RetentionDays, type RetentionResult } from './retention.js';

/**
 * The maintenance lock: (arbitrary constant naming "Lattice maintenance", the schema). Advisory
 * locks are per database; the schema part lets deployments (and tests) in other schemas of the
 * same database maintain their own tables at the same time.
 */
export const MAINTENANCE_LOCK_ARGS = '721643120, hashtext(current_schema())';
export const MAINTENANCE_INTERVAL_MS = 30_000;

/** The receiver settings maintenance reads (LATTICE_RETENTION_*_DAYS). */
export type MaintenanceSettings = Pick<ReceiverConfig, 'retentionRawDays' | 'retention1mDays' | 'retention5mDays' | 'retention1hDays'>;

export function retentionDaysOf(settings: MaintenanceSettings): RetentionDays {
  return { raw: settings.retentionRawDays, rollup1m: settings.retention1mDays, rollup5m: settings.retention5mDays, rollup1h: settings.retention1hDays };
}

export type MaintenanceResult =
  | { ran: false }
  | { ran: true; rollups: RollupRunResult; retention: RetentionResult | null };

export interface MaintenanceRunOptions {
  /** "now", epoch ms (tests) */
  nowMs?: number;
  /** Skip retention (rollups only). */
  rollupsOnly?: boolean;
}

/** One maintenance pass; `{ ran: false }` when another replica holds the lock. */
export async function runMaintenance(db: Db, settings: MaintenanceSettings, options: MaintenanceRunOptions = {}): Promise<MaintenanceResult> {
  const nowMs = options.nowMs ?? Date.now();
  return db.transaction(async (tx) => {
    const lock = await tx.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${MAINTENANCE_LOCK_ARGS}) AS ok`);
    if (!lock.rows[0]!.ok) return { ran: false } as const;
    const rollups = await rollUp(tx, { nowMs });
    const retention = options.rollupsOnly ? null : await applyRetention(tx, retentionDaysOf(settings), nowMs);
    return { ran: true, rollups, retention } as const;
  });
}

export interface MaintenanceHandle {
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

/**
 * Runs a pass now and then every `intervalMs`; the timer is unref()ed (it never keeps the process
 * alive) and passes never overlap. Failures go to onError (default: a process warning) and the
 * loop carries on.
 */
export function startMaintenance(db: Db, settings: MaintenanceSettings, options: {
  intervalMs?: number;
  onError?: (err: unknown) => void;
  onPass?: (result: MaintenanceResult) => void;
} = {}): MaintenanceHandle {
  const intervalMs = options.intervalMs ?? MAINTENANCE_INTERVAL_MS;
  const onError = options.onError ?? ((err: unknown) => {
    process.emitWarning(`maintenance pass failed: ${err instanceof Error ? err.message : String(err)}`, { code: 'LATTICE_MAINTENANCE' });
  });
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const pass = async () => {
    try {
      const result = await runMaintenance(db, settings);
      options.onPass?.(result);
    } catch (err) {
      if (!stopped) onError(err);
    }
  };
  const tick = () => {
    if (stopped) return;
    running = pass().finally(() => {
      running = undefined;
      if (!stopped) {
        timer = setTimeout(tick, intervalMs);
        timer.unref();
      }
    });
  };
  timer = setTimeout(tick, 0);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
