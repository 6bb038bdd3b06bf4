#!/usr/bin/env python3
"""Writes tests/fixtures/semantic/reference.jsonl.gz: reference embeddings of
all-MiniLM-L6-v2 for tests/semantic_cpu.rs (and the GPU tests).

    /work/scratch/venv-ref/bin/python scripts/make_semantic_reference.py [--model DIR]

Needs torch and sentence-transformers (any venv with them) and the model
folder that scripts/fetch-model extracts (.cache/models/all-MiniLM-L6-v2).
Deterministic: the same sentences in the same order every run (a seeded
generator), embedded by SentenceTransformer(DIR) on the CPU in fp32.

One JSON object a line: {"text", "ids" (the model's own tokenizer,
[CLS]/[SEP] included, truncated at 256 tokens as sentence-transformers
does), "embedding" (384 floats, L2-normalised, rounded to 6 decimals)}.

It also measures what the model file's storage costs: the same sentences
embedded with every weight rounded to fp16 (what www/models/*.pfm holds),
and with the word embeddings in int8 with one scale per row, against fp32:
the minimum cosine over the fixture. Written to reference.meta.json beside
the fixture with the library versions.
"""

import argparse
import gzip
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "semantic")
MAX_TOKENS = 256

SHORT = [
    "The delivery arrived two days late and the box was damaged.",
    "My package came late and the box was crushed.",
    "How do I reset my password?",
    "I forgot my password, how can I change it?",
    "The battery drains in less than three hours.",
    "Great product, would buy again!",
    "Terrible customer service, nobody answered my emails.",
    "Can I get a refund for an unopened item?",
    "The app crashes every time I open the camera.",
    "Please cancel my subscription effective immediately.",
    "A man is playing a guitar on stage.",
    "Someone performs music with a guitar in front of an audience.",
    "The cat sat on the mat.",
    "Stock markets fell sharply after the interest rate announcement.",
    "Photosynthesis converts light energy into chemical energy.",
    "Preheat the oven to 180 degrees and grease a baking tin.",
    "Translate the following sentence into French.",
    "Write a haiku about autumn leaves.",
    "What is the capital of Australia?",
    "Canberra is the capital of Australia.",
    "The quick brown fox jumps over the lazy dog.",
    "BUY CHEAP WATCHES NOW!!! CLICK HERE!!!",
    "Congratulations, you have won a free cruise, reply YES to claim.",
    "The mitochondria is the powerhouse of the cell.",
    "I'm not sure this is the right department for my question.",
    "hello",
    "a",
    "?",
    "...",
    "",
    "   leading and trailing spaces   ",
    "Tabs\tand\nnewlines\r\nin one text",
    "ALL CAPS SENTENCE ABOUT THE WEATHER TODAY",
    "mIxEd CaSe TeXt WiTh StRaNgE cApItAlIzAtIoN",
    "Don't, won't, can't, shouldn't've: contractions everywhere.",
    "e-mail, re-enter, state-of-the-art, well-known",
    "The U.S.A. and the U.K. signed the agreement on Jan. 5th.",
    "Dr. Smith's clinic opens at 9:30 a.m. on weekdays.",
    "unbelievably antidisestablishmentarianism supercalifragilisticexpialidocious",
    "qwertyuiop asdfghjkl zxcvbnm",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!!!?????......,,,,,;;;;;",
]

INTERNATIONAL = [
    "Café, naïve, résumé, façade, coöperate, jalapeño.",
    "Le service client était très aimable et rapide.",
    "Où est la gare la plus proche, s'il vous plaît ?",
    "Die Lieferung kam pünktlich, aber die Größe passt nicht.",
    "Straße, Mädchen, Übermut, Ärger, Öl.",
    "¿Dónde está el baño? Necesito ayuda, por favor.",
    "El niño comió mañana una piña en Peñíscola.",
    "A apresentação foi excelente, parabéns à equipe!",
    "Tiếng Việt có nhiều dấu thanh: à á ả ã ạ.",
    "Ελληνικά: Καλημέρα, πώς είσαι;",
    "Русский текст: Привет, как дела? Всё хорошо.",
    "Українська мова: Доброго ранку, друзі!",
    "العربية: مرحبا، كيف حالك اليوم؟",
    "עברית: שלום, מה שלומך?",
    "हिन्दी: नमस्ते, आप कैसे हैं?",
    "ภาษาไทย: สวัสดีครับ ยินดีที่ได้รู้จัก",
    "中文：今天天气很好，我们去公园散步吧。",
    "我的包裹还没有到，请帮我查一下物流信息。",
    "日本語：今日はいい天気ですね。散歩に行きましょう。",
    "カタカナとひらがなと漢字が混ざった文章です。",
    "한국어: 안녕하세요, 만나서 반갑습니다.",
    "Mixed 中文 and English in one sentence with 日本語 too.",
    "Åland, Ørsted, Łódź, Ćevapi, Ștefan, Ťažký, Ğüzel.",
    "ﬁnancial ﬂow with ligatures ﬀ and full-width ＡＢＣ１２３",
    "Zero\u200bwidth\u200bspaces and a soft\u00adhyphen",
    "Combining accents: e\u0301 a\u0300 o\u0308 n\u0303",
    "Control chars: \u0007bell \u001bescape \u007fdel",
]

