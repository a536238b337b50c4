/**
 * The one reader of a `--name value` / `--name=value` option, shared by the CLI's argument parsers
 * (args.ts for `routes`, keys-args.ts for `keys`), which check the name and raise their own errors.
 */
export interface OptionAt {
  /** `--name`, without any `=value` */
  name: string;
  /** undefined when nothing follows or the next argument is another option */
  value: string | undefined;
  /** index of the last argument this option used (i, or i + 1 when the value was separate) */
  last: number;
}

/** Reads the option at argv[i] (which starts with `--`). Pure. */
export function readOptionAt(argv: readonly string[], i: number): OptionAt {
  const arg = argv[i]!;
  const eq = arg.indexOf('=');
  if (eq > 0) return { name: arg.slice(0, eq), value: arg.slice(eq + 1), last: i };
  const next = argv[i + 1];
  if (next === undefined || next.startsWith('--')) return { name: arg, value: undefined, last: i };
  return { name: arg, value: next, last: i + 1 };
}
