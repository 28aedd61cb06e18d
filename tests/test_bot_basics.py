from bot.channels import console
from bot.core import Handler
from bot.messages import Incoming
from storage.db import transaction
from storage.models import AuditLog, ProcessedMessage


def test_member_menu_and_secretary_menu(say):
    member = say("demo-dangyuan", "帮助")
    secretary = say("demo-shuji", "帮助")
    assert "张伟" in member and "我的信息" in member
    assert "支部委员" not in member
    assert "〔支部委员〕" in secretary and "设置" in secretary


def test_not_registered(demo):
    text, code = console.say(demo.router, "nobody", "帮助")
    assert code == 2
    assert "不在支部助手的党员名单里" in text and "书记或组织委员" in text


def test_my_info(say):
    text = say("demo-yubei", "我的信息")
    assert "陈晨" in text and "预备党员" in text and "2026-03-01" in text and "第一党支部" in text


def test_full_width_and_spaces_are_normalised(say):
    assert "张伟" in say("demo-dangyuan", "  我的信息 ")
    assert "看看我能做什么" in say("demo-dangyuan", "？")


def test_unknown_text_says_what_to_do(say):
    assert "帮助" in say("demo-dangyuan", "今天天气怎么样")
    assert "现在没有等你选择的问题" in say("demo-dangyuan", "3")


def test_same_message_id_is_handled_once_and_answered_again(demo):
    """A platform's retry (the first answer was lost) gets the same answer, with no second effect."""
    msg = Incoming(platform="wecom", user_id="demo-shuji", text="设置 参与率下限 85%", message_id="m-1")
    first = demo.router.handle(msg)
    second = demo.router.handle(msg)
    assert "已修改" in first.text and second.text == first.text and not second.duplicate
    with transaction(demo.sessions) as s:
        assert s.query(ProcessedMessage).filter_by(platform="wecom", key="m-1").count() == 1
        assert s.query(AuditLog).filter_by(action="org.set").count() == 1


def test_console_messages_are_distinct(demo):
    console.say(demo.router, "demo-dangyuan", "帮助")
    console.say(demo.router, "demo-dangyuan", "帮助")
    with transaction(demo.sessions) as s:
        assert s.query(ProcessedMessage).filter_by(platform="console").count() == 2


def test_secretary_only_command_refused_to_member(say):
    text = say("demo-dangyuan", "设置 参与率下限 50%")
    assert "只有" in text and "书记" in text


def test_bad_setting_changes_nothing(demo, say):
    text = say("demo-shuji", "设置 参与率下限 150%")
    assert "未修改" in text
    with transaction(demo.sessions) as s:
        assert s.query(AuditLog).filter_by(action="org.set").count() == 0


def test_healthz(demo):
    from bot.app import create_app

    client = create_app(runtime=demo).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_console_finds_dingtalk_only_accounts(demo):
    from storage.models import Member

    with transaction(demo.sessions) as s:
        m = s.query(Member).filter_by(wecom_userid="demo-b2-03").one()
        m.wecom_userid = None
        m.dingtalk_userid = "ding-only"
    text, code = console.say(demo.router, "ding-only", "我的信息")
    assert code == 0 and "第二党支部" in text


def test_pending_choice_is_routed_to_its_resolver(demo):
    from bot.messages import Reply

    def ask(incoming, ctx):
        ctx.set_pending("pick", {"options": ["甲", "乙"]})
        return Reply(text="回复 1 或 2")

    def resolve(incoming, ctx, payload):
        return Reply(text=f"选了{payload['options'][payload['choice'] - 1]}")


    demo.router.register(Handler(name="ask", func=ask, commands=("选择测试",)))
    demo.router.register_pending("pick", resolve)
    assert console.say(demo.router, "demo-dangyuan", "选择测试")[0] == "回复 1 或 2"
    assert console.say(demo.router, "demo-dangyuan", "2")[0] == "选了乙"
    # the choice is consumed: a second "2" is ordinary text again
    assert "现在没有等你选择的问题" in console.say(demo.router, "demo-dangyuan", "2")[0]


def test_readyz_needs_a_fresh_scheduler_heartbeat(demo, clock):
    from datetime import timedelta

    from bot.app import create_app
    from storage.heartbeats import SCHEDULER, beat

    client = create_app(runtime=demo).test_client()
    missing = client.get("/readyz")
    assert missing.status_code == 503 and "定时任务" in missing.get_json()["problems"][0]
    with transaction(demo.sessions) as s:
        beat(s, SCHEDULER, clock())
    assert client.get("/readyz").status_code == 200
    clock.set(clock() + timedelta(minutes=10))
    stale = client.get("/readyz")
    assert stale.status_code == 503 and "最后一次" in stale.get_json()["problems"][0]
