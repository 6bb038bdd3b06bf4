#!/usr/bin/env python3
"""Generates src/semantic/tokenizer/tables.rs: the character tables of the
BERT uncased tokenizer (all-MiniLM-L6-v2), taken from the reference
implementation itself.

    scripts/make_tokenizer_tables.py            write the tables
    scripts/make_tokenizer_tables.py --check    exit 1 when the file differs

Needs the PyPI package `tokenizers` (HuggingFace), the tokenizer that
sentence-transformers runs. Why probe it instead of reading the Unicode
database: `tokenizers` classifies characters with tables of older Unicode
versions than Python's or Rust's, and some of its categories are not what
their names say. Found by this script's probes (tokenizers 0.23.3):

- "control" (removed by clean_text) is C* without Cn, of an old version:
  characters assigned since then are kept, not removed;
- the accent filter ("non-spacing marks", Mn) is of an old version: newer
  marks (U+07FD, U+08D3..) are kept;
- its punctuation table is older (newer P* characters are not split; U+111C9
  and U+166D, punctuation then, still are);
- its NFD table is of another version again (U+11938 does not decompose,
  U+08D5 has its combining class but is no mark for the accent filter);
- its CJK ranges skip U+2B820..U+2B91F (a typo in its source).

Token ids must equal that tokenizer's, so every code point goes through
`BertNormalizer(clean_text, handle_chinese_chars, strip_accents=None,
lowercase=True)` (as the package's tokenizer.json configures it), `NFD` and
`BertPreTokenizer`, in batches, and the tables record what they did.

How the Rust side uses them (mirrored by `model_normalise` below, which is
checked against the reference on random strings): the normaliser is
clean_text, CJK spacing, NFD, dropping marks, lower-casing, in that order,
over the whole string. All of it works one character at a time except
NFD's canonical reordering; reordering only matters for the few characters
that survive the accent filter with a non-zero combining class (musical
symbols U+1D165.., newer marks): those are class `Reorder`, whose NFD
elements (with combining classes) REORDER gives, and the Rust side sorts
them into place. Every other character's effect is: a class, and for the
mapped classes the text MAP gives (NFD, marks dropped, lower-cased).
"""

import argparse
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "src", "semantic", "tokenizer", "tables.rs")

# Character classes, in this order (the Rust enum follows it).
CLASSES = [
    ("Other", "Kept as is, part of a word (combining class 0)."),
    ("Control", "Removed by clean_text, before NFD (control and format characters, U+0000, U+FFFD)."),
    ("Whitespace", "Ends a word (clean_text maps it to a space)."),
    ("Mark", "Removed after NFD (all of its decomposition is marks), none of combining class 0."),
    ("MarkStarter", "Removed after NFD, with an element of combining class 0: ends a reordering run."),
    ("Punctuation", "A word of its own (BERT punctuation)."),
    ("MappedPunctuation", "Replaced by the one punctuation character MAP gives, a word of its own."),
    ("Chinese", "A CJK ideograph: a word of its own."),
    ("MappedChinese", "A CJK compatibility ideograph: a word of its own, replaced by MAP's character."),
    ("Hangul", "A precomposed Hangul syllable: replaced by its conjoining jamo (NFD), part of a word."),
    ("Mapped", "Replaced by MAP's text (NFD, marks removed, lower-cased; all combining class 0), part of a word."),
    ("Reorder", "Keeps an element of non-zero combining class: REORDER gives its NFD elements."),
]
CLASS_INDEX = {name: i for i, (name, _) in enumerate(CLASSES)}
WORD_BREAKS = {"Whitespace", "Punctuation", "MappedPunctuation", "Chinese", "MappedChinese"}

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
SEPARATOR = "|"  # kept as is by every normaliser here, produced by no decomposition (checked)
# Marks of known combining classes, old enough for every table (checked).
LOW_MARK, HIGH_MARK = "\u0334", "\u0315"  # classes 1 and 232


