"""The de-identification effect assessment (去标识化效果评估), in Chinese and English,
structured after GB/T 42460-2023: scope and data, identifiers and how they were handled,
quasi-identifiers and their treatment, quantitative results, residual risk, conclusion and
grade with its reasoning. Fed only by the audit log (deid/risk/facts.py: counts, rule ids)
and the measures (counts and shares): it cannot show a value because it is never given one.

The grade is deid's reading, said as such in the document: the standard grades the effect
by the re-identification risk that remains; the thresholds here (k at or above the target,
l of at least 2 for declared sensitive fields) are the pipeline's and deid's, not quoted
from the standard. Fail closed: never grade 3 while a file is unmeasured (a record file
not read, a table that did not parse), rows are persons unknown, or the log shows files
quarantined or in error; never above 1 when output files are not among the digests the
audit log recorded (the log of another output, or files changed since). Anonymisation (匿名化, PIPL art. 73: cannot identify and cannot be
restored) is never claimed: keyed pseudonyms can be re-linked by whoever holds the key.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from ..policy.risk import RiskPolicy
from .facts import AuditFacts, latest_release
from .hierarchies import HIERARCHIES
from .measures import Measures

DEFAULT_TARGET = 5  # the k a release is graded against when neither --k nor risk.k says


@dataclass
class Table:
    head: tuple[str, ...]
    rows: list[tuple[object, ...]]


@dataclass
class Section:
    zh: str
    en: str
    blocks: list[tuple[str, str] | Table] = field(default_factory=list)  # (zh, en) paragraphs and tables

    def say(self, zh: str, en: str) -> None:
        self.blocks.append((zh, en))


def build(
    m: Measures, policy: RiskPolicy, facts: AuditFacts | None, target: int | None, unrecorded: int = 0
) -> list[Section]:
    """unrecorded: output files whose SHA-256 is none of the audit log's output digests."""
    t = target or policy.k or DEFAULT_TARGET
    release = latest_release(facts)
    return [
        _scope(m, facts),
        _identifiers(facts),
        _quasi(m, policy, facts, release),
        _results(m, t),
        _residual(m, facts),
        _conclusion(m, facts, t, target is None and policy.k is None, unrecorded),
    ]


def _scope(m: Measures, facts: AuditFacts | None) -> Section:
    s = Section("1 评估范围与数据描述", "Scope and data description")
    s.say(
        "评估对象为一次去标识化处理输出的数据集（记录表与 DICOM 头信息）。本报告只由审计日志和统计度量生成，不含任何标识值。",
        "The object assessed is the output of a de-identification run (record tables and DICOM headers). "
        "This document is generated from the audit log and the measures only; it holds no identifying value.",
    )
    rows: list[tuple[object, ...]] = [
        ("记录（行/文件） / records (rows, files)", m.records),
        ("个人 / persons", m.persons),
        ("准标识符 / quasi-identifiers", len(m.quasi)),
        ("未度量的文件 / files not measured", m.unread),
    ]
    if facts is not None:
        rows += [
            ("处理运行 / runs", len(facts.runs)),
            ("写出文件 / files written", facts.files.get("write", 0)),
            (
                "隔离或出错文件 / files quarantined or in error",
                facts.files.get("quarantine", 0) + facts.files.get("error", 0),
            ),
            ("审计链完整 / audit chain intact", "是 / yes" if facts.chain_ok else "否 / NO"),
        ]
        rows += [
            (f"管道 / pipeline ({i + 1})", f"{r.get('pipeline')} · policy {str(r.get('policy_hash') or '')[:12]}")
            for i, r in enumerate(facts.runs[-3:])
        ]
    s.blocks.append(Table(("项目 / item", "数量 / count"), rows))
    return s


