/**
 * Every failure a user of the SDK can meet, as a coded message (LAT_ERR_SDK_<WHAT>). The SDK
 * never throws these into the host app: they are printed once through `warnOnce` and the SDK
 * carries on with a default. Messages say what was expected, what arrived, and what happens next.
 */

export const LAT_ERR_SDK_CONFIG = 'LAT_ERR_SDK_CONFIG';
export const LAT_ERR_SDK_EXPORT = 'LAT_ERR_SDK_EXPORT';
export const LAT_ERR_SDK_START = 'LAT_ERR_SDK_START';
export const LAT_ERR_SDK_SHUTDOWN = 'LAT_ERR_SDK_SHUTDOWN';

/** `OTEL_X should be <expected>, instead got '<value>'; using <fallback>` */
export function configError(variable: string, expected: string, value: string, fallback: string): string {
  return `${LAT_ERR_SDK_CONFIG}: ${variable} should be ${expected}, instead got '${value}'; using ${fallback}`;
}

export function exportError(kind: string, detail: string): string {
  return (
    `${LAT_ERR_SDK_EXPORT}: exporting telemetry failed (${kind}: ${detail}); ` +
    'check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector is reachable. ' +
    'Further failures of this kind are not printed.'
  );
}

export function startError(detail: string): string {
  return `${LAT_ERR_SDK_START}: the SDK could not start (${detail}); the app runs without telemetry`;
}

export function shutdownError(detail: string): string {
  return `${LAT_ERR_SDK_SHUTDOWN}: flushing telemetry on exit failed (${detail}); some data may be lost`;
}