def hangul_nfd(cp):
    s = cp - HANGUL_FIRST
    lead, vowel, tail = 0x1100 + s // 588, 0x1161 + (s % 588) // 28, 0x11A7 + s % 28
    return chr(lead) + chr(vowel) + (chr(tail) if tail != 0x11A7 else "")


def batched(normaliser, texts, size=20000):
    """normaliser(text) for every text, a batch at a time (texts hold no SEPARATOR)."""
    out = []
    for at in range(0, len(texts), size):
        chunk = texts[at:at + size]
        parts = normaliser.normalize_str(SEPARATOR.join(chunk)).split(SEPARATOR)
        assert len(parts) == len(chunk), "the separator appeared in a normalised text"
        out.extend(parts)
    return out


def per_char(normaliser, cps):
    plain = [cp for cp in cps if chr(cp) != SEPARATOR]
    out = dict(zip(plain, batched(normaliser, [chr(cp) for cp in plain])))
    out[ord(SEPARATOR)] = normaliser.normalize_str(SEPARATOR)
    return out


def batched_punctuation(pre_tokenizer, cps, size=20000):
    """Whether BertPreTokenizer isolates each character (raw, no normaliser)."""
    out = {}
    for at in range(0, len(cps), size):
        chunk = cps[at:at + size]
        text = "".join("a" + chr(cp) + "a " for cp in chunk)
        pieces = {(start, end): piece for piece, (start, end) in pre_tokenizer.pre_tokenize_str(text)}
        for i, cp in enumerate(chunk):
            at_char = 4 * i + 1
            out[cp] = pieces.get((at_char, at_char + 1)) == chr(cp) and (4 * i, 4 * i + 1) in pieces
    return out


class Reference:
    """What the reference does with every code point."""

    def __init__(self):
        import unicodedata
        from tokenizers import normalizers, pre_tokenizers

        self.bert = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
        )
        clean_only = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False
        )
        self.nfd_normaliser = normalizers.NFD()
        cps = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
        self.cps = cps
        self.normalised = per_char(self.bert, cps)
        self.cleaned = per_char(clean_only, cps)
        self.nfd = per_char(self.nfd_normaliser, cps)
        self.punctuation = batched_punctuation(pre_tokenizers.BertPreTokenizer(), cps)

        # Combining classes as the reference's NFD sees them, for the
        # characters NFD leaves alone (every decomposition's elements).
        stable = [cp for cp in cps if self.nfd[cp] == chr(cp) and chr(cp) != SEPARATOR]
        after_low = batched(self.nfd_normaliser, ["a" + chr(cp) + LOW_MARK for cp in stable])
        before_high = batched(self.nfd_normaliser, ["a" + HIGH_MARK + chr(cp) for cp in stable])
        self.nonzero = {}
        for cp, low, high in zip(stable, after_low, before_high):
            c = chr(cp)
            self.nonzero[cp] = low != "a" + c + LOW_MARK or high != "a" + HIGH_MARK + c
        self.nonzero[ord(SEPARATOR)] = False
        # Marks of each combining class value, to pin the exact class of
        # the few characters that need it (those kept after the filter).
        self.marks_by_class = {}
        for cp in range(0x300, 0x1E000):
            k = unicodedata.combining(chr(cp))
            if k and k not in self.marks_by_class and self.nfd[cp] == chr(cp) and self.nonzero.get(cp):
                self.marks_by_class[k] = chr(cp)
        self.combining_cache = {}

    def combining_class(self, cp):
        """The reference's combining class of a character NFD leaves alone."""
        if not self.nonzero[cp]:
            return 0
        if cp not in self.combining_cache:
            c = chr(cp)
            below = [k for k, m in self.marks_by_class.items()
                     if self.nfd_normaliser.normalize_str("a" + m + c) == "a" + m + c]
            self.combining_cache[cp] = max(below)
        return self.combining_cache[cp]


