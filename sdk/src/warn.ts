/**
 * The SDK's only way to talk to the host app's operator: one line on stderr, prefixed
 * `[lattice]`, carrying a coded message from `errors.ts`. Each code+detail is printed once per
 * process so a dead collector cannot flood the app's logs.
 */

const printed = new Set<string>();

/** Print `[lattice] <message>` once per `key` (defaults to the message itself). */
export function warnOnce(message: string, key: string = message): void {
  if (printed.has(key)) return;
  printed.add(key);
  try {
    console.warn(`[lattice] ${message}`);
  } catch {
    // A closed stderr must not take the app down.
  }
}

/** For tests: forget what has been printed. */
export function resetWarnings(): void {
  printed.clear();
}
