/** Seqs as runs of consecutive integers: what a mark records in events_published (sql/0024). */
export type PublishedRuns = {
  /** How many distinct seqs the runs hold. */
  readonly count: number;
  readonly firsts: readonly number[];
  readonly lasts: readonly number[];
};

/** The runs of consecutive integers in `seqs` (any order, duplicates counted once). */
export function publishedRuns(seqs: readonly number[]): PublishedRuns {
  const sorted = Float64Array.from(seqs).sort();
  const firsts: number[] = [];
  const lasts: number[] = [];
  let count = 0;
  let last = Number.NaN;
  for (const seq of sorted) {
    if (seq === last) continue;
    count += 1;
    if (seq === last + 1) lasts[lasts.length - 1] = seq;
    else {
      firsts.push(seq);
      lasts.push(seq);
    }
    last = seq;
  }
  return { count, firsts, lasts };
}
