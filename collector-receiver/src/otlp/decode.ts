/**
 * Bytes ⇄ OTLP messages, for both encodings. Requests decode into the shared wire shapes of
 * internal-types.ts (protobuf via the generated protobufjs code, JSON via JSON.parse), so one
 * translation serves both. Responses and errors are encoded in the request's own encoding.
 */
import { errors } from '../errors.js';
import type { Rejection } from '../translate/rows.js';
// Generated code lives outside src/ (tsc has no allowJs); dist/ mirrors src/ depth, so this
// relative path resolves from src/ under vitest and from dist/ at run time alike.
import { google, opentelemetry } from '../../generated/otlp.js';
import type { IExportMetricsServiceRequest, IExportTraceServiceRequest } from './internal-types.js';

export type OtlpEncoding = 'protobuf' | 'json';

const proto = opentelemetry.proto;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function parseJsonObject(body: Buffer, messageName: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw errors.LAT_ERR_OTLP_BAD_JSON(messageName, errorText(error));
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw errors.LAT_ERR_OTLP_BAD_JSON(messageName, parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed);
  }
  return parsed as Record<string, unknown>;
}

/** An empty body is an empty request (no resources). */
export function decodeTraceRequest(body: Buffer, encoding: OtlpEncoding): IExportTraceServiceRequest {
  if (body.length === 0) return {};
  if (encoding === 'json') return parseJsonObject(body, 'ExportTraceServiceRequest') as IExportTraceServiceRequest;
  try {
    return proto.ExportTraceServiceRequest.decode(body);
  } catch (error) {
    throw errors.LAT_ERR_OTLP_BAD_PROTOBUF('ExportTraceServiceRequest', errorText(error));
  }
}

export function decodeMetricsRequest(body: Buffer, encoding: OtlpEncoding): IExportMetricsServiceRequest {
  if (body.length === 0) return {};
  if (encoding === 'json') return parseJsonObject(body, 'ExportMetricsServiceRequest') as IExportMetricsServiceRequest;
  try {
    return proto.ExportMetricsServiceRequest.decode(body);
  } catch (error) {
    throw errors.LAT_ERR_OTLP_BAD_PROTOBUF('ExportMetricsServiceRequest', errorText(error));
  }
}

/** ExportTraceServiceResponse: empty on full success, partial_success when anything was rejected. */
export function encodeTraceResponse(rejection: Rejection, encoding: OtlpEncoding): Buffer | string {
  const partial = rejection.rejected > 0;
  if (encoding === 'json') {
    // proto3 JSON mapping: int64 as a decimal string.
    return partial
      ? JSON.stringify({ partialSuccess: { rejectedSpans: String(rejection.rejected), errorMessage: rejection.message } })
      : '{}';
  }
  const message = partial
    ? { partialSuccess: { rejectedSpans: rejection.rejected, errorMessage: rejection.message } }
    : {};
  return Buffer.from(proto.ExportTraceServiceResponse.encode(message).finish());
}

/** ExportMetricsServiceResponse: empty on full success, partial_success when anything was rejected. */
export function encodeMetricsResponse(rejection: Rejection, encoding: OtlpEncoding): Buffer | string {
  const partial = rejection.rejected > 0;
  if (encoding === 'json') {
    return partial
      ? JSON.stringify({ partialSuccess: { rejectedDataPoints: String(rejection.rejected), errorMessage: rejection.message } })
      : '{}';
  }
  const message = partial
    ? { partialSuccess: { rejectedDataPoints: rejection.rejected, errorMessage: rejection.message } }
    : {};
  return Buffer.from(proto.ExportMetricsServiceResponse.encode(message).finish());
}

/** google.rpc.Status, the OTLP/HTTP error body. `code` is a google.rpc.Code. */
export function encodeStatus(code: number, message: string, encoding: OtlpEncoding): Buffer | string {
  if (encoding === 'json') return JSON.stringify({ code, message });
  return Buffer.from(google.rpc.Status.encode({ code, message }).finish());
}

/** Decodes a google.rpc.Status (tests and clients). */
export function decodeStatus(body: Uint8Array): { code: number; message: string } {
  const status = google.rpc.Status.decode(body);
  return { code: status.code, message: status.message };
}

/** Decodes the responses (tests and clients). */
export function decodeTraceResponse(body: Uint8Array): { rejectedSpans: number; errorMessage: string } | null {
  const partial = proto.ExportTraceServiceResponse.decode(body).partialSuccess;
  if (!partial) return null;
  return { rejectedSpans: Number(partial.rejectedSpans ?? 0), errorMessage: partial.errorMessage ?? '' };
}

export function decodeMetricsResponse(body: Uint8Array): { rejectedDataPoints: number; errorMessage: string } | null {
  const partial = proto.ExportMetricsServiceResponse.decode(body).partialSuccess;
  if (!partial) return null;
  return { rejectedDataPoints: Number(partial.rejectedDataPoints ?? 0), errorMessage: partial.errorMessage ?? '' };
}