def classify(ref):
    """(classes, mapped text, reorder elements) for every code point."""
    classes, mapped, reorder = {}, {}, {}
    for cp in ref.cps:
        c = chr(cp)
        n = ref.normalised[cp]
        elements = [ord(e) for e in ref.nfd[cp]]
        kept = [e for e in elements if ref.normalised[e] != ""]
        if n == "":
            if ref.cleaned[cp] == "":
                classes[cp] = "Control"
            else:
                starter = any(not ref.nonzero[e] for e in elements)
                classes[cp] = "MarkStarter" if starter else "Mark"
        elif n == " ":
            assert ref.cleaned[cp] == " "
            classes[cp] = "Whitespace"
        elif len(n) >= 3 and n[0] == " " and n[-1] == " ":
            inner = n[1:-1]
            assert len(inner) == 1 and not ref.punctuation[ord(inner)], hex(cp)
            assert not ref.nonzero[ord(inner)]
            if inner == c:
                classes[cp] = "Chinese"
            else:
                classes[cp] = "MappedChinese"
                mapped[cp] = inner
        elif HANGUL_FIRST <= cp <= HANGUL_LAST:
            assert n == hangul_nfd(cp), hex(cp)
            assert not any(ref.punctuation[ord(x)] or ref.nonzero[ord(x)] for x in n)
            classes[cp] = "Hangul"
        elif any(ref.nonzero[e] for e in kept):
            classes[cp] = "Reorder"
            items = []
            for e in elements:
                if ref.normalised[e] != "":
                    out = ref.normalised[e]
                    assert len(out) == 1 and not ref.punctuation[ord(out)], hex(cp)
                    items.append((ord(out), ref.combining_class(e)))
                elif not ref.nonzero[e]:
                    items.append((0, 0))  # a removed starter: ends the run
            reorder[cp] = items
        elif n == c:
            assert not ref.nonzero[cp]
            classes[cp] = "Punctuation" if ref.punctuation[cp] else "Other"
        else:
            assert " " not in n, hex(cp)
            assert kept and n == "".join(ref.normalised[e] for e in kept), hex(cp)
            if any(ref.punctuation[ord(x)] for x in n):
                assert len(n) == 1, f"{cp:x}: punctuation inside a longer mapping {n!r}"
                classes[cp] = "MappedPunctuation"
            else:
                classes[cp] = "Mapped"
            mapped[cp] = n

    # What a mapping produces is final: the Rust side does not classify it again.
    for cp, text in mapped.items():
        for x in text:
            assert ref.normalised[ord(x)] in (x, " " + x + " "), f"{cp:x} -> {text!r}: {x!r} is not final"
            assert not ref.nonzero[ord(x)]
    # ASCII: the Rust side lower-cases A-Z itself.
    for cp in range(128):
        if 65 <= cp <= 90:
            assert classes[cp] == "Mapped" and mapped[cp] == chr(cp + 32)
        else:
            assert classes[cp] in ("Other", "Control", "Whitespace", "Punctuation"), cp
    return classes, mapped, reorder


def model_normalise(text, classes, mapped, reorder):
    """The Rust normaliser's algorithm, on the generated data, as a string
    comparable with BertNormalizer's output (spaces for word breaks)."""
    out = []
    run = []  # (position in out, combining class) of the kept non-starters since the last starter

    def insert(ch, ccc):
        at = len(out)
        for pos, k in reversed(run):
            if k > ccc:
                at = pos
            else:
                break
        out.insert(at, ch)
        for i, (pos, k) in enumerate(run):
            if pos >= at:
                run[i] = (pos + 1, k)
        run.append((at, ccc))
        run.sort()

    for c in text:
        cp = ord(c)
        cls = classes[cp]
        if cls in ("Control", "Mark"):
            continue
        if cls == "Reorder":
            for ch, ccc in reorder[cp]:
                if ccc == 0:
                    run.clear()
                    if ch:
                        out.append(chr(ch))
                else:
                    insert(chr(ch), ccc)
            continue
        run.clear()
        if cls == "MarkStarter":
            continue
        if cls == "Whitespace":
            out.append(" ")
        elif cls == "Chinese":
            out.append(" " + c + " ")
        elif cls == "MappedChinese":
            out.append(" " + mapped[cp] + " ")
        elif cls in ("Mapped", "MappedPunctuation"):
            out.append(mapped[cp])
        elif cls == "Hangul":
            out.append(hangul_nfd(cp))
        else:
            out.append(c)
    return "".join(out)


