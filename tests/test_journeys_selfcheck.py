"""规范化自查 as conversations: a 书记 checks their branch, the 上级管理员 ranks and opens the branches under them, a
member is refused; one journey through WeCom's callback; the standard file checked by `zhibu selfcheck check`."""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from bot.cli import main
from reminders.oversight_state import load_tree
from reminders.selfcheck_standard import STANDARD_FILE
from reminders.selfcheck_state import selfcheck_for
from storage.db import transaction
from storage.models import Meeting, MeetingKind, Organization

TODAY = date(2026, 11, 24)


def test_a_secretary_checks_their_branch(ov_say):
    text = ov_say("demo-shuji", "规范化自查")
    lines = text.splitlines()
    assert lines[0] == "【第一党支部 规范化自查】得分 80/85 分（数据能反映的项目）"
    assert lines[1] == "检查期：2026年10月、2026年第3季度、2025年度"
    assert lines[2:4] == ["先改这些（未达标，分值高的在前）：",
                          "1. 按时交纳党费（5分）：2 人连续 3 个月以上未交党费（其中 6 个月以上 1 人）"]
    assert "· 三会一课（15分）：2026年10月 支委会 已召开；2026年第3季度 党员大会和党课 已召开" in lines
    assert "需人工核查（不计分）：谈心谈话（5分）、活动场所（阵地建设）（5分）、台账档案（5分）" in lines
    assert ov_say("demo-shuji", "规范化自查 第一党支部") == text
    assert ov_say("demo-shuji", "规范化自查 第二党支部").startswith("没有找到“第二党支部”")


def test_the_upper_admin_ranks_the_branches_then_opens_the_worst(ov_say):
    ranking = ov_say("demo-dangwei", "规范化自查").splitlines()
    assert ranking[0] == "【规范化自查】共 4 个党支部，按得分从低到高："
    assert ranking[1].startswith("· 第三党支部 ") and ranking[1].endswith("，先改：三会一课")
    assert ranking[-1] == "查看一个支部请发送“规范化自查 支部名称”。"
    worst = ov_say("demo-dangwei", "规范化自查 第三党支部")
    assert "1. 三会一课（15分）：2026年第3季度 党员大会和党课 未召开" in worst
    assert "2. 按期换届（10分）：任期 2026-10-15 届满，已逾期 40 天未换届" in worst
    assert "· 主题党日（10分）：2026年10月 主题党日 已召开" in worst


def test_recording_the_missing_meetings_raises_the_score(ov_say, dues_demo):
    before = ov_say("demo-dangwei", "规范化自查 第三党支部").splitlines()[0]
    with transaction(dues_demo.sessions) as s:
        org = s.query(Organization).filter_by(name="第三党支部").one()
        starts = datetime.combine(date(2026, 9, 25), time(9), tzinfo=dues_demo.settings.tz)
        meeting = Meeting(organization_id=org.id, title="党员大会+党课", starts_at=starts, place="会议室",
                          signin_opens_at=starts, signin_closes_at=starts, code=None, status="closed")
        meeting.kind_rows = [MeetingKind(kind="党员大会"), MeetingKind(kind="党课")]
        s.add(meeting)
    after = ov_say("demo-dangwei", "规范化自查 第三党支部")
    assert before != after.splitlines()[0]
    assert "· 三会一课（15分）：2026年10月 支委会 已召开；2026年第3季度 党员大会和党课 已召开" in after
    assert "1. 按期换届（10分）" in after


def test_a_member_is_refused(ov_say):
    reply = ov_say("demo-dangyuan", "规范化自查")
    assert reply == "「规范化自查」只有上级管理员或支部书记可以使用。发送「帮助」看看你可以做什么。"


def test_the_console_function_matches_the_chat(ov_say, dues_demo):
    with transaction(dues_demo.sessions) as s:
        tree = load_tree(s)
        ids = [o.id for o in tree.values() if o.type == "党支部"]
        checks = selfcheck_for(s, ids, TODAY, dues_demo.settings.tz, tree=tree)
    assert [c.name for c in checks] == ["第一党支部", "第二党支部", "第三党支部", "第四党支部"]
    first = checks[0]
    assert f"得分 {first.earned}/{first.scorable} 分" in ov_say("demo-shuji", "规范化自查")