def _identifiers(facts: AuditFacts | None) -> Section:
    s = Section("2 标识符及其处理", "Identifiers and how they were handled")
    if facts is None:
        s.say(
            "未提供审计日志：无法说明直接标识符如何处理。",
            "No audit log given: how direct identifiers were handled cannot be said.",
        )
        return s
    s.say(
        "下表按审计日志统计每类数据项的处理动作（删除、假名化、日期偏移、泛化、标记等），每一行都有规则编号与键控指纹可查。",
        "Per category, the actions the audit log records (remove, pseudonym, date shift, generalise, tag...), "
        "each traceable to a rule id and a keyed fingerprint.",
    )
    s.blocks.append(
        Table(("类别 / category", "动作 / action", "事件 / events"), [(c, a, n) for c, a, n in facts.handled])
    )
    return s


def _quasi(m: Measures, policy: RiskPolicy, facts: AuditFacts | None, release: dict | None) -> Section:
    s = Section("3 准标识符及其处理", "Quasi-identifiers and their treatment")
    levels = (release or {}).get("levels") or {}
    cells: dict[str, int] = {}
    suppressed_events = 0
    for action, rule, n in facts.risk_rules if facts is not None else []:
        parts = rule.split(":")
        if action == "generalize" and len(parts) >= 3:
            cells[parts[2]] = cells.get(parts[2], 0) + n
        elif action == "suppress":
            suppressed_events += n
    rows: list[tuple[object, ...]] = []
    for q in policy.quasi:
        h = HIERARCHIES[q.hierarchy]
        lv = levels.get(q.name)
        rows.append((q.name, h.about, "—" if lv is None else f"{lv}/{h.height}", cells.get(q.name, 0)))
    s.blocks.append(
        Table(("准标识符 / quasi-identifier", "层级 / hierarchy", "所选层级 / level", "泛化单元 / cells"), rows)
    )
    if release:
        s.say(
            f"为达到 k={release.get('target')}，采用全域泛化并抑制剩余小等价类：抑制 {release.get('suppressed_persons', 0)} 人"
            f"（{release.get('suppressed_share', 0):.2%}），信息损失 {release.get('loss', 0):.4f}（Sweeney 精确度损失，含抑制）。",
            f"To reach k={release.get('target')}, full-domain generalisation with suppression of the classes still "
            f"below k: {release.get('suppressed_persons', 0)} persons suppressed ({release.get('suppressed_share', 0):.2%}), "
            f"information loss {release.get('loss', 0):.4f} (Sweeney's precision, suppression included).",
        )
    else:
        s.say(
            "审计日志中没有发布级泛化（risk.k 未设置）。", "The audit log shows no release pass (risk.k was not set)."
        )
    return s


def _results(m: Measures, target: int) -> Section:
    s = Section("4 定量评估结果", "Quantitative results")
    basis = "声明的总体 / declared population" if m.population else "发布数据本身 / the release itself"
    rows: list[tuple[object, ...]] = [
        ("k-匿名 / k-anonymity", m.k),
        ("等价类 / equivalence classes", m.classes),
        (f"低于 k={target} 的个人 / persons in classes below k={target}", m.below_persons),
        (f"低于 k={target} 的记录 / records in classes below k={target}", m.below_records),
        ("样本唯一比例 / sample uniqueness", f"{m.uniques:.4f}"),
        ("检察官风险 最高 / prosecutor risk, highest", f"{m.prosecutor_max:.4f}"),
        ("检察官风险 平均 / prosecutor risk, average", f"{m.prosecutor_avg:.4f}"),
        ("记者风险 最高 / journalist risk, highest", f"{m.journalist_max:.4f}"),
        ("记者风险 平均 / journalist risk, average", f"{m.journalist_avg:.4f}"),
        ("营销者风险 / marketer risk", f"{m.marketer:.4f}"),
        ("记者/营销者风险依据 / journalist and marketer basis", basis),
    ]
    rows += [(f"l-多样性 / l-diversity ({name})", lv) for name, lv in m.l_diversity.items()]
    s.blocks.append(Table(("度量 / measure", "值 / value"), rows))
    s.say("等价类大小分布（只有计数，没有取值）：", "Class sizes (counts only, never values):")
    s.blocks.append(Table(("类大小 / class size", "等价类 / classes", "个人 / persons"), list(m.histogram())))
    return s


