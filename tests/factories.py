"""Build test data directly in the database; tests then act through the HTTP API."""
import io
import itertools
from datetime import datetime
from types import SimpleNamespace

from core import clock
from core.extensions import db
from members.models import Branch, Member, PartyGroup
from members.services import create_committee

_phones = itertools.count(1)


def next_phone():
    return f"139{next(_phones):08d}"


def committee(name, parent=None):
    c = create_committee(name, parent)
    db.session.commit()
    return c


def branch(committee, name):
    b = Branch(committee_id=committee.id, name=name)
    db.session.add(b)
    db.session.commit()
    return b


def group(branch, name):
    g = PartyGroup(branch_id=branch.id, name=name)
    db.session.add(g)
    db.session.commit()
    return g


def member(branch=None, role="member", committee=None, name=None, active=True, **extra):
    m = Member(name=name or f"党员{next(_phones)}", phone=extra.pop("phone", None) or next_phone(),
               committee_id=(committee or branch.committee).id, branch_id=branch.id if branch else None,
               role=role, active=active, **extra)
    db.session.add(m)
    db.session.commit()
    return m


def standard_org():
    """The cast every scope test uses: A (branches A1, A2) and B (branch B1), each role once."""
    ca, cb = committee("甲党委"), committee("乙党委")
    a1, a2, b1 = branch(ca, "甲一支部"), branch(ca, "甲二支部"), branch(cb, "乙一支部")
    return SimpleNamespace(
        committee_a=ca, committee_b=cb, branch_a=a1, branch_a2=a2, branch_b=b1,
        member_a=member(a1, name="张三"), member_a2=member(a1, name="李四"), member_b=member(b1, name="王五"),
        member_a2_branch=member(a2, name="赵六"),
        secretary_a=member(a1, "secretary", name="钱书记"), secretary_b=member(b1, "secretary", name="孙书记"),
        secretary_a2=member(a2, "secretary", name="周书记"),
        admin_a=member(None, "admin", committee=ca, name="吴管理"), admin_b=member(None, "admin", committee=cb,
                                                                               name="郑管理"),
    )


def login_headers(client, fake_wechat, member):
    """Bind the member to an openid (if not yet) and log in through /auth/wechat with a fake code."""
    if member.openid is None:
        member.openid = f"openid-{member.id}"
        db.session.commit()
    response = client.post("/api/v1/auth/wechat", json={"code": fake_wechat.login_code(member.openid)})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": "Bearer " + response.get_json()["token"]}


def csv_upload(rows, headers, filename="data.csv", encoding="utf-8-sig"):
    """A multipart file tuple for the test client, from header + rows."""
    lines = [",".join(headers)] + [",".join(str(c) for c in r) for r in rows]
    return (io.BytesIO(("\n".join(lines) + "\n").encode(encoding)), filename)


def local_time(text):
    """'YYYY-MM-DD HH:MM' on the business calendar (Asia/Shanghai), as an aware datetime."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=clock.TZ)