def test_a_secretary_over_wecom(wecom_demo, wecom_client, fake_wecom):
    from bot.app import create_app

    http = create_app(runtime=wecom_demo).test_client()
    query, body = wecom_client.encrypt_envelope(wecom_client.text_xml("demo-shuji", "规范化自查"))
    response = http.post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
    assert response.status_code == 200
    reply = wecom_client.open_reply(response.data).content
    response.close()
    assert reply.startswith("【第一党支部 规范化自查】得分 ")
    assert "先改这些" in reply and "需人工核查（不计分）" in reply


# --- the standard file, checked from the command line --------------------------------------------------------------
def test_selfcheck_check_passes_on_the_shipped_file(capsys):
    assert main(["selfcheck", "check"]) == 0
    assert capsys.readouterr().out.strip() == ("自查标准检查通过：14 项，共 100 分；系统评分 11 项 85 分，"
                                               "需人工核查 3 项 15 分。")


def test_selfcheck_check_names_every_problem(tmp_path: Path, capsys):
    text = STANDARD_FILE.read_text("utf-8")
    broken = (text.replace("measure: theme_day\n", "measure: theme_days\n")
              .replace("id: org-life\n", "id: theme-day\n")
              .replace("    points: 5\n    measure: dues\n", "    measure: dues\n"))
    path = tmp_path / "本地标准.yaml"
    path.write_text(broken, "utf-8")
    assert main(["selfcheck", "check", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith("自查标准有 3 处问题，请修改后再运行 zhibu selfcheck check：")
    assert err[1].startswith("· 本地标准.yaml 第7项（id: theme-day）：measure “theme_days” 不认识（可用：")
    assert err[2] == "· 本地标准.yaml 第8项（id: theme-day）：id 重复，第7项已经用了这个 id"
    assert err[3] == "· 本地标准.yaml 第11项（id: dues）：缺少字段 points（这一项的分值）"


def test_a_broken_yaml_file_and_a_missing_one(tmp_path: Path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("title: 自查\nitems:\n  - id: a\n   name: b\n", "utf-8")
    assert main(["selfcheck", "check", str(path)]) == 1
    assert "bad.yaml：YAML 格式错误第4行" in capsys.readouterr().err
    assert main(["selfcheck", "check", str(tmp_path / "none.yaml")]) == 1
    assert "none.yaml：文件不存在" in capsys.readouterr().err


def test_the_console_function_uses_a_fixed_number_of_queries(db_url):
    from tests.query_count import statements_by_size
    from tests.test_oversight_chat import build

    def run(s, ids, n):
        checks = selfcheck_for(s, ids, TODAY, tree=load_tree(s))
        assert len(checks) == n
        # nobody has paid since January: the dues item fails everywhere, with its evidence
        assert all(f.evidence == "4 人连续 3 个月以上未交党费（其中 6 个月以上 4 人）"
                   for c in checks for f in c.findings if f.item.id == "dues")

    counts = statements_by_size(db_url, build, run)
    assert counts[3] == counts[30], counts


def test_a_broken_standard_file_is_said_plainly_in_chat(ov_say, tmp_path, monkeypatch):
    from reminders.selfcheck_standard import load_standard

    path = tmp_path / "broken.yaml"
    path.write_text("title: 自查\nsource: 某方案\nitems:\n  - id: a\n", "utf-8")
    monkeypatch.setattr("reminders.selfcheck_standard.load_standard", lambda: load_standard(path))
    assert ov_say("demo-shuji", "规范化自查") == ("规范化自查标准文件有问题，暂时无法自查。"
                                                  "请系统管理员运行 zhibu selfcheck check 查看并修改。")


def test_a_large_committee_sees_the_twenty_lowest(dues_demo):
    from bot.channels import console
    from storage.models import Member, Role
    from tests.test_oversight_chat import build

    with transaction(dues_demo.sessions) as s:
        ids = build(s, 25)
        top = s.get(Organization, s.get(Organization, ids[0]).parent_id)
        admin = Member(name="孙管理", wecom_userid="big-admin", organization_id=top.id, category="正式")
        s.add(admin)
        s.flush()
        s.add(Role(member_id=admin.id, organization_id=top.id, role="上级管理员"))
    lines = console.say(dues_demo.router, "big-admin", "规范化自查")[0].splitlines()
    assert lines[0] == "【规范化自查】共 25 个党支部，按得分从低到高："
    assert len([x for x in lines if x.startswith("· 支部25-")]) == 20
    assert lines[-2] == "· 另有 5 个党支部，得分不低于上面各支部（其中 0 个全部达标）"