def check_model(ref, classes, mapped, reorder):
    """The algorithm above equals the reference on every character and on
    random strings rich in marks, reordering characters and CJK."""
    bad = [cp for cp in ref.cps if model_normalise(chr(cp), classes, mapped, reorder) != ref.normalised[cp]]
    assert not bad, [hex(cp) for cp in bad[:20]]
    rng = random.Random(9)
    by_class = {}
    for cp, cls in classes.items():
        if chr(cp) != SEPARATOR:
            by_class.setdefault(cls, []).append(cp)
    pools = [by_class["Reorder"], by_class["Mark"], by_class["MarkStarter"], by_class["Control"][:5000],
             by_class["Mapped"], by_class["Other"][:100000], by_class["Punctuation"], by_class["Whitespace"],
             by_class["Chinese"][:1000], by_class["MappedChinese"], by_class["Hangul"][:500]]
    weights = [6, 6, 2, 1, 3, 3, 1, 1, 1, 1, 1]
    texts = []
    for _ in range(100000):
        picks = [rng.choice(rng.choices(pools, weights)[0]) for _ in range(rng.randint(1, 14))]
        texts.append("".join(chr(cp) for cp in picks))
    got = batched(ref.bert, texts, size=5000)
    for text, normalised in zip(texts, got):
        expected = model_normalise(text, classes, mapped, reorder)
        assert normalised == expected, f"{[hex(ord(x)) for x in text]}: {normalised!r} != {expected!r}"


def ranges_of(classes):
    """(first code point, class) wherever the class changes, from U+0080."""
    out = []
    previous = None
    for cp in range(0x80, 0x110000):
        cls = previous if 0xD800 <= cp <= 0xDFFF else classes[cp]  # no surrogate is ever a char
        if cls != previous:
            out.append((cp, cls))
            previous = cls
    return out


