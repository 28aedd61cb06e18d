"""Texts that belong to another capability (own dues, dues calculator, sign-in, schedule), never to the knowledge base.

Those handlers are matched before the knowledge base; this is the knowledge base's own guard, so that it does not
answer a rule where the member asked about their own record or a sum, whichever handlers happen to be installed.
"""
from __future__ import annotations

import re

from bot.intent import normalize

_SIGN_IN = re.compile(r"^(签到|发起签到|结束签到|签到情况|补签)(\s|\d|$)|^\d{4,6}$|签到(?!率)")
_SCHEDULE = re.compile(r"^(本月|下月|这个月|下个月|本周|这周|近期|最近)的?(安排|活动|有什么活动|有啥活动)[?？吗]*$")
_MY_DUES = re.compile(r"我的党费(?!基数|计算基数|比例|标准)|我(的|还|都)?(欠|交|缴)(了|过)?(几个月|多少|哪几个月)|我.{0,6}(党费)?交到(了)?(几|哪)|查.{0,2}我.{0,4}党费")
_CALC = re.compile(r"党费.{0,6}(怎么算|计算|多少)|(交|缴)多少党费|算.{0,2}党费")
_AMOUNT = re.compile(r"\d{3,}(\.\d+)?\s*(元|块)?|[一二三四五六七八九两]万|[一二三四五六七八九两]千")
# asking for the rule (a rate, a bracket, whether something counts), even with a figure in it
_RULE_WORDS = re.compile(r"比例|百分之|几个点|大额|算不算|标准|以上|以下|是不是|吗")
_FIRST_PERSON_SUM = re.compile(r"^我(每个?月|一个月|这个月|今年)?(要|该|应该|得)?(交|缴)多少(钱的?)?党费")


def other_handler(text: str) -> str | None:
    """Which capability the text is for ('sign_in', 'schedule', 'my_dues', 'dues_calc'), or None for a question."""
    from handlers import signin_text

    t = normalize(text)
    if _SIGN_IN.search(t) or signin_text.parse(t) is not None:
        return "sign_in"
    if _SCHEDULE.search(t):
        return "schedule"
    if _MY_DUES.search(t):
        return "my_dues"
    if _CALC.search(t) and _AMOUNT.search(t) and not _RULE_WORDS.search(t):
        return "dues_calc"
    if _FIRST_PERSON_SUM.search(t):
        return "dues_calc"
    return None


POINTERS = {
    "sign_in": "签到请发送“签到 四位签到码”，或扫描会场的二维码。",
    "schedule": "查看近期的会议和活动，请发送“本月安排”。",
    "my_dues": "查询自己的党费交纳情况，请发送“我的党费”。",
    "dues_calc": "计算党费请发送“党费怎么算 月收入6500”（把6500换成你的税后计算基数）。",
}
