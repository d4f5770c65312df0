"""Build the tagged datasets from faker's locale tables (https://github.com/joke2k/faker, MIT licence):

    src/makemore/resources/locales.tsv     first names by language, 16 tags in 9 scripts (the bundled tagged default)
    benchmarks/data/genders.tsv            first names by gender within four locales (the tags' benchmark)

Each is TAG<TAB>ITEM lines: a locale's first names in the order faker lists them, repeats within
a tag dropped. Rebuild with `pip install faker && python scripts/locales.py`; the files record
the faker version they came from in LOCALES-NOTICE.txt.

    python scripts/locales.py [--check]     --check: fail if the files differ from what it would write
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALES = {     # tag: faker locale (Latin, Cyrillic, Greek, Devanagari, Thai, Han, Hangul, Arabic scripts)
    "en": "en_US", "de": "de_DE", "fr": "fr_FR", "it": "it_IT", "es": "es_ES", "pl": "pl_PL", "tr": "tr_TR",
    "ru": "ru_RU", "uk": "uk_UA", "el": "el_GR", "hi": "hi_IN", "th": "th_TH", "ja": "ja_JP", "zh": "zh_CN",
    "ko": "ko_KR", "ar": "ar_AA",
}
GENDER_LOCALES = ("en_US", "de_DE", "es_ES", "ru_RU")
OUT = ROOT / "src" / "makemore" / "resources" / "locales.tsv"
GENDERS = ROOT / "benchmarks" / "data" / "genders.tsv"
NOTICE = ROOT / "src" / "makemore" / "resources" / "LOCALES-NOTICE.txt"


def names(locale: str, kind: str = "first_names") -> list[str]:
    """A locale's first names (or first_names_male / _female), as faker lists them, repeats dropped."""
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    return list(dict.fromkeys(n.strip() for n in getattr(provider, kind) if n.strip()))


def lines(pairs) -> str:
    return "".join(f"{tag}\t{name}\n" for tag, group in pairs for name in group)


def build() -> dict[Path, str]:
    import faker
    locales = lines((tag, names(loc)) for tag, loc in LOCALES.items())
    genders = lines((f"{loc[:2]}-{g}", names(loc, f"first_names_{g}"))
                    for loc in GENDER_LOCALES for g in ("male", "female"))
    notice = (
        "locales.tsv: first names by language, TAG<TAB>NAME, built by scripts/locales.py from the person\n"
        f"providers of faker {faker.VERSION} (https://github.com/joke2k/faker), locales "
        f"{', '.join(f'{t}={loc}' for t, loc in LOCALES.items())}.\n\n"
        "faker is released under the MIT licence:\n\n"
        "Copyright (c) 2012 Daniele Faraglia\n\n"
        "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and\n"
        "associated documentation files (the \"Software\"), to deal in the Software without restriction,\n"
        "including without limitation the rights to use, copy, modify, merge, publish, distribute,\n"
        "sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is\n"
        "furnished to do so, subject to the following conditions:\n\n"
        "The above copyright notice and this permission notice shall be included in all copies or\n"
        "substantial portions of the Software.\n\n"
        "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT\n"
        "NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND\n"
        "NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES\n"
        "OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN\n"
        "CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n")
    return {OUT: locales, GENDERS: genders, NOTICE: notice}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="fail if the files differ from what would be written")
    a = p.parse_args(argv)
    stale = []
    for path, text in build().items():
        if a.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"{path.relative_to(ROOT)}: {text.count(chr(10)):,} lines")
    if stale:
        print("out of date: " + ", ".join(str(p.relative_to(ROOT)) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
