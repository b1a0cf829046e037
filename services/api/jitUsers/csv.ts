/**
 * CSV rendering of the JIT user list (RFC 4180). Cells that a spreadsheet would run as a formula
 * are prefixed with a quote so an exported list cannot carry a formula injection.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string | boolean | undefined): string {
  let text = value === undefined ? '' : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLines(header: readonly string[], rows: readonly (readonly (string | boolean | undefined)[])[]): string {
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
