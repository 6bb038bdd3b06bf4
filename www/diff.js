// A small word-level diff for showing near-duplicate texts side by side.
// No DOM here: the renderer turns the pieces into text nodes and <mark>s.

/** Most tokens compared per text; beyond, the rest counts as changed. */
export const MAX_TOKENS = 2000;

/** Words (letters, digits, underscore), single punctuation marks, and runs of white space. */
export function tokenize(text) {
  return String(text ?? '').match(/\s+|[\p{L}\p{M}\p{N}_]+|[^\s\p{L}\p{M}\p{N}_]/gu) ?? [];
}

const isSpace = (token) => /^\s+$/u.test(token);
// Any white space equals any other: a changed line break is not a difference.
const same = (x, y) => x === y || (isSpace(x) && isSpace(y));

/**
 * Diffs two texts word by word (longest common subsequence of tokens).
 * Returns {a, b}: each text as [{text, changed}] pieces in order, where
 * `changed` marks tokens not in the common subsequence (white space never).
 */
export function wordDiff(textA, textB) {
  const a = tokenize(textA);
  const b = tokenize(textB);
  const n = Math.min(a.length, MAX_TOKENS);
  const m = Math.min(b.length, MAX_TOKENS);
  // lcs[i * (m + 1) + j] = LCS length of a[i..n] and b[j..m].
  const width = m + 1;
  const lcs = new Uint16Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] = same(a[i], b[j]) ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  const keptA = new Array(a.length).fill(false);
  const keptB = new Array(b.length).fill(false);
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (same(a[i], b[j])) {
      keptA[i] = true;
      keptB[j] = true;
      i++;
      j++;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
      i++;
    } else {
      j++;
    }
  }
  const pieces = (tokens, kept) => {
    const out = [];
    tokens.forEach((token, k) => {
      const changed = !kept[k] && !isSpace(token);
      const last = out[out.length - 1];
      // Neighbouring pieces of one kind merge; a space between two changed words joins them.
      if (last && last.changed === changed) last.text += token;
      else if (last && last.changed && isSpace(token) && k + 1 < tokens.length && !kept[k + 1] && !isSpace(tokens[k + 1])) last.text += token;
      else out.push({ text: token, changed });
    });
    return out;
  };
  return { a: pieces(a, keptA), b: pieces(b, keptB) };
}