EMOJI_AND_SYMBOLS = [
    "I love this! 😍😍😍",
    "Shipping was slow 🐢 but the product is great 👍",
    "🔥🔥🔥 best deal ever 💯",
    "Family: 👨\u200d👩\u200d👧\u200d👦 and flags 🇫🇷🇯🇵",
    "Math: ∑ x² ≤ ∞, π ≈ 3.14159, √2, ∀ε>0 ∃δ",
    "Currency: €10, £5, ¥1000, ₹250, $9.99, ₿0.01",
    "Arrows → ← ↑ ↓ and boxes ■ □ ● ○ ★ ☆",
    "©2024 Example Corp™ — all rights reserved®",
    "«quotes» „German“ ‘single’ “double” 「Japanese」",
]

CODE = [
    "def add(a, b):\n    return a + b",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "SELECT name, COUNT(*) FROM users WHERE age > 30 GROUP BY name ORDER BY 2 DESC;",
    '{"id": 42, "tags": ["a", "b"], "active": true, "score": 0.97}',
    "<div class=\"card\"><a href=\"/home\">Home</a></div>",
    "git commit -m 'fix: handle empty input' && git push origin main",
    "fn main() { println!(\"Hello, world!\"); }",
    "import numpy as np; x = np.linspace(0, 1, 100); y = np.sin(2 * np.pi * x)",
    "const f = async (url) => (await fetch(url)).json();",
    "https://example.com/path/to/page?query=semantic+search&lang=en#section-2",
    "Contact us at support@example.com or +1 (555) 123-4567.",
    "C:\\Users\\Admin\\Documents\\report_final_v2.docx",
    "/usr/local/bin/python3 -m pip install --upgrade pip",
    "Error: ENOENT: no such file or directory, open '/tmp/data.csv'",
]

NUMBERS = [
    "Order #123456 was shipped on 2024-03-15 at 14:32:07 UTC.",
    "The invoice total is 1,234,567.89 USD including 20% VAT.",
    "Call 0800 123 456 between 08:00 and 18:00.",
    "3.14159265358979323846264338327950288419716939937510",
    "Version 2.10.3-rc1 fixes CVE-2023-12345.",
    "Temperatures ranged from -12.5°C to 38.7°C in 2023.",
    "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
    "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX",
    "The ratio was 3:2, the odds 1 in 1,000,000, the score 98.6%.",
    "0xDEADBEEF 0b101010 1e-9 6.022e23",
]

SUBJECTS = ["The customer", "Our team", "My neighbour", "The new manager", "A student", "The support agent",
            "The delivery driver", "This laptop", "The hotel", "The restaurant", "The airline", "The doctor"]
VERBS = ["reported", "complained about", "praised", "asked about", "could not find", "was surprised by",
         "wrote a long review of", "forgot about", "recommended", "returned"]
OBJECTS = ["the late delivery", "a broken screen", "the friendly staff", "the refund policy", "the noisy room",
           "the missing invoice", "a cheaper alternative", "the user manual", "the battery life",
           "the weekend opening hours", "the spicy noodles", "the cancelled flight"]
TAILS = ["", " yesterday.", " again this morning.", " in an email to the company.", ", which was unexpected.",
         " and asked for a discount.", " before the meeting started.", "!", "?"]

PARAGRAPH = (
    "Data quality problems are often invisible until a model trained on the data behaves strangely. "
    "Duplicated rows inflate the apparent size of a dataset and leak between training and test splits. "
    "Mislabelled examples teach the model the wrong lesson, and outliers can dominate the loss. "
    "Personal information such as e-mail addresses and phone numbers must not leave the organisation. "
    "Checking a file before training or uploading it saves time and protects privacy. "
)


