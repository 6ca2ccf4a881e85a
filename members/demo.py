"""The deterministic demo organisation `seed-demo` starts from."""
from datetime import date

from core.extensions import db
from members.models import Branch, Member, PartyGroup
from members.services import create_committee

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "晓东", "文博", "思远", "嘉怡", "子涵"]
BRANCHES = ["研发中心党支部", "生产运营党支部", "综合管理党支部"]
GROUPS = ["第一党小组", "第二党小组"]
MEMBERS_PER_BRANCH = 22

DEMO_LOGINS = [
    ("党委管理员", "demo-admin", "13800000000"),
    ("支部书记（研发中心党支部）", "demo-secretary", "13800010000"),
    ("党员（研发中心党支部）", "demo-member", "13800010001"),
]


def seed(ctx):
    """Create one committee, three branches with two groups each, and 66 members (secretaries included)."""
    committee = create_committee("示范集团党委")
    admin = Member(name="周建国", phone="13800000000", committee_id=committee.id, role="admin",
                   joined_on=date(1998, 7, 1), openid="demo-admin")
    db.session.add(admin)
    branches, members = [], []
    serial = 0
    for b_index, branch_name in enumerate(BRANCHES):
        branch = Branch(committee_id=committee.id, name=branch_name)
        db.session.add(branch)
        db.session.flush()
        groups = [PartyGroup(branch_id=branch.id, name=g) for g in GROUPS]
        db.session.add_all(groups)
        db.session.flush()
        branches.append(branch)
        for m_index in range(MEMBERS_PER_BRANCH):
            name = SURNAMES[serial % len(SURNAMES)] + GIVEN[(serial * 7) % len(GIVEN)]
            serial += 1
            phone = f"138000{b_index + 1:01d}{m_index:04d}"
            member = Member(
                name=name, phone=phone, committee_id=committee.id, branch_id=branch.id,
                group_id=groups[m_index % 2].id, role="secretary" if m_index == 0 else "member",
                joined_on=date(1990 + serial % 33, 1 + serial % 12, 1 + serial % 28),
            )
            if b_index == 0 and m_index == 0:
                member.openid = "demo-secretary"
            if b_index == 0 and m_index == 1:
                member.openid = "demo-member"
            db.session.add(member)
            members.append(member)
    db.session.flush()
    ctx.update(committee=committee, admin=admin, branches=branches, members=members,
               secretaries=[m for m in members if m.role == "secretary"])