def rust_str(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= cp < 0x7F:
            out.append(ch)
        else:
            out.append("\\u{%x}" % cp)
    return "".join(out)


def render(version, classes, mapped, reorder):
    lines = []
    w = lines.append
    w("// Generated by scripts/make_tokenizer_tables.py from the PyPI package")
    w(f"// `tokenizers` {version} (BertNormalizer, NFD, BertPreTokenizer). Do not edit.")
    w("")
    w("/// The version of `tokenizers` these tables were probed from.")
    w(f'pub(super) const REFERENCE_VERSION: &str = "{version}";')
    w("")
    w("/// What the normaliser does with one character of the input.")
    w("#[derive(Debug, Clone, Copy, PartialEq, Eq)]")
    w("#[repr(u8)]")
    w("pub(super) enum Class {")
    for name, doc in CLASSES:
        w(f"    /// {doc}")
        w(f"    {name} = {CLASS_INDEX[name]},")
    w("}")
    w("")
    w("impl Class {")
    w("    /// The class numbered `n` (as RANGES stores it).")
    w("    pub(super) const fn from_u8(n: u8) -> Class {")
    w("        match n {")
    for name, _ in CLASSES[1:]:
        w(f"            {CLASS_INDEX[name]} => Class::{name},")
    w("            _ => Class::Other,")
    w("        }")
    w("    }")
    w("}")
    w("")
    w("/// Class of each ASCII character (A-Z: Mapped, to a-z).")
    w("pub(super) static ASCII: [Class; 128] = [")
    for row in range(0, 128, 4):
        w("    " + " ".join(f"Class::{classes[cp]}," for cp in range(row, row + 4)))
    w("];")
    w("")
    ranges = ranges_of(classes)
    w("/// Classes of the code points from U+0080 on: `first << 8 | class`, sorted;")
    w("/// each holds up to the next entry's first code point.")
    w(f"pub(super) static RANGES: [u32; {len(ranges)}] = [")
    for at in range(0, len(ranges), 8):
        w("    " + " ".join(f"0x{cp << 8 | CLASS_INDEX[cls]:x}," for cp, cls in ranges[at:at + 8]))
    w("];")
    w("")
    keys = sorted(cp for cp in mapped if cp >= 0x80)
    text = ""
    values = []
    positions = {}
    for cp in keys:
        out = mapped[cp]
        if out not in positions:
            found = text.find(out)
            positions[out] = len(text[:found].encode("utf-8")) if found >= 0 else len(text.encode("utf-8"))
            if found < 0:
                text += out
        values.append(positions[out] << 8 | len(out.encode("utf-8")))
    assert len(text.encode("utf-8")) < 1 << 24
    w("/// Code points (from U+0080) of the Mapped, MappedPunctuation and")
    w("/// MappedChinese classes, sorted; MAP_VALUES holds their replacements.")
    w(f"pub(super) static MAP_KEYS: [u32; {len(keys)}] = [")
    for at in range(0, len(keys), 10):
        w("    " + " ".join(f"0x{cp:x}," for cp in keys[at:at + 10]))
    w("];")
    w("")
    w("/// `offset << 8 | length` (bytes) of each key's replacement in MAP_TEXT.")
    w(f"pub(super) static MAP_VALUES: [u32; {len(values)}] = [")
    for at in range(0, len(values), 10):
        w("    " + " ".join(f"0x{v:x}," for v in values[at:at + 10]))
    w("];")
    w("")
    w("/// The replacements, concatenated (shared where one is part of another).")
    w("pub(super) static MAP_TEXT: &str = concat!(")
    chunk = ""
    for ch in text:
        chunk += ch
        if len(chunk) >= 16:
            w(f'    "{rust_str(chunk)}",')
            chunk = ""
    if chunk:
        w(f'    "{rust_str(chunk)}",')
    w(");")
    w("")
    rkeys = sorted(reorder)
    elements = []
    spans = []
    for cp in rkeys:
        spans.append(len(elements) << 8 | len(reorder[cp]))
        elements.extend(reorder[cp])
    w("/// Code points of the Reorder class, sorted; REORDER_SPANS holds their elements.")
    w(f"pub(super) static REORDER_KEYS: [u32; {len(rkeys)}] = [")
    for at in range(0, len(rkeys), 10):
        w("    " + " ".join(f"0x{cp:x}," for cp in rkeys[at:at + 10]))
    w("];")
    w("")
    w("/// `first << 8 | count` of each key's elements in REORDER_ELEMENTS.")
    w(f"pub(super) static REORDER_SPANS: [u32; {len(spans)}] = [")
    for at in range(0, len(spans), 10):
        w("    " + " ".join(f"0x{v:x}," for v in spans[at:at + 10]))
    w("];")
    w("")
    w("/// NFD elements in order, `char << 8 | combining class`, the char already")
    w("/// lower-cased; 0 is a removed element of class 0 (it ends a reordering run).")
    w("/// Removed elements of other classes are left out: they change nothing.")
    w(f"pub(super) static REORDER_ELEMENTS: [u32; {len(elements)}] = [")
    for at in range(0, len(elements), 8):
        w("    " + " ".join(f"0x{ch << 8 | k:x}," for ch, k in elements[at:at + 8]))
    w("];")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the file is up to date")
    args = parser.parse_args()

    import tokenizers

    ref = Reference()
    classes, mapped, reorder = classify(ref)
    check_model(ref, classes, mapped, reorder)
    text = render(tokenizers.__version__, classes, mapped, reorder)
    if args.check:
        with open(OUTPUT, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{OUTPUT} is out of date: run scripts/make_tokenizer_tables.py", file=sys.stderr)
                sys.exit(1)
        print("tables up to date", file=sys.stderr)
        return
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)
    counts = {}
    for cls in classes.values():
        counts[cls] = counts.get(cls, 0) + 1
    print(f"wrote {OUTPUT}: {counts}, {len(mapped)} mappings, {len(reorder)} reordering", file=sys.stderr)


if __name__ == "__main__":
    main()