def sentences():
    rng = random.Random(9)
    texts = SHORT + INTERNATIONAL + EMOJI_AND_SYMBOLS + CODE + NUMBERS
    # Templated sentences: plausible support/review text of varied length.
    for _ in range(110):
        text = "%s %s %s%s" % (rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(TAILS))
        if rng.random() < 0.3:
            text += " " + "%s %s %s." % (rng.choice(SUBJECTS).lower(), rng.choice(VERBS), rng.choice(OBJECTS))
        texts.append(text)
    # Medium texts: several templated sentences.
    for _ in range(25):
        parts = ["%s %s %s." % (rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS))
                 for _ in range(rng.randint(3, 9))]
        texts.append(" ".join(parts))
    # Long texts, past 256 tokens (truncated), some far past.
    for i in range(12):
        repeats = 3 + i
        text = PARAGRAPH * repeats
        if i % 3 == 1:
            text = rng.choice(INTERNATIONAL) + " " + text
        if i % 3 == 2:
            text = " ".join(rng.sample(CODE, 4)) + " " + text
        texts.append(text)
    # Exactly around the limit: a text of about 254..258 word tokens.
    words = ["data", "quality", "check", "row", "label", "model", "file", "column"]
    for n in (250, 253, 254, 255, 256, 300):
        texts.append(" ".join(words[j % len(words)] for j in range(n)))
    # Long CJK text (one token a character).
    texts.append("数据质量检查在训练模型之前非常重要。" * 20)
    seen = set()
    unique = []
    for t in texts:
        if t not in seen:
            seen.add(t)
            unique.append(t)
    return unique


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=os.path.join(ROOT, ".cache", "models", "all-MiniLM-L6-v2"),
                        help="the extracted model folder (default: %(default)s)")
    parser.add_argument("--out", default=OUT_DIR)
    args = parser.parse_args()
    try:
        import numpy as np
        import sentence_transformers
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        sys.exit("make_semantic_reference: %s (use a venv with torch and sentence-transformers)" % e)
    if not os.path.isdir(args.model):
        sys.exit("make_semantic_reference: no model folder %s: run scripts/fetch-model" % args.model)

    torch.manual_seed(0)
    model = SentenceTransformer(args.model, device="cpu")
    model.eval()
    if model.max_seq_length != MAX_TOKENS:
        sys.exit("max_seq_length is %d, expected %d" % (model.max_seq_length, MAX_TOKENS))
    texts = sentences()
    ids = [model.tokenizer(t, truncation=True, max_length=MAX_TOKENS)["input_ids"] for t in texts]

    def embed(m):
        with torch.no_grad():
            return m.encode(texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=False).astype(np.float64)

    reference = embed(model)
    norms = np.linalg.norm(reference, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5), "embeddings are not normalised"

    # Storage cost: fp16 weights (the model file) and int8 word embeddings.
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if v.dtype == torch.float32:
                v.copy_(v.half().float())
    fp16 = embed(model)
    word_key = [k for k in model.state_dict() if k.endswith("word_embeddings.weight")][0]
    with torch.no_grad():
        w = model.state_dict()[word_key]
        scale = (w.abs().amax(dim=1, keepdim=True) / 127.0).half().float()  # one fp16 scale a row
        w.copy_(torch.round(w / scale).clamp(-127, 127) * scale)
    int8 = embed(model)
    model.load_state_dict(state)

    def min_cos(x):
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        cos = (x * reference).sum(axis=1)
        return float(cos.min()), int(cos.argmin())

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "reference.jsonl.gz")
    # mtime=0 and a fixed file name: the same bytes every run.
    with open(path, "wb") as raw, gzip.GzipFile(filename="reference.jsonl", mode="wb", fileobj=raw, mtime=0,
                                                compresslevel=9) as f:
        for text, tokens, vector in zip(texts, ids, reference):
            row = {"text": text, "ids": tokens, "embedding": [round(float(v), 6) for v in vector]}
            f.write((json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
    fp16_cos, fp16_at = min_cos(fp16)
    int8_cos, int8_at = min_cos(int8)
    meta = {
        "sentences": len(texts),
        "truncated": sum(1 for t in texts if len(model.tokenizer(t)["input_ids"]) > MAX_TOKENS),
        "max_tokens": MAX_TOKENS,
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "min_cosine_fp16_weights_vs_fp32": round(fp16_cos, 7),
        "min_cosine_int8_word_embeddings_vs_fp32": round(int8_cos, 7),
    }
    with open(os.path.join(args.out, "reference.meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print("wrote %s: %d sentences (%d truncated at %d tokens), %.0f KB" % (
        os.path.relpath(path, ROOT), len(texts), meta["truncated"], MAX_TOKENS, os.path.getsize(path) / 1024))
    print("fp16 weights vs fp32: min cosine %.7f (sentence %d: %r)" % (fp16_cos, fp16_at, texts[fp16_at][:60]))
    print("int8 word embeddings (+ fp16 elsewhere) vs fp32: min cosine %.7f (sentence %d: %r)" % (
        int8_cos, int8_at, texts[int8_at][:60]))


if __name__ == "__main__":
    main()
