"""The demo's dues, and the dues queries on both database backends."""
import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.demo import seed_demo, seed_demo_dues
from storage.db import make_engine, make_session_factory, transaction, upgrade
from storage.dues import arrears_signals, tracking_starts
from storage.dues_export import export_dues
from storage.dues_import import import_dues
from storage.models import DuesPayment, DuesRate, Member
from storage.orgs import find_org

TODAY = date(2026, 11, 24)


def test_demo_dues_on_both_backends(any_db_url, tmp_path):
    upgrade(any_db_url)
    engine = make_engine(any_db_url)
    sessions = make_session_factory(engine)
    try:
        with transaction(sessions) as s:
            seed_demo(s, today=TODAY)
        with transaction(sessions) as s:
            rates, pays = s.query(DuesRate).count(), s.query(DuesPayment).count()
            assert rates == s.query(Member).count() == 21
            # idempotent: a second run adds nothing
            seed_demo(s, today=TODAY)
            assert seed_demo_dues(s, TODAY) == (0, 0)
            assert (s.query(DuesRate).count(), s.query(DuesPayment).count()) == (rates, pays)
        with transaction(sessions) as s:
            b1, b2 = find_org(s, "第一党支部"), find_org(s, "第二党支部")
            signals = arrears_signals(s, b1, "2026-10")
            assert [(x.name, x.count, x.level) for x in signals] == [("何军", 6, "escalate"), ("郑强", 3, "alert")]
            assert arrears_signals(s, b2, "2026-10") == []
            # everyone else paid up to last month, from the month of acceptance
            chen = s.scalars(select(Member).where(Member.wecom_userid == "demo-yubei")).one()
            assert tracking_starts(s, [chen])[chen.id] == date(2026, 3, 1)
            months = s.scalars(select(func.min(DuesPayment.month)).where(DuesPayment.member_id == chen.id)).one()
            assert months == "2026-03"
            data = export_dues(s, [b1], 2026, TODAY)
        ws = load_workbook(io.BytesIO(data)).active
        assert ws["B13"].value == "何军" and ws["R13"].value == "欠交6个月"
        path = tmp_path / "p.csv"
        path.write_text("姓名,月份\n何军,2026-05至2026-10\n", encoding="utf-8")
        with transaction(sessions) as s:
            assert import_dues(s, path, TODAY).months == 6
            assert [x.name for x in arrears_signals(s, find_org(s, "第一党支部"), "2026-10")] == ["郑强"]
    finally:
        engine.dispose()


def test_demo_without_a_date_seeds_no_dues(db_url):
    sessions = make_session_factory(make_engine(db_url))
    with transaction(sessions) as s:
        seed_demo(s)
        assert s.query(DuesRate).count() == 0