def _residual(m: Measures, facts: AuditFacts | None) -> Section:
    s = Section("5 残余风险", "Residual risk")
    s.say(
        f"最高重标识概率（检察官模型）为 1/k = {m.prosecutor_max:.4f}；平均为 {m.prosecutor_avg:.4f}。",
        f"The highest re-identification probability (prosecutor model) is 1/k = {m.prosecutor_max:.4f}; "
        f"the average is {m.prosecutor_avg:.4f}.",
    )
    s.say(
        "假名由密钥派生：持有密钥（及可能存在的重标识库）者可以重新关联，数据仍属去标识化的个人信息，而非匿名化信息。",
        "Pseudonyms are derived from a secret key: whoever holds the key (and any re-identification vault) "
        "can re-link them, so the data remain de-identified personal information, not anonymised information.",
    )
    s.say(
        f"未纳入度量：{m.unread} 个无法读取为表格或 DICOM 的文件；自由文本与影像像素中的内容；DICOM 头只被度量，不被泛化。",
        f"Not in the measures: {m.unread} files not readable as a table or DICOM; what free text and image pixels "
        "hold; DICOM headers are measured, not generalised.",
    )
    if facts is not None and not facts.chain_ok:
        s.say(
            "审计日志哈希链校验失败：本报告的处理记录不可信。",
            "The audit log's hash chain does not verify: its records cannot be trusted.",
        )
    return s


def _open_files(m: Measures, facts: AuditFacts) -> tuple[list[str], list[str]]:
    """Why the risk cannot be called controlled whatever k is: (zh, en) reasons."""
    zh, en = [], []
    if m.failed or m.unmeasured:
        n = m.failed + m.unmeasured
        zh.append(f"{n} 个可能含准标识符的文件未被度量")
        en.append(f"{n} files that may hold quasi-identifiers were not measured")
    if m.persons_unknown:
        zh.append(f"{m.persons_unknown} 行没有个人标识字段，是否为不同个人未知")
        en.append(f"{m.persons_unknown} rows have no person field: whether they are distinct persons is unknown")
    bad = facts.files.get("quarantine", 0) + facts.files.get("error", 0)
    if bad:
        zh.append(f"审计日志记录了 {bad} 个隔离或出错的文件")
        en.append(f"the audit log records {bad} files quarantined or in error")
    return zh, en


