/**
 * Docker's label filters (`--filter label=KEY[=VALUE]`), shared by the
 * container list and prune.
 * @module
 */

/**
 * Whether `labels` match a filter expression: `KEY` (the label is set) or
 * `KEY=VALUE` (set to exactly that value; the value may contain `=`).
 *
 * @example
 * ```ts
 * matchesLabel({ app: "web" }, "app"); // true
 * matchesLabel({ app: "web" }, "app=db"); // false
 * ```
 */
export function matchesLabel(labels: Record<string, string>, expr: string): boolean {
  const eq = expr.indexOf("=");
  const key = eq < 0 ? expr : expr.slice(0, eq);
  if (!Object.hasOwn(labels, key)) return false;
  return eq < 0 || labels[key] === expr.slice(eq + 1);
}
