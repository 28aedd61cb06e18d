"""The 换届提醒函: the upper-level organisation's written reminder that a branch committee's term is ending.

domain.md T05.2a: the upper level reminds the branch 6 months before the term ends (书面提醒函); T05.3 lists the steps.
The letter is built from the database on request, so it always shows the current term.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Member, Organization
from storage.orgs import current_term

LETTER_PURPOSE = "term-letter"
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SMALL_BRANCH = 7  # fewer 正式党员: the 党员大会 elects the 书记 directly (T05.3)

STEPS = (
    "召开支委会（未设支委会的召开党员大会），总结本届工作，研究换届选举的委员名额、候选人条件、提名和选举办法及时间。",
    "向上级党组织报送召开换届选举的请示，得到批复后开展工作。",
    "宣传动员，组织党员推荐候选人，支委会根据多数党员的意见确定候选人初步人选并进行考察。",
    "将候选人预备人选报上级党组织审查；起草本届委员会工作报告（含党费收缴使用情况）。",
    "召开党员大会进行选举：有选举权的到会党员须超过应到会人数的五分之四，无记名投票，"
    "委员实行差额选举（候选人多于应选人数20%以上），赞成票超过实到会有选举权人数一半的始当选。",
    "新一届支委会召开第一次全体会议，选举书记（副书记）并进行分工。",
    "将选举结果报上级党组织：书记、副书记报批，委员报备案；批复后新一届委员会就职，做好资料归档。",
)


class LetterError(ValueError):
    """The letter cannot be made; str() says why and what to do."""


@dataclass(frozen=True)
class LetterFacts:
    branch: str
    upper: str  # the organisation that signs the letter
    elected_on: date
    ends_on: date
    term_years: int
    full_members: int
    issued_on: date

    @property
    def hold_by(self) -> date:
        # the election is due when the term ends (T05.2b); a later date needs the upper level's approval
        return self.ends_on


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def letter_facts(session: Session, branch: Organization, issued_on: date) -> LetterFacts:
    if branch.type not in ("党支部", "党总支"):
        raise LetterError(f"{branch.name}是{branch.type}，换届提醒函发给党支部或党总支")
    term = current_term(session, branch)
    if term is None:
        raise LetterError(f"{branch.name}还没有支委会任期记录：请在名单的「党组织」表里填上届选举日期和任期后重新导入")
    full_members = session.scalar(select(func.count()).select_from(Member).where(
        Member.organization_id == branch.id, Member.status == "active", Member.category == "正式")) or 0
    upper = branch.parent.name if branch.parent is not None else "上级党组织"
    return LetterFacts(branch.name, upper, term.elected_on, term.ends_on, term.term_years, full_members, issued_on)


def letter_title(facts: LetterFacts) -> str:
    return f"关于{facts.branch}委员会任期届满按期换届的提醒函"


# GB/T 9704 (党政机关公文格式): A4, margins 37 mm top, 35 mm bottom, 28 mm left, 26 mm right
PAGE = (Cm(21), Cm(29.7))
MARGINS = {"top_margin": Mm(37), "bottom_margin": Mm(35), "left_margin": Mm(28), "right_margin": Mm(26)}
BODY_FONT, BODY_FONT_LATIN = "仿宋", "FangSong"  # Word falls back to 宋体 where 仿宋 is not installed
TITLE_FONT = "宋体"


def _east_asian(run_or_style, name: str) -> None:
    """The font Word uses for Chinese characters: rFonts w:eastAsia (python-docx sets only the Latin name)."""
    rpr = run_or_style.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), name)


def build_letter(facts: LetterFacts) -> bytes:
    doc = Document()
    for section in doc.sections:
        section.page_width, section.page_height = PAGE
        for name, value in MARGINS.items():
            setattr(section, name, value)
    style = doc.styles["Normal"]
    style.font.name = BODY_FONT_LATIN
    _east_asian(style, BODY_FONT)
    style.font.size = Pt(16)  # 三号

    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(letter_title(facts))
    run.bold = True
    run.font.size = Pt(22)  # 二号
    run.font.name = "SimSun"
    _east_asian(run, TITLE_FONT)

    doc.add_paragraph(f"{facts.branch}：")
    doc.add_paragraph(
        f"你支部委员会于{cn_date(facts.elected_on)}选举产生，任期{facts.term_years}年，"
        f"任期自{cn_date(facts.elected_on)}起至{cn_date(facts.ends_on)}止。根据《中国共产党支部工作条例（试行）》"
        f"第二十一条“党支部委员会任期届满应当按期进行换届选举”的规定，请你支部提前做好准备，"
        f"于{cn_date(facts.hold_by)}前完成换届选举。确需延期或提前换届的，须报上级党组织批准，延长或提前期限一般不超过1年。")
    doc.add_paragraph("换届选举的主要步骤：")
    for i, step in enumerate(STEPS, start=1):
        doc.add_paragraph(f"{i}. {step}")
    if facts.full_members < SMALL_BRANCH:
        doc.add_paragraph(f"你支部现有正式党员{facts.full_members}名，不足{SMALL_BRANCH}名，"
                          "不设支部委员会，可由党员大会直接选举书记（副书记），按第5、7步办理。")
    doc.add_paragraph("请对照以上步骤安排好时间，有关请示按程序报送。特此提醒。")

    for text in (facts.upper, cn_date(facts.issued_on)):
        p = doc.add_paragraph(text)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def letter_filename(facts: LetterFacts) -> str:
    return f"{facts.branch}换届提醒函.docx"


def letter_link_expiry(due_at: datetime, relevant_until: datetime | None) -> datetime:
    """The link lives as long as the reminder is relevant (at least 30 days); derived from the row, never the clock."""
    return max(relevant_until or due_at, due_at + timedelta(days=30))
