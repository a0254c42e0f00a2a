/** One benchmark figure beside its reference measured in the same run. */
export interface Row {
  figure: string;
  tp: number;
  reference?: number;
  referenceName?: string;
  unit: string;
  /** True when larger is better (rates); false for latencies. */
  higherIsBetter: boolean;
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** Prints rows as one aligned table; the ratio is tp/reference for rates, reference/tp for latencies (>1 = tp wins). */
export function printTable(rows: Row[]): void {
  const cells = rows.map((r) => [
    r.figure,
    `${fmt(r.tp)} ${r.unit}`,
    r.reference === undefined ? '-' : `${fmt(r.reference)} ${r.unit} (${r.referenceName})`,
    r.reference === undefined ? '-' : `${(r.higherIsBetter ? r.tp / r.reference : r.reference / r.tp).toFixed(2)}x`,
  ]);
  const head = ['figure', 'tp', 'reference (same run)', 'ratio (>1: tp better)'];
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(w[i]!)).join(' | ');
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('-|-'));
  for (const c of cells) console.log(line(c));
}
