"""我的党费 / 查党费, and who may see an amount."""
from datetime import UTC, date, datetime

from sqlalchemy import delete

from bot.channels.dingtalk.render import PRIVATE_SENT
from handlers.dues_calculator import fen_to_yuan
from storage.db import transaction
from storage.models import DuesRate
from tests.dues_helpers import add_member, member_id, rate_fen, send


def test_my_dues_shows_months_amount_and_next_step(dues_demo):
    reply = send(dues_demo, "demo-dangyuan", "我的党费")
    amount = fen_to_yuan(rate_fen(dues_demo, "demo-dangyuan"))
    assert reply.private
    assert f"每月应交：{amount} 元" in reply.text
    assert "已交：2026-01至2026-10（10 个月" in reply.text
    assert "未交：2026-11（含本月）" in reply.text and "欠交：无" in reply.text
    assert "下一步：" in reply.text and "吴芳" in reply.text  # the branch's 党费管理员


def test_probationary_member_pays_from_the_month_of_acceptance(dues_demo):
    text = send(dues_demo, "demo-yubei", "我的党费").text
    assert "起交月份：2026-03" in text
    assert "已交：2026-03至2026-10（8 个月" in text


def test_arrears_and_what_to_do(dues_demo):
    six = send(dues_demo, "demo-b1-06", "我的党费").text
    assert "欠交：连续 6 个月（2026-05至2026-10）" in six
    owed = fen_to_yuan(6 * rate_fen(dues_demo, "demo-b1-06"))
    assert f"共 {owed} 元" in six
    assert "说明情况" in six and "脱党" not in six  # the software never declares anything
    three = send(dues_demo, "demo-b1-04", "我的党费").text
    assert "欠交：连续 3 个月（2026-08至2026-10）" in three and "补交" in three


def test_arrears_run_reaches_into_last_year(dues_demo, clock):
    clock.set(datetime(2027, 2, 10, 2, 0, tzinfo=UTC))
    text = send(dues_demo, "demo-b1-04", "我的党费").text
    assert "2027年" in text and "2027年尚未核定" in text
    assert "欠交：连续 6 个月（2026-08至2027-01）" in text


def test_paid_this_month_says_nothing_to_do(dues_demo):
    send(dues_demo, "demo-shuji", "登记党费 张伟 2026-11")
    text = send(dues_demo, "demo-dangyuan", "我的党费").text
    assert "未交：无" in text and "本月已交，无需操作" in text


def test_no_amount_fixed_yet(dues_demo):
    add_member(dues_demo, "新同志", "new-1", "第一党支部", date(2026, 7, 1), "13911112222")
    text = send(dues_demo, "new-1", "我的党费").text
    assert "尚未核定" in text and "设置党费" in text


def test_everyday_phrasings(dues_demo):
    for text in ("我的党费", "我还欠党费吗", "我的党费交了吗"):
        assert "每月应交" in send(dues_demo, "demo-dangyuan", text).text


# privacy ---------------------------------------------------------------------------------------------------

def test_asked_in_a_group_the_answer_goes_private_and_the_group_sees_no_figure(dues_demo):
    reply = send(dues_demo, "demo-dangyuan", "我的党费", chat_type="group")
    assert reply.private  # the channels send it 1:1; what the group sees is the channel's note (PRIVATE_SENT)
    assert fen_to_yuan(rate_fen(dues_demo, "demo-dangyuan")) in reply.text  # for the private chat only
    assert not any(ch.isdigit() for ch in PRIVATE_SENT) and "元" not in PRIVATE_SENT
    calc = send(dues_demo, "demo-dangyuan", "党费怎么算 月收入6500", chat_type="group")
    assert calc.private


def test_another_member_sees_no_amount(dues_demo):
    amount = fen_to_yuan(rate_fen(dues_demo, "demo-b1-06"))
    for text in ("查党费 何军", "未交党费", "导出党费 2026"):
        reply = send(dues_demo, "demo-dangyuan", text)
        assert "只有" in reply.text and amount not in reply.text and reply.file is None
    # 我的党费 is always the speaker's own
    assert "何军" not in send(dues_demo, "demo-dangyuan", "我的党费").text


def test_secretary_of_another_branch_sees_no_amount(dues_demo):
    amount = fen_to_yuan(rate_fen(dues_demo, "demo-b1-06"))
    look = send(dues_demo, "demo-shuji2", "查党费 何军")
    assert "没有名叫“何军”" in look.text and amount not in look.text
    unpaid = send(dues_demo, "demo-shuji2", "未交党费").text
    assert "第二党支部" in unpaid and "何军" not in unpaid and "郑强" not in unpaid
    paid = send(dues_demo, "demo-shuji2", "登记党费 何军 2026-05")
    assert "没有名叫" in paid.text


def test_upper_level_admin_is_not_a_dues_keeper(dues_demo):
    reply = send(dues_demo, "demo-dangwei", "查党费 何军")
    assert "只有" in reply.text and fen_to_yuan(rate_fen(dues_demo, "demo-b1-06")) not in reply.text


def test_branch_keepers_see_the_amount(dues_demo):
    amount = fen_to_yuan(rate_fen(dues_demo, "demo-b1-06"))
    for keeper in ("demo-shuji", "demo-zuzhi", "demo-b1-03"):  # 书记, 组织委员, 党费管理员
        reply = send(dues_demo, keeper, "查党费 何军")
        assert reply.private and f"每月应交：{amount} 元" in reply.text and "连续 6 个月" in reply.text


def test_rate_removed_shows_not_fixed(dues_demo):
    with transaction(dues_demo.sessions) as s:
        s.execute(delete(DuesRate).where(DuesRate.member_id == member_id(dues_demo, "demo-dangyuan")))
    text = send(dues_demo, "demo-dangyuan", "我的党费").text
    assert "2026年尚未核定" in text and "已交：2026-01至2026-10" in text