def _conclusion(m: Measures, facts: AuditFacts | None, target: int, defaulted: bool, unrecorded: int = 0) -> Section:
    s = Section("6 结论与分级", "Conclusion and grade")
    lmin = min(m.l_diversity.values()) if m.l_diversity else None
    why_zh, why_en = [], []
    open_zh, open_en = _open_files(m, facts) if facts is not None else ([], [])
    if facts is None or not facts.chain_ok:
        grade_zh, grade_en = "未分级", "not graded"
        why_zh.append("没有可信的审计日志说明直接标识符的处理")
        why_en.append("no audit log that verifies shows how direct identifiers were handled")
    elif unrecorded:
        grade_zh, grade_en = "第 1 级（至多）：不能确认已去标识化", "grade 1 at most: not shown to be de-identified"
        why_zh.append(
            f"{unrecorded} 个输出文件的 SHA-256 不在审计日志记录的输出摘要中（另一输出的日志，或文件此后被改动）"
        )
        why_en.append(
            f"{unrecorded} output files have a SHA-256 that is none of the output digests the audit log recorded "
            "(the log of another output, or files changed since)"
        )
    elif m.k >= target and (lmin is None or lmin >= 2) and not open_en:
        grade_zh, grade_en = (
            "第 3 级：已去标识化，重标识风险受控",
            "grade 3: de-identified, re-identification risk controlled",
        )
        why_zh.append(f"审计日志记录了直接标识符的处理；k={m.k} ≥ {target}")
        why_en.append(f"the audit log records how direct identifiers were handled; k={m.k} >= {target}")
        if lmin is not None:
            why_zh.append(f"敏感属性 l={lmin} ≥ 2")
            why_en.append(f"sensitive fields l={lmin} >= 2")
    else:
        grade_zh, grade_en = (
            "第 2 级：已去标识化，重标识风险未受控",
            "grade 2: de-identified, re-identification risk not controlled",
        )
        if m.k < target or (lmin is not None and lmin < 2):
            why_zh.append(
                f"审计日志记录了直接标识符的处理，但 k={m.k}" + (f" < {target}" if m.k < target else f"，l={lmin} < 2")
            )
            why_en.append(
                f"the audit log records how direct identifiers were handled, but k={m.k}"
                + (f" < {target}" if m.k < target else f" and l={lmin} < 2")
            )
        else:
            why_zh.append("审计日志记录了直接标识符的处理，但" + "；".join(open_zh))
            why_en.append("the audit log records how direct identifiers were handled, but " + "; ".join(open_en))
    if defaulted:
        why_zh.append(f"目标 k 未声明，按 {target} 评估")
        why_en.append(f"no target k was declared; graded against {target}")
    s.say(f"分级：{grade_zh}。理由：{'；'.join(why_zh)}。", f"Grade: {grade_en}. Reasoning: {'; '.join(why_en)}.")
    s.say(
        "分级方法（deid 对 GB/T 42460-2023 的解读，阈值为 deid 所定）：第 1 级 可识别；第 2 级 直接标识符已处理但 k 低于目标或敏感属性 l<2；"
        "第 3 级 直接标识符已处理且 k 达到目标、敏感属性 l≥2，且没有未度量、隔离或出错的文件，所有行均可归属个人；输出文件不是审计日志所记录的文件时至多第 1 级；第 4 级 匿名化——不能由本工具判定，需要密钥与重标识库销毁、"
        "环境控制与专家判定（参见 HIPAA 专家判定路径）。",
        "Grading (deid's reading of GB/T 42460-2023; the thresholds are deid's): grade 1 identifiable; grade 2 direct "
        "identifiers handled, k below the target or l < 2; grade 3 direct identifiers handled, k at the target or above, "
        "l >= 2 for sensitive fields, no file unmeasured, quarantined or in error and every row known to be a person's; "
        "at most grade 1 when output files are not the ones the audit log recorded; grade 4 anonymised, which this tool cannot determine: it needs the key and any "
        "vault destroyed, controls on the environment and an expert's determination (cf. HIPAA expert determination).",
    )
    return s


TITLE = ("个人信息去标识化效果评估报告", "De-identification effect assessment")
PREFACE = (
    "结构参照 GB/T 42460-2023《信息安全技术 个人信息去标识化效果评估指南》；定义与来源见 docs/risk.md。",
    "Structured after GB/T 42460-2023 (Information security technology: guide for evaluating the effect of "
    "personal information de-identification); definitions and sources in docs/risk.md.",
)


def markdown(sections: list[Section]) -> str:
    out = [f"# {TITLE[0]} / {TITLE[1]}", "", PREFACE[0], "", PREFACE[1], ""]
    for sec in sections:
        out += [f"## {sec.zh} / {sec.en}", ""]
        for b in sec.blocks:
            if isinstance(b, Table):
                out.append("| " + " | ".join(_md(h) for h in b.head) + " |")
                out.append("|" + "---|" * len(b.head))
                out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in b.rows]
                out.append("")
            else:
                out += [b[0], "", b[1], ""]
    return "\n".join(out)


def _md(v: object) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def to_html(sections: list[Section]) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh">',
        '<head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{e(TITLE[0])} / {e(TITLE[1])}</title>",
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;line-height:1.5}"
        "table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        "p.en{color:#444}</style></head><body>",
        f"<h1>{e(TITLE[0])}<br><small>{e(TITLE[1])}</small></h1>",
        f"<p>{e(PREFACE[0])}</p><p class='en'>{e(PREFACE[1])}</p>",
    ]
    for sec in sections:
        out.append(f"<h2>{e(sec.zh)} / {e(sec.en)}</h2>")
        for b in sec.blocks:
            if isinstance(b, Table):
                out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in b.head) + "</tr>")
                out += ["<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in b.rows]
                out.append("</table>")
            else:
                out.append(f"<p>{e(b[0])}</p><p class='en'>{e(b[1])}</p>")
    out.append("</body></html>\n")
    return "\n".join(out)
