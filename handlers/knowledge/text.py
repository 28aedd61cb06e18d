"""Turning a question into retrieval features: look-alike fixes, synonyms, words, character n-grams, pinyin.

Members type on phones: look-alike characters (主题党曰, 组织关糸), homophones picked from the IME (党废, 转证) and
colloquial names (支部大会 for 党员大会). Each layer below catches one of these; BM25 weighs what is left.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from bot.intent import Segmenter, normalize

# characters that look like the intended one and are themselves rare in Party-work questions
LOOK_ALIKE = str.maketrans({"曰": "日", "糸": "系", "巳": "己", "侯": "候", "茛": "艮", "汩": "汨", "廷": "延", "冶": "治", "藉": "籍",
                            "帐": "账"})

# colloquial or long names → the one name the entries use (longest first when applied)
SYNONYMS: dict[str, str] = {
    "支部委员会会议": "支委会", "党支部委员会": "支委会", "支部委员会": "支委会", "支委会议": "支委会",
    "支部党员大会": "党员大会", "党支部党员大会": "党员大会", "支部大会": "党员大会", "全体党员大会": "党员大会",
    "党员会议": "党员大会", "党小组会议": "党小组会", "小组会": "党小组会",
    "党日活动": "主题党日", "支部主题党日": "主题党日", "党员活动日": "主题党日", "主题党员日": "主题党日",
    "组织生活会议": "组织生活会", "民主评议会": "民主评议", "评议党员": "民主评议",
    "谈心": "谈心谈话", "谈话谈心": "谈心谈话", "谈了心": "谈心谈话", "谈谈心": "谈心谈话", "谈过心": "谈心谈话",
    "谈个心": "谈心谈话",
    "缴纳": "交纳", "缴党费": "交党费", "交给上级": "上交", "交到上级": "上交", "交上级": "上交",
    "账本": "登记簿", "台账本": "登记簿", "缴费": "交费", "上缴": "上交", "补缴": "补交", "欠交": "欠缴",
    "欠了": "欠缴", "欠着": "欠缴",
    "党费标准": "党费比例", "交党费比例": "党费比例", "党费基数": "计算基数",
    "入党申请书": "入党申请", "入党申请人": "申请人", "申请入党": "入党申请",
    "积极份子": "积极分子", "入党积极分子": "积极分子", "发展对像": "发展对象",
    "介绍人": "入党介绍人", "政治审查": "政审", "志愿书": "入党志愿书",
    "转为正式党员": "转正", "转成正式党员": "转正", "转正式党员": "转正", "转正式": "转正",
    "考察期": "预备期", "试用期": "预备期",
    "党组织关系": "组织关系", "关系转接": "组织关系转接", "转组织关系": "组织关系转接", "转关系": "组织关系转接",
    "转党组织关系": "组织关系转接", "迁组织关系": "组织关系转接", "迁党组织关系": "组织关系转接",
    "换届改选": "换届", "改选": "换届", "届满": "任期届满",
    "支委": "支部委员", "支委委员": "支部委员",
    "总支": "党总支", "党总支部": "党总支",
    "党员证": "党员身份", "党费本": "党费证", "入党纪念日": "政治生日", "自动脱党": "自行脱党",
    "党员之家": "党员活动室", "党群活动室": "党员活动室", "班子成员": "支部委员", "支部班子": "支委会", "入党宣誓": "宣誓", "入党誓词": "誓词",
    "入党日期": "入党时间", "入党的时间": "入党时间", "党员生日": "政治生日",
    "标准化规范化": "规范化", "标准化建设": "规范化", "规范化建设": "规范化",
    "退休": "离退休", "离休": "离退休", "退下来": "离退休", "退了休": "离退休",
    "大学生": "学生", "研究生": "学生", "在校生": "学生", "留学生": "学生", "留学": "学生",
    "读博": "学生", "上大学": "学生", "读大学": "学生", "读研": "学生", "出国读书": "学生", "出国念书": "学生", "出国上学": "学生", "国外读书": "学生",
    # pay that is not a monthly wage
    "年薪": "年薪制", "收入不稳定": "无固定收入", "收入不固定": "无固定收入", "没有固定收入": "无固定收入",
    "没有固定工资": "无固定收入", "无固定工资": "无固定收入",
    "做生意": "个体经营", "做买卖": "个体经营", "小买卖": "个体经营", "小生意": "个体经营",
    "时好时坏": "无固定收入", "时多时少": "无固定收入", "时高时低": "无固定收入", "忽高忽低": "无固定收入",
    "有多有少": "无固定收入", "开店": "个体经营", "个体户": "个体工商户",
    "种地": "农民", "务农": "农民", "个税": "个人所得税", "到手": "税后",
    "漏交": "欠缴", "忘交": "欠缴", "忘了交": "欠缴", "交不起": "困难", "跑滴滴": "自由职业", "送外卖": "自由职业",
    "开出租": "自由职业", "跑运输": "自由职业", "常年在外": "外地",
    "下岗": "失业", "低保": "最低生活保障",
    "出国": "国外", "出境": "国外", "境外": "国外",
    # special situations in dues: no work or income, study while paid, a married couple
    "没有工作": "失业", "没工作": "失业", "无业": "失业", "待业": "失业", "辞职": "失业", "没上班": "失业",
    "没有收入": "无收入", "没收入": "无收入", "没什么收入": "无收入", "零收入": "无收入",
    "在职研究生": "在职学习", "在职读研": "在职学习", "在职读博": "在职学习", "在职博士": "在职学习",
    "脱产学习": "在职学习", "脱产读研": "在职学习", "带薪读书": "在职学习", "带薪上学": "在职学习",
    "带薪学习": "在职学习", "工资照发": "在职学习", "工资照拿": "在职学习", "照发工资": "在职学习",
    "还发工资": "在职学习", "工资还发": "在职学习", "带薪读": "在职学习",
    "留职停薪": "停薪留职", "退休返聘": "返聘", "返聘回去": "返聘",
    "两口子": "配偶", "夫妻俩": "配偶", "老伴": "配偶", "媳妇": "配偶", "夫妻": "配偶", "爱人": "配偶", "老公": "配偶", "老婆": "配偶",
    "丈夫": "配偶", "妻子": "配偶", "家属": "亲属", "家里人": "亲属", "家人": "亲属",
    # how people ask for a rate, a use, a calculation
    "几个点": "比例", "多少个点": "比例", "多少点": "比例", "百分之几": "比例", "百分比": "比例",
    "用来干什么": "用途", "用来做什么": "用途", "用来干嘛": "用途", "花在哪": "用途", "用在哪": "用途", "能用来": "用途",
    "怎么计算": "怎么算", "如何计算": "怎么算", "咋算": "怎么算", "怎样计算": "怎么算",
    # how often: 一季度 is 每季度 (上一季度 is a base period, kept whole), 一回 is 一次
    "一季度": "每季度", "一个季度": "每季度", "上一季度": "上一季度", "上一个季度": "上一季度", "上季度": "上一季度",
    "一回": "一次", "几回": "几次",
    # allowances by their everyday names
    "车补": "交通补贴", "饭补": "误餐补贴", "餐补": "误餐补贴", "话补": "通讯补贴", "房补": "住房补贴",
    # a post left empty; more candidates than seats; who decides and who does what
    "空着": "空缺", "空出来": "空缺", "比应选的多": "差额", "比应选多": "差额", "比应选人数多": "差额",
    "谁拍板": "谁说了算", "级别高": "谁说了算", "谁大": "谁说了算", "谁管谁": "谁说了算", "谁做主": "谁说了算", "谁的权力大": "谁说了算", "谁权力大": "谁说了算",
    "开除党籍": "处分", "开除出党": "处分",
    "收据": "票据", "发票": "票据", "各算各的": "各交各的", "各管什么": "分工", "各管": "分工", "各自负责": "分工", "怎么分工": "分工",
    "在外面": "外地", "在外头": "外地", "在外边": "外地",
    "联系不上": "失联", "找不着": "失联", "联系不着": "失联", "联系不到": "失联", "打不通": "失联", "找不到人": "失联",
    "应到": "到会人数", "实到": "到会人数",
    "百分之": "比例", "微信转": "网上交", "用微信": "网上交", "支付宝": "网上交", "转账": "网上交", "扫码": "网上交",
    # becoming a 发展对象
    "当发展对象": "成为发展对象", "列为发展对象": "成为发展对象", "确定为发展对象": "成为发展对象",
    # a whole year at once; several units together
    "一年的": "全年", "一整年": "全年", "整年": "全年", "一下子": "一次性", "一口气": "一次性",
    "凑一块": "联合", "凑一起": "联合", "凑在一起": "联合", "合起来": "联合", "合在一起": "联合", "合到一起": "联合",
    # a 预备党员 by another name
    "预备期的党员": "预备党员", "预备期内的党员": "预备党员", "预备期党员": "预备党员", "预备期间的党员": "预备党员",
    "预备期的同志": "预备党员", "预备期同志": "预备党员", "预备期内的同志": "预备党员",
}
# a canonical name maps to itself, so the longest match at its position keeps it whole (党总支 is not 党+总支)
SYNONYMS.update({v: v for v in list(SYNONYMS.values())})
_SYNONYM_RE = re.compile("|".join(sorted(map(re.escape, SYNONYMS), key=len, reverse=True)))

# words that say how a question is asked, not what it is about
STOPWORDS = frozenset("""
的 了 吗 呢 啊 吧 呀 哦 嘛 么 啥 是 在 有 和 与 及 或 就 都 也 还 又 要 会 能 可以 可不可以 能不能 是不是 有没有
我 我们 咱 咱们 你 你们 他 她 它 他们 这 那 这个 那个 哪 哪个 哪些 什么 怎么 怎么样 怎样 如何 多少 几 几个 多久
请问 请 问 问下 问一下 一下 想 想问 知道 告诉 麻烦 谢谢 您好 你好 一个 个 吗? 呗 哈 嗯 诶 那么 这么 咋 咋办 办
给 对 把 被 让 从 到 为 为什么 干嘛 啊? 吗? ? ! , 。 ， ？ ！ 、 ： ；
意思 什么意思 是指 指 什么时候 开始 是否 需要 必须 应该 应当 具体 一般 规定 要求 情况 问题 现在 时候 多长时间
几次 几回 多少次 多少回 一次 一回 要开 得开 还是
""".split())

_DROP = re.compile(r"[\s\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u4e00-\u9fff]")


# a small count before a measure word is written either way (三个正式党员, 3名正式党员): one spelling for both.
# 一 is left alone: 一个 says nothing about a count, and 三会一课 has no measure word after its numerals
_COUNT = re.compile(r"(?<![一二三四五六七八九十])([两二三四五六七八九十])(?=[个名人位次年])")
_DIGITS = {"两": "2", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
           "十": "10"}


# "fewer than N" has many spellings (不到3个, 不够3名, 少于3人); the entries write 不足N人
_FEWER = re.compile(r"(?:不到|不够|不满|少于|不足)(\d+)[个名位]?人?")
# "can a member vote / be elected" asks about a right: the right's name is added, so the entry on rights is found
# and not the one on how an election is run
_CAN = (r"(?<![才可])(?:能|可以|可不可以|能不能|能否|有资格|有没有资格)(?:参加|参与)?"  # not 才能, 可能
        r"(?:在[^，。,？?！!]{1,8}?[上里中])?")  # 能在支部大会上投票
_RIGHTS = tuple((re.compile(_CAN + acts + f"(?!举|权|{right})"), right) for acts, right in (
    (r"(?:举手(?:表决|投票)?|投.{0,2}票|表决)", "表决权"),
    (r"(?:当选|被选举|被选|(?:被推荐|被提名)?(?:为|当|作|做|成为)?[^，。,？?]{0,6}?候选人)", "被选举权"),
    (r"(?:参加)?(?:选举|选(?=支委|支部委员|委员|书记))", "选举权"),
))

_WHOSE = re.compile(r"预备|留党察看|受处分")
# how many members a unit has (党员就俩, 快七十个党员了, 党员一百多人) decides what it may set up; the entries name
# the thresholds as 不足3人, 50人 and 100人
_N = r"(\d+|[一二两三四五六七八九十百]+|俩)"
_MEMBER_COUNT = re.compile(rf"党员[^，。,？?\d一二两三四五六七八九十百俩]{{0,5}}?{_N}多?(?:[个名人位]|(?=了|$|[，。,？?]))|"
                           rf"{_N}多?[个名位]?(?:正式)?党员")


def _size_words(m: re.Match) -> str:
    from handlers.amounts import CN_DIGITS, parse_figure

    raw = m.group(1) or m.group(2)
    n = 2 if raw == "俩" else CN_DIGITS.get(raw) or parse_figure(raw)
    if isinstance(n, str):
        return m.group(0)
    return m.group(0) + ("，不足3人，" if n < 3 else "，100人，" if n >= 100 else "，50人，" if n >= 50 else "")


# how often (一年开几次, 多久开一回, 多长时间一次, 每季度得开吗) is said many ways; the entries say 频次
_FREQUENCY = re.compile(r"(?:几|多少)[次回趟]|多(?:久|长时间|会儿?)[^，。,？?]{0,3}?一[次回]|隔多(?:久|长时间)|"
                        r"(?:每|一)(?:个)?(?:月|季度|年)[^，。,？?]{0,3}?(?:开|搞|讲|上)[^，。,？?]{0,2}?(?:一[次回]|吗|不)")
# what kind of answer is asked for, which the stopwords would otherwise drop: entries side by side (组织关系什么时候
# 转 / 怎么转) differ mostly in this
_ASKS_HOW = re.compile(r"(?:怎么|咋|如何|怎样)(?!样|回事|说|看|想|算)(?=[\u4e00-\u9fff])|(?:啥|什么|哪些)(?:手续|程序|流程|步骤)")
_ASKS_WHEN = re.compile(r"什么时候|啥时候|哪天|何时|几号|几月份?|多会儿?(?!一[次回])")
# whether a vote counts (举手算不算数, 投的票有效吗) asks about the right to vote as much as "can they vote"
_VOTE_COUNTS = re.compile(r"(?:举手|投票|投的票|表决|选票)(?:算不算数?|算数|有效|作数|管用|算)")

# a student who is still paid (在读研究生还拿工资, 读博工资照发) is the entries' 在职学习, whatever the words' order
_STUDY = re.compile(r"学生|读书|念书|上学|读研|读博|进修|深造")
_PAID = re.compile(r"(?:拿|发|领|有|带)着?(?:工资|薪水)|(?:工资|薪水)(?:照|还|也|都)?(?:拿|发|有|领)")

# whether a 预备党员 may or must attend (要参加组织生活吗, 能列席吗) asks about their rights, not about the meeting
_PROBATIONER_ATTENDS = re.compile(r"预备党员.{0,6}?(?:能|可以|需要|要|用不用|能不能|可不可以|有没有资格)(?:参加|参与|出席|列席)")
# paying for something out of 党费 (饭钱能从党费里报吗, 党费能出这笔钱吗) asks how 党费 may be used
_PAID_FROM_DUES = re.compile(r"从党费(?:里|中|里面)?(?:报|出|开支|列支|支出|买|拿)|党费(?:能|可以|可不可以|能不能)?(?:报销|出钱|出这)")
# how many turned up (到几个人, 来多少人) is the meetings' 到会人数
_TURNOUT = re.compile(r"(?:到|来|到场|在场|出席)了?(?:几|多少)(?:个|名|位)?人")

# the A-not-A question (能不能, 要不要, 可不可以, 有没有) asks whether A: without this, jieba leaves 不能 and 不要 as
# words that match entries about what may not be done
_A_NOT_A = re.compile(r"(\w)[不没]\1")

# paying for another member (帮老伴交, 替他交) is 代交; paying months ahead (把下半年的也收了, 明年的一起交) is 预交
_FOR_ANOTHER = re.compile(r"(?:帮|替)[^，。,？?]{0,4}?(?:交|缴)")
_AHEAD = re.compile(r"(?:下半年|明年|后面几个月|以后几个月|往后几个月|全年)的?(?:党费)?(?:也|都|一起|一次性?|提前)?(?:交|缴|收)")

# situations told as a story, named as the entries name them: a committee member who left (委员辞职了) leaves a post
# 空缺; a retiree still at work is 返聘; a 预备党员 who did wrong faces 延长预备期; 党费能免吗 asks about 免交
_STORIES = tuple((re.compile(p), name) for p, name in (
    (r"(?:委员|书记|支委)[^，。,？?]{0,8}?(?:辞职|调走|调离|走了|退了|离职|去世|病故|干不动|不干了|不想干)", "空缺"),
    # which meetings a branch must hold (刚当书记，要开哪些会) is 三会一课
    (r"(?:要|得|该|需要|必须)开(?:哪些|哪几个|哪几种|什么|啥)(?:会|会议)", "三会一课"),
    # a member too old or ill to come (九十多岁走不动, 常年卧床) is the entries' 行动不便
    (r"走不动|走不了路|下不了床|卧床|瘫痪|腿脚不好|腿脚不便|住院", "行动不便"),
    # too few come (人凑不齐, 来的人少) is the 参与率
    (r"凑不齐|到不齐|来不齐|来的人(?:太)?少|到的人(?:太)?少|人来得(?:太)?少", "参与率"),
    # where an activity's money comes from (费用从哪出, 经费谁出) is how 党费 may be used
    (r"(?:费用|经费|开销|花销|路费|车费|饭钱)(?:从哪里?|由谁|谁)(?:出|报|开支|列支)", "党费使用"),
    # what a 处分 still bars (受了警告处分还能评优吗, 背了处分能提拔不) is its 影响期
    (r"(?:受|挨|背)了?[^，。,？?]{0,4}?处分[^。？?]{0,8}?(?:还能|能不能|能否|可不可以|影响)", "处分影响"),
    (r"(?:退休|退了休|离休)[^。？?]{0,10}?(?:(?:又|还|仍)[^。？?]{0,6}?(?:打工|上班|工作|挣钱|干活|上岗)|聘|请回)", "返聘"),
    (r"(?:预备党员|预备期)[^。？?]*?(?:犯了?错|表现不好|表现差|违纪|受了?处分)", "延长预备期"),
    (r"党费[^，。,？?]{0,4}?(?:免|减)", "免交"),
    # running a small business (开了个小饭馆, 开家超市) is the entries' 个体经营
    (r"开了?[个家间]?小?[^，。,？?]{0,3}?(?:店|馆|铺|厂|超市|摊)", "个体经营"),
))


def clean(text: str) -> str:
    """Normalised, lower-case, look-alikes fixed, counts in digits, synonyms replaced, punctuation removed."""
    t = normalize(text).lower().translate(LOOK_ALIKE)
    t = _COUNT.sub(lambda m: _DIGITS[m.group(1)], t)
    t = _FEWER.sub(lambda m: f"不足{m.group(1)}人", t)
    t = _MEMBER_COUNT.sub(_size_words, t)
    # whether a 预备党员 (or a member under 留党察看) may vote is a question about whose rights differ
    whose = "，权利" if _WHOSE.search(t) else ""
    for pattern, right in _RIGHTS:
        t = pattern.sub(lambda m, r=right + whose: m.group(0) + r, t)
    t = _VOTE_COUNTS.sub(lambda m: m.group(0) + "表决权" + whose, t)
    t = _PROBATIONER_ATTENDS.sub(lambda m: m.group(0) + "权利", t)
    t = _PAID_FROM_DUES.sub(lambda m: m.group(0) + "党费使用", t)
    t = _TURNOUT.sub("到会人数", t)
    t = _FREQUENCY.sub(lambda m: m.group(0) + "，频次，", t)
    t = _ASKS_HOW.sub(lambda m: "，办法，" + m.group(0), t)
    t = _ASKS_WHEN.sub(lambda m: "，何时，" + m.group(0), t)
    for pattern, name in _STORIES:
        t = pattern.sub(lambda m, n=name: m.group(0) + "，" + n + "，", t)
    t = _FOR_ANOTHER.sub(lambda m: m.group(0) + "代交", t)
    t = _AHEAD.sub(lambda m: m.group(0) + "预交", t)
    t = _A_NOT_A.sub(r"\1", t)
    t = _SYNONYM_RE.sub(lambda m: SYNONYMS[m.group(0)], t)
    if "在职学习" not in t and _STUDY.search(t) and _PAID.search(t):
        t += "，在职学习"
    return _DROP.sub("", t)


def char_ngrams(text: str, n: int = 2) -> list[str]:
    return [text[i:i + n] for i in range(len(text) - n + 1)]


def content_bigrams(words: list[str]) -> list[str]:
    """Character pairs of the words left once the asking words are gone (他的, 按什, 么交 say nothing about the
    topic), and across a boundary only where a word is one character: jieba cuts a slip (党废) into single
    characters, while 党员大会|一年 would make 会一, as in 三会一课."""
    pairs: list[str] = []
    for k, w in enumerate(words):
        pairs += char_ngrams(w, 2)
        if k and (len(w) == 1 or len(words[k - 1]) == 1):
            pairs.append(words[k - 1][-1] + w[0])
    return pairs


def pinyin_bigrams(syllables: list[str]) -> list[str]:
    """Toneless syllable pairs: 党废 and 党费 both give 'dang_fei'."""
    return [f"{a}_{b}" for a, b in zip(syllables, syllables[1:], strict=False)]


class Featurizer:
    """Everything the index and the queries share: the segmenter, the term list, the feature recipe."""

    def __init__(self, segmenter: Segmenter, terms: Iterable[str] = ()) -> None:
        self.segmenter = segmenter
        # longest first, so 组织关系转接 is seen before 组织关系
        cleaned = {clean(t) for t in terms} - {""}
        self.terms = sorted((t for t in cleaned if len(t) > 1), key=len, reverse=True)
        self._term_set = frozenset(self.terms)
        self._longest = len(self.terms[0]) if self.terms else 0
        # one reading per character, the same for entries and questions: consistent beats context-perfect here,
        # and a per-character table makes a question's pinyin cost microseconds
        self._sound: dict[str, str] = {}
        # a term's sound → the term, for Chinese terms of 2–6 characters: 转证 sounds like 转正
        self.by_sound: dict[str, str] = {}
        for t in self.terms:
            if 2 <= len(t) <= 6 and len(_CJK.findall(t)) == len(t):
                self.by_sound.setdefault("_".join(self.syllables(list(t))), t)

    def syllables(self, chars: list[str]) -> list[str]:
        missing = [c for c in set(chars) if c not in self._sound]
        if missing:
            from pypinyin import lazy_pinyin  # its dictionaries take half a second to import: only for questions

            self._sound.update(zip(missing, lazy_pinyin(missing), strict=True))
        return [self._sound[c] for c in chars]

    def words(self, c: str) -> list[str]:
        """jieba's words, the knowledge base's terms kept whole (延长预备期 is not 延长 + 预备期). The bot's segmenter
        is shared with every handler, so the terms are cut out here rather than added to its dictionary."""
        out: list[str] = []
        i = start = 0
        while i < len(c):
            n = next((n for n in range(min(self._longest, len(c) - i), 1, -1) if c[i:i + n] in self._term_set), 0)
            if not n:
                i += 1
                continue
            out += self.segmenter.words(c[start:i]) if start < i else []
            out.append(c[i:i + n])
            i = start = i + n
        return out + (self.segmenter.words(c[start:]) if start < len(c) else [])

    def respell(self, c: str) -> str:
        """The text with each stretch that sounds like a term, and is no word of its own, written as the term:
        党废 → 党费, 预被期 → 预备期. A real word (实践, 技术) or a term (不交) was meant as written."""
        known = self.segmenter.tokenizer.FREQ
        sounds = self.syllables(list(c))
        cjk = [bool(_CJK.match(ch)) for ch in c]
        out: list[str] = []
        i = 0
        while i < len(c):
            for n in range(min(6, len(c) - i), 1, -1):
                if not all(cjk[i:i + n]):
                    continue
                term = self.by_sound.get("_".join(sounds[i:i + n]))
                written = c[i:i + n]
                if term is not None and written not in self._term_set and not known.get(written):
                    out.append(term)
                    i += n
                    break
            else:
                out.append(c[i])
                i += 1
        return "".join(out)

    def features(self, text: str) -> tuple[list[str], list[str], list[str]]:
        """(words, character bigrams, pinyin bigrams) of one text, slips of the ear respelled first (entries' own
        phrasings hold slips too, on purpose, so both sides are respelled alike)."""
        c = self.respell(clean(text))
        syllables = self.syllables(_CJK.findall(c))
        words = [w for w in self.words(c) if w not in STOPWORDS]
        chars = content_bigrams(words)
        # terms found anywhere (overlaps included), whatever jieba made of them; a term seen only inside a longer
        # one is that one's (专题组织生活会 does not also say 组织生活会)
        found = [t for t in self.terms if t in c]
        words.extend(t for t in found if not any(t != u and t in u and c.count(t) == c.count(u) for u in found))
        return words, chars, pinyin_bigrams(syllables)
