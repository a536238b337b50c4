/**
 * The health rule of /metrics/services (docs/api.md), pure:
 *   grey   — no data within the staleness limit (or never), or no requests in the window
 *   red    — error rate ≥ errorRed, or Apdex < apdexRed
 *   yellow — error rate ≥ errorYellow, or Apdex < apdexYellow
 *   green  — otherwise
 * The reason names the first rule that decided, with the numbers, e.g.
 * "error rate 6.0 % ≥ 5.0 %" or "Apdex 0.82 < 0.85".
 */
import type { ReceiverConfig } from '../config.js';

export type Health = 'green' | 'yellow' | 'red' | 'grey';

/** The health rule's settings, as the receiver config holds them (LATTICE_APDEX_T_MS, …). */
export type HealthSettings = Pick<ReceiverConfig,
  'apdexTMs' | 'staleAfterS' | 'healthErrorYellow' | 'healthErrorRed' | 'healthApdexYellow' | 'healthApdexRed'>;

export const DEFAULT_HEALTH_SETTINGS: HealthSettings = {
  apdexTMs: 500,
  staleAfterS: 120,
  healthErrorYellow: 0.01,
  healthErrorRed: 0.05,
  healthApdexYellow: 0.85,
  healthApdexRed: 0.7,
};

export interface HealthInput {
  nowMs: number;
  /** when the service last sent data, epoch ms; null = never */
  lastSeenMs: number | null;
  requestCount: number;
  errorRate: number | null;
  apdex: number | null;
}

export function healthOf(input: HealthInput, s: HealthSettings): { health: Health; healthReason: string } {
  if (input.lastSeenMs === null || input.nowMs - input.lastSeenMs > s.staleAfterS * 1000) {
    return { health: 'grey', healthReason: `no data in the last ${s.staleAfterS} s` };
  }
  if (input.requestCount === 0 || input.errorRate === null) {
    return { health: 'grey', healthReason: 'no requests in the window' };
  }
  const errorRate = input.errorRate;
  const apdex = input.apdex;
  if (errorRate >= s.healthErrorRed) return { health: 'red', healthReason: `error rate ${pct(errorRate)} ≥ ${pct(s.healthErrorRed)}` };
  if (apdex !== null && apdex < s.healthApdexRed) return { health: 'red', healthReason: `Apdex ${apdex.toFixed(2)} < ${s.healthApdexRed}` };
  if (errorRate >= s.healthErrorYellow) return { health: 'yellow', healthReason: `error rate ${pct(errorRate)} ≥ ${pct(s.healthErrorYellow)}` };
  if (apdex !== null && apdex < s.healthApdexYellow) return { health: 'yellow', healthReason: `Apdex ${apdex.toFixed(2)} < ${s.healthApdexYellow}` };
  return { health: 'green', healthReason: `error rate ${pct(errorRate)}, Apdex ${apdex === null ? 'n/a' : apdex.toFixed(2)}` };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}
