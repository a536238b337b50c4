/**
 * Content type and content encoding of an OTLP/HTTP request, and the decompression cap.
 * The compressed size is capped by Fastify's bodyLimit (config.maxBodyBytes) while reading;
 * the decompressed size here (config.maxDecompressedBytes), so a small gzip bomb is refused
 * without inflating more than the cap.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { errors } from '../errors.js';
import type { OtlpEncoding } from './decode.js';

export const PROTOBUF_CONTENT_TYPE = 'application/x-protobuf';
export const JSON_CONTENT_TYPE = 'application/json';
export const SUPPORTED_CONTENT_TYPES: readonly string[] = [PROTOBUF_CONTENT_TYPE, JSON_CONTENT_TYPE];

const gunzipAsync = promisify(gunzip);

/** The encoding a Content-Type names (parameters such as charset allowed), or undefined. */
export function toEncoding(contentType: string | undefined): OtlpEncoding | undefined {
  if (contentType === undefined) return undefined;
  const semicolon = contentType.indexOf(';');
  const essence = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (essence === PROTOBUF_CONTENT_TYPE) return 'protobuf';
  if (essence === JSON_CONTENT_TYPE) return 'json';
  return undefined;
}

export type ContentEncoding = 'gzip' | 'identity';

/** gzip or identity (absent = identity), or undefined for anything else. */
export function toContentEncoding(header: string | undefined): ContentEncoding | undefined {
  if (header === undefined) return 'identity';
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  return undefined;
}

/** The body as the encoder wrote it; throws LAT_ERR_OTLP_DECOMPRESSED_TOO_LARGE / _BAD_GZIP. */
export async function decompressBody(body: Buffer, encoding: ContentEncoding, maxDecompressedBytes: number): Promise<Buffer> {
  if (encoding === 'identity') {
    if (body.length > maxDecompressedBytes) throw errors.LAT_ERR_OTLP_DECOMPRESSED_TOO_LARGE(maxDecompressedBytes);
    return body;
  }
  if (body.length === 0) return body;
  try {
    // maxOutputLength stops inflating at the cap instead of after the whole bomb is in memory.
    return await gunzipAsync(body, { maxOutputLength: maxDecompressedBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw errors.LAT_ERR_OTLP_DECOMPRESSED_TOO_LARGE(maxDecompressedBytes);
    }
    throw errors.LAT_ERR_OTLP_BAD_GZIP(error instanceof Error ? error.message : String(error));
  }
}
