/**
 * The scalar results of a command's results.json, flattened to dotted names
 * ("result.final.effectiveRank"): the columns of cells.csv and the y values of collect's plots.
 */

/** Provenance fields every results.json carries: they describe the run, not its outcome. */
const PROVENANCE_KEYS = new Set(['command', 'version', 'backend', 'adapter', 'blas', 'node', 'createdAt', 'seed', 'config', 'seconds']);

/**
 * Numbers reached through objects. Arrays are series (logs, trajectories, spectra), not
 * scalars, and are left out; a one-element array (a one-cell sweep's rows) is read through as
 * its element so a sweep command used as a cell still yields its numbers. A null stands for a
 * non-finite value (results.json writes NaN and Infinity as null) and reads back as NaN.
 */
export function scalarResults(results: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) {
      if (v.length === 1) walk(v[0], path);
    } else if (typeof v === 'number') {
      out[path] = v;
    } else if (v === null) {
      if (path) out[path] = NaN;
    } else if (typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (path === '' && PROVENANCE_KEYS.has(k)) continue;
        walk(x, path ? `${path}.${k}` : k);
      }
    }
  };
  walk(results, '');
  return out;
}
