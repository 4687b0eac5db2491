"""Synthetic patient records for sample_data/records (called by generate.py).

A newborn register (GB18030 CSV) and a student list (UTF-8 with BOM CSV), the leaks the
project was born from; a Chinese discharge note; and, for the English patient of the
DICOM samples (same MRN, so deid links them), visit lines (JSONL), an ADT message
(HL7 v2) and a FHIR Bundle. Every value comes from faker with a fixed seed.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sys
from pathlib import Path

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when deid is not installed
from deid.text.validate import resident_id_check_digit  # noqa: E402


def resident_id(rng: random.Random, born: str) -> str:
    body = f"{rng.choice(['110101', '310104', '440305', '510107'])}{born}{rng.randint(0, 999):03d}"
    return body + resident_id_check_digit(body)


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def _labelled(values: list[str]) -> dict[str, str]:
    return {f"planted[{i}]": v for i, v in enumerate(values)}


def generate_records(out: Path, p1: dict, p2: dict, seed: int) -> dict:
    """Write sample_data/records/*; return manifest entries (planted values per file)."""
    zh, en, rng = Faker("zh_CN"), Faker("en_US"), random.Random(seed)
    zh.seed_instance(seed)
    en.seed_instance(seed)
    folder = out / "records"
    folder.mkdir(parents=True, exist_ok=True)
    files: dict = {}

    # newborn register: baby, birth date, sex, parents, phone, address (GB18030)
    rows = [
        [
            "住院号",
            "新生儿姓名",
            "性别",
            "出生日期",
            "母亲姓名",
            "母亲身份证号",
            "父亲姓名",
            "联系电话",
            "家庭住址",
            "备注",
        ]
    ]
    planted: list[str] = []
    for i in range(6):
        mother, father, baby = zh.name_female(), zh.name_male(), zh.name()
        mid = resident_id(rng, zh.date_of_birth(minimum_age=22, maximum_age=40).strftime("%Y%m%d"))
        phone, addr = zh.phone_number(), zh.address().split(" ")[0]
        mrn = p2["id"] if i == 0 else zh.bothify("ZY########")
        note = f"母亲{mother}产后恢复良好，新生儿轻度黄疸，家属电话{phone[:3]} {phone[3:7]} {phone[7:]}"
        rows.append(
            [
                mrn,
                baby,
                rng.choice("男女"),
                zh.date_between("-60d", "today").isoformat(),
                mother,
                mid,
                father,
                phone,
                addr,
                note,
            ]
        )
        planted += [mrn, baby, mother, father, mid, phone, addr]
    (folder / "newborn_register.csv").write_bytes(_csv(rows).encode("gb18030"))
    files["records/newborn_register.csv"] = {"charset": "GB18030", "expect": "ok", "identifiers": _labelled(planted)}

    # student list: name, school and class, parent, phone, address (UTF-8 with BOM, as Excel writes it)
    rows = [["学号", "学生姓名", "学校", "班级", "家长姓名", "家长电话", "家庭住址"]]
    planted = []
    for _ in range(6):
        sid, name, parent = zh.bothify("S2024####"), zh.name(), zh.name()
        school = f"{zh.city_name()}市第{rng.randint(1, 30)}中学"
        phone, addr = zh.phone_number(), zh.address().split(" ")[0]
        rows.append([sid, name, school, f"{'一二三'[rng.randrange(3)]}年级{rng.randint(1, 9)}班", parent, phone, addr])
        planted += [sid, name, school, parent, phone, addr]
    (folder / "student_list.csv").write_bytes(_csv(rows).encode("utf-8-sig"))
    files["records/student_list.csv"] = {"charset": "UTF-8 (BOM)", "expect": "ok", "identifiers": _labelled(planted)}

    # Chinese discharge note for the Chinese DICOM patient
    hanzi = p2["hanzi"]
    doctor = zh.name()
    phone = zh.phone_number()
    note = (
        f"出院记录\n患者{hanzi}，男，住院号：{p2['id']}，身份证号{p2['other_id']}。\n"
        f"于{p2['mr_date_cn']}因头痛入院，行头颅MR平扫，排除新疆出血热及川崎病。\n"
        f"{hanzi}今日出院，家属电话{phone}，主治医师：{doctor}。\n"
    )
    (folder / "discharge_note_zh.txt").write_text(note, "utf-8")
    files["records/discharge_note_zh.txt"] = {
        "charset": "UTF-8",
        "expect": "ok",
        "identifiers": _labelled([hanzi, p2["id"], p2["other_id"], phone, doctor]),
    }

    # the English DICOM patient: visits (JSONL), an ADT message (HL7 v2), a FHIR Bundle
    family, given, mrn = p1["family"], p1["given"], p1["id"]
    phone = f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
    email = en.email()
    street = en.street_address()
    visits = [
        {
            "mrn": mrn,
            "patient": {"name": f"{given} {family}", "dob": p1["birth_iso"]},
            "visit_date": "2023-02-14",
            "note": f"{given} {family} seen for cough; call {phone}.",
        },
        {
            "mrn": mrn,
            "patient": {"name": f"{given} {family}", "dob": p1["birth_iso"]},
            "visit_date": "2023-03-01",
            "note": f"Follow-up, 93 y/o. Email {email}. Parkinson's disease stable.",
        },
    ]
    (folder / "visits.jsonl").write_text("".join(json.dumps(v) + "\n" for v in visits), "utf-8")
    hl7 = (
        f"MSH|^~\\&|HIS|HOSP|DEID|RESEARCH|20230214093000||ADT^A01|MSG0001|P|2.5\r"
        f"PID|1||{mrn}^^^HOSP^MR||{family.upper()}^{given.upper()}||{p1['birth']}|{p1['sex']}|||"
        f"{street}^^Springfield^IL^62701||{phone}\r"
        f"NK1|1|{en.last_name().upper()}^{en.first_name().upper()}|SON\r"
        f"NTE|1||Patient {given} {family} called from {phone} about results.\r"
    )
    (folder / "adt_a01.hl7").write_bytes(hl7.encode("utf-8"))
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "pat-1",
                    "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": mrn}],
                    "name": [{"family": family, "given": [given]}],
                    "telecom": [{"system": "phone", "value": phone}, {"system": "email", "value": email}],
                    "gender": "female" if p1["sex"] == "F" else "male",
                    "birthDate": p1["birth_iso"],
                    "address": [{"line": [street], "city": "Springfield", "state": "IL", "postalCode": "62701"}],
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "obs-1",
                    "status": "final",
                    "subject": {"reference": "Patient/pat-1"},
                    "effectiveDateTime": "2023-02-14",
                    "valueString": f"Chest X-ray reviewed with {given} {family}.",
                }
            },
        ],
    }
    (folder / "patient_bundle.json").write_text(json.dumps(bundle, indent=2) + "\n", "utf-8")
    for name in ("visits.jsonl", "adt_a01.hl7", "patient_bundle.json"):
        files[f"records/{name}"] = {
            "charset": "UTF-8",
            "expect": "ok",
            "identifiers": _labelled([family, given, mrn, phone, email, street]),
        }
    return files
