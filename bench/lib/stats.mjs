// Small statistics helpers.
export const median = (xs) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
export const round = (x, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));
/** a[k] / b[k] for each round k where both figures exist (rounds paired, seconds apart). */
export function pairedRatios(a, b) {
  const ratios = [];
  for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k] && b[k]) ratios.push(a[k] / b[k]);
  return ratios;
}
/** Median over the rounds where both figures exist of a[k] / b[k]. */
export const pairedRatio = (a, b) => median(pairedRatios(a, b));
/** The C figure of round k: the mean of the C runs on either side of it (refs[k], refs[k + 1]). */
export const cAround = (refs, k) => mean([refs[k], refs[k + 1]].filter((x) => x !== null && x !== undefined));
/** A record's C figure per round, from its `c_refs`. */
export const cPerRound = (rec) => rec.values.map((_, k) => cAround(rec.c_refs, k));
