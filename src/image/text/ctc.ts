/**
 * Greedy CTC decoding: the best class per time step, repeats collapsed, blanks (class 0)
 * dropped; class i is dictionary entry i − 1. Confidence is the mean probability of the
 * emitted characters (0 when nothing was emitted).
 */
export interface Recognition {
  text: string;
  confidence: number;
}

export function decodeCtc(probs: Float32Array, offset: number, steps: number, classes: number, dictionary: readonly string[]): Recognition {
  let text = '';
  let sum = 0;
  let emitted = 0;
  let previous = 0;
  for (let t = 0; t < steps; t++) {
    const base = offset + t * classes;
    let best = 0;
    let bestP = probs[base];
    for (let k = 1; k < classes; k++) {
      const p = probs[base + k];
      if (p > bestP) {
        bestP = p;
        best = k;
      }
    }
    if (best !== 0 && best !== previous) {
      text += dictionary[best - 1] ?? '';
      sum += bestP;
      emitted++;
    }
    previous = best;
  }
  return { text, confidence: emitted > 0 ? sum / emitted : 0 };
}
