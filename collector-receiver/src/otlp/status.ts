/**
 * HTTP status → google.rpc.Code for the Status body of an error response, following how the
 * OpenTelemetry Collector's otlpreceiver maps them (errors.GetStatusFromError / status codes).
 */

/** google.rpc.Code values used here (google/rpc/code.proto). */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export function toRpcCode(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
    case 413:
    case 415:
      return RpcCode.INVALID_ARGUMENT;
    case 401:
      return RpcCode.UNAUTHENTICATED;
    case 403:
      return RpcCode.PERMISSION_DENIED;
    case 404:
      return RpcCode.NOT_FOUND;
    case 405:
      return RpcCode.UNIMPLEMENTED;
    case 429:
      return RpcCode.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
    case 504:
      return RpcCode.UNAVAILABLE;
    default:
      return httpStatus >= 400 && httpStatus < 500 ? RpcCode.INVALID_ARGUMENT : RpcCode.INTERNAL;
  }
}
