"""What normalisation costs (prints figures; not a test): each segmenter's first call and per call, and
prepare() + one turn's keyword scan per language.

- first call: a fresh Python process that has imported understanding.normalize (not counted) segments
  one sentence: the segmenter's import and model/dictionary loading plus the call (PyThaiNLP newmm,
  LaoNLP, khmer-nltk's CRF model, the Burmese regex; OpenCC's dictionaries for Chinese);
- per call: the mean over distinct visitor sentences in a warm process;
- turn scan: prepare() of a new question (cache cleared) and matches() against every keyword of that
  language's replies file plus the English ones, as the keyword router does each turn.

Run: .venv/bin/python bench/bench_normalize.py [--rounds 200]   (about 15 s)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / 'caexpo_assistant' / 'src')]

SENTENCES = {
    'th': ['ห้องน้ำอยู่ที่ไหนครับ', 'ขอรหัสไวไฟหน่อยค่ะ', 'ฉันกำลังหาผู้ส่งออกทุเรียนจากมาเลเซีย',
           'พรุ่งนี้มีกิจกรรมอะไรบ้าง', 'ที่ชาร์จแบตอยู่ตรงไหนครับ', 'อยากนัดคุยกับหัวเว่ยบ่ายสองโมงครึ่ง'],
    'lo': ['ຫ້ອງນ້ຳຢູ່ໃສ', 'ຂ້ອຍກຳລັງຊອກຫາຜູ້ສົ່ງອອກທຸລຽນ', 'ມື້ອື່ນມີກິດຈະກຳຫຍັງແດ່',
           'ບ່ອນສາກແບັດຢູ່ໃສ', 'ຂ້ອຍເຮັດເຄື່ອງເສຍ', 'ຂ້ອຍຢາກນັດພົບບໍລິສັດກາເຟ'],
    'km': ['បន្ទប់ទឹកនៅឯណា', 'ខ្ញុំបាត់របស់', 'ខ្ញុំចង់ទៅបាត់ដំបង', 'ខ្ញុំកំពុងរកអ្នកនាំចេញធូរេន',
           'ថ្ងៃស្អែកមានកម្មវិធីអ្វីខ្លះ', 'តើមានវ៉ាយហ្វាយទេ'],
    'my': ['အိမ်သာ ဘယ်မှာလဲ', 'ဒူးရင်း တင်ပို့သူတွေကို ရှာနေပါတယ်', 'မနက်ဖြန် ဘာပွဲတွေ ရှိလဲ',
           'ဖုန်းအားသွင်းလို့ရတဲ့နေရာ ဘယ်မှာလဲ', 'ကော်ဖီကုမ္ပဏီနဲ့ တွေ့ချင်ပါတယ်', 'ခန်းမ ၅ ဘယ်မှာလဲ'],
    'zh': ['人工智慧展區在哪裡', '我想找榴槤供應商', '網路安全公司有哪些', '明天有什麼活動',
           '洗手間在哪', '下午兩點半可以跟華為見面嗎'],
}
SEGMENTED = ('th', 'lo', 'km', 'my')

FIRST_CALL = '''
import json, sys, time
sys.path[:0] = {paths!r}
from caexpo_assistant.understanding import normalize as n
script, text = {script!r}, {text!r}
t = time.perf_counter()
if script == 'zh':
    n.normalize_text(text)
else:
    n.segmenter(script)(text)
print(json.dumps(time.perf_counter() - t))
'''


def first_call(script: str) -> float:
    code = FIRST_CALL.format(paths=sys.path[:2], script=script, text=SENTENCES[script][0])
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def per_call(fn, texts: list[str], rounds: int) -> float:
    fn(texts[0])
    t = time.perf_counter()
    for i in range(rounds):
        fn(texts[i % len(texts)])
    return (time.perf_counter() - t) / rounds


def keywords(language: str) -> list[str]:
    import yaml
    folder = REPO / 'caexpo_assistant' / 'src' / 'caexpo_assistant' / 'data' / 'replies'
    terms = []
    for lang in {language, 'en'}:
        data = yaml.safe_load((folder / f'{lang}.yaml').read_text(encoding='utf-8'))
        terms += [t for group in data.get('keywords', {}).values() for t in group]
    return terms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=200)
    args = parser.parse_args()
    from caexpo_assistant.understanding import normalize as n

    print(f'{"script":8} {"first call ms":>14} {"per call ms":>12} {"turn scan ms":>13} {"terms":>6}')
    for script in ('th', 'lo', 'km', 'my', 'zh'):
        cold = first_call(script)
        texts = SENTENCES[script]
        if script in SEGMENTED:
            warm = per_call(n.segmenter(script), texts, args.rounds)
        else:
            warm = per_call(n.normalize_text, texts, args.rounds)
        terms = keywords(script)

        def scan(text: str, terms=terms, script=script) -> None:
            n.prepare.cache_clear()
            p = n.prepare(text, script)
            for term in terms:
                n.matches(p, term)
        turn = per_call(scan, texts, max(20, args.rounds // 4))
        print(f'{script:8} {cold * 1e3:14.1f} {warm * 1e3:12.3f} {turn * 1e3:13.3f} {len(terms):6d}')
    latin = ['nha ve sinh o dau vay', 'cho toi hoi cong ty ca phe o dau', 'tìm nhà cung cấp sầu riêng Malaysia',
             'đặt hẹn với Huawei lúc 2 giờ rưỡi chiều mai']
    terms = keywords('vi')

    def scan_vi(text: str) -> None:
        n.prepare.cache_clear()
        p = n.prepare(text, 'vi')
        for term in terms:
            n.matches(p, term)
    print(f'{"vi":8} {"-":>14} {per_call(lambda t: n.prepare.__wrapped__(t, "vi"), latin, args.rounds) * 1e3:12.3f} '
          f'{per_call(scan_vi, latin, max(20, args.rounds // 4)) * 1e3:13.3f} {len(terms):6d}')
    names = ['huawei', 'alibaba cloud', 'musang king', 'iflytek', 'qianxin', 'kampot pepper', 'chanthaburi']
    fuzzy = per_call(lambda t: [n.fuzzy_contains(n.prepare(t, 'en'), x) for x in names],
                     ['where is huawai booth', 'alibaba clould please', 'musang kng durian supplier'], args.rounds)
    print(f'fuzzy_contains: {fuzzy / len(names) * 1e3:.3f} ms per name (prepared text cached)')
    print('vi per call = prepare() uncached (NFC, casefold, fold); zh per call = normalize_text (OpenCC tw2sp)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
