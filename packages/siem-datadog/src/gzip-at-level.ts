import { gzip } from "node:zlib";

/**
 * Gzips a request body at `level` on libuv's thread pool, off the event loop
 * (core's `gzipBody` uses zlib's default level, 6).
 */
export function gzipAtLevel(body: Uint8Array, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gzip(body, { level }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}
