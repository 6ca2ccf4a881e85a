"""The verbs of the organisation: bootstrap, roster import, login, member changes. They own transactions."""
import re
from datetime import date, datetime

from flask import current_app
from limits import parse
from sqlalchemy import func, select

from core import audit, clock, wechat
from core.audit import AuditEntry
from core.db import commit_or_conflict
from core.errors import AppError, Conflict, Forbidden, Invalid, RateLimited, Unavailable
from core.extensions import db, limiter
from core.schemas import paginate
from core.tables import read_upload, reject_rows, row_error
from members import auth
from members.models import ROLE_LABELS, Branch, Committee, Member, PartyGroup
from members.scope import member_write_refusal, members_in_scope_clause, needs_branch, subtree_committee_ids

ROSTER_HEADERS = ("姓名", "手机号", "支部", "党小组", "角色", "入党日期")
ROSTER_REQUIRED = ("姓名", "手机号", "支部", "角色")
ROLE_BY_LABEL = {label: role for role, label in ROLE_LABELS.items()}
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalise_phone(raw):
    """Return an 11-digit mainland mobile number, or None if it is not one."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if PHONE_RE.match(digits) else None


# --- organisation ------------------------------------------------------------------------------

def create_committee(name, parent=None):
    """Create a committee (under parent, if given) with its subtree path."""
    committee = Committee(name=name, parent_id=parent.id if parent else None, path="/")
    db.session.add(committee)
    db.session.flush()
    committee.path = (parent.path if parent else "/") + f"{committee.id}/"
    return committee


def bootstrap(committee_name, admin_name, admin_phone):
    """Create a committee and its first admin (the CLI's `org bootstrap`)."""
    phone = normalise_phone(admin_phone)
    if phone is None:
        raise Invalid("管理员手机号格式不正确", details={"admin_phone": ["应为 11 位手机号"]})
    if db.session.scalar(select(Committee).where(Committee.name == committee_name)):
        raise Conflict(f"党委“{committee_name}”已存在", code="committee_exists")
    if db.session.scalar(select(Member).where(Member.phone == phone)):
        raise Conflict("该手机号已在名册中", code="phone_taken")
    committee = create_committee(committee_name)
    admin = Member(name=admin_name, phone=phone, committee_id=committee.id, role="admin", joined_on=None)
    db.session.add(admin)
    audit.record(None, "org.bootstrap", "committee", committee.id, name=committee_name, admin_phone=phone)
    db.session.commit()
    return committee, admin


def branch_overview(committee):
    """Branches in a committee's subtree with their active member counts."""
    counts = (select(Member.branch_id, func.count().label("n")).where(Member.active.is_(True))
              .group_by(Member.branch_id).subquery())
    rows = db.session.execute(
        select(Branch, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.branch_id == Branch.id)
        .join(Committee, Committee.id == Branch.committee_id)
        .where(Committee.path.like(committee.path + "%")).order_by(Branch.committee_id, Branch.name)
    ).all()
    return [{"id": b.id, "name": b.name, "committee_id": b.committee_id, "committee_name": b.committee.name,
             "member_count": n} for b, n in rows]


def list_branch_members(branch, q=None, active=None, bound=None):
    """A select of a branch's members, optionally filtered by name (or phone), active flag and WeChat binding."""
    stmt = select(Member).where(Member.branch_id == branch.id)
    if q:
        stmt = stmt.where(Member.name.contains(q.strip(), autoescape=True)
                          | Member.phone.contains(q.strip(), autoescape=True))
    if active is not None:
        stmt = stmt.where(Member.active.is_(active))
    if bound is not None:
        stmt = stmt.where(Member.openid.is_not(None) if bound else Member.openid.is_(None))
    return stmt.order_by(Member.name, Member.id)


# --- roster import -----------------------------------------------------------------------------

def import_roster(actor, file_storage, committee, branch=None):
    """Validate a whole roster file, then apply every row or none. Returns counts."""
    rows = read_upload(file_storage, ROSTER_HEADERS, ROSTER_REQUIRED, current_app.config["IMPORT_MAX_ROWS"])
    parsed, errors = _validate_roster(actor, rows, committee, branch)
    if errors:
        reject_rows(errors)
    result = _apply_roster(actor, parsed, committee)
    audit.record(actor, "roster.import", "branch" if branch else "committee", (branch or committee).id,
                 filename=file_storage.filename, **result)
    commit_or_conflict(Conflict("名册正被同时导入，请稍后重试", code="import_conflict"))
    return result


REFUSAL_COLUMNS = {"member": "手机号", "branch": "支部", "role": "角色"}


def _validate_roster(actor, rows, committee, branch):
    errors, parsed, seen = [], [], {}
    phones = [normalise_phone(r["手机号"]) for _, r in rows]
    existing = _members_by_phone([p for p in phones if p])
    branches = {b.name: b for b in db.session.scalars(select(Branch).where(Branch.committee_id == committee.id))}
    for (number, row), phone in zip(rows, phones):
        problems = _text_problems(number, row, branch)
        name, branch_name, group_name = row["姓名"], row["支部"], row.get("党小组", "")
        if phone is None:
            problems.append(row_error(number, "手机号", "手机号格式不正确，应为 11 位手机号"))
        elif phone in seen:
            problems.append(row_error(number, "手机号", f"与第 {seen[phone]} 行的手机号重复"))
        else:
            seen[phone] = number
        role = ROLE_BY_LABEL.get(row["角色"])
        if role is None:
            problems.append(row_error(number, "角色", "角色应为 党员、支部书记 或 党委管理员"))
        joined_on, reason = _parse_date(row.get("入党日期", ""))
        if reason:
            problems.append(row_error(number, "入党日期", reason))
        current = existing.get(phone)
        # A branch the file names that does not exist yet is created in `committee`, which is already in scope.
        refusal = member_write_refusal(actor, current, branches.get(branch_name), role) if phone else None
        if refusal is not None:
            problems.append(row_error(number, REFUSAL_COLUMNS[refusal[0]], refusal[1]))
        if problems:
            errors.extend(problems)
        else:
            parsed.append({"name": name, "phone": phone, "branch": branch_name, "group": group_name or None,
                           "role": role, "joined_on": joined_on, "current": current})
    return parsed, errors


def _text_problems(number, row, branch):
    """The row's name, branch and group: present where required, within their lengths, the import's own branch."""
    problems = []
    name, branch_name = row["姓名"], row["支部"]
    if not name:
        problems.append(row_error(number, "姓名", "姓名不能为空"))
    elif len(name) > 50:
        problems.append(row_error(number, "姓名", "姓名不能超过 50 个字"))
    if not branch_name:
        problems.append(row_error(number, "支部", "支部不能为空"))
    elif len(branch_name) > 100:
        problems.append(row_error(number, "支部", "支部名称不能超过 100 个字"))
    elif branch is not None and branch_name != branch.name:
        problems.append(row_error(number, "支部", f"只能导入本支部（{branch.name}）的党员"))
    if len(row.get("党小组", "")) > 100:
        problems.append(row_error(number, "党小组", "党小组名称不能超过 100 个字"))
    return problems


def _members_by_phone(phones):
    found = {}
    for start in range(0, len(phones), 1000):
        chunk = phones[start:start + 1000]
        for member in db.session.scalars(select(Member).where(Member.phone.in_(chunk))):
            found[member.phone] = member
    return found


def _parse_date(raw):
    if not raw:
        return None, None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"):
        try:
            value = datetime.strptime(raw, fmt).date()
            break
        except ValueError:
            continue
    else:
        return None, "日期格式应为 YYYY-MM-DD"
    if value > clock.today():
        return None, "入党日期不能晚于今天"
    if value < date(1921, 7, 1):
        return None, "入党日期不合理"
    return value, None


def _apply_roster(actor, parsed, committee):
    branches = {b.name: b for b in db.session.scalars(select(Branch).where(Branch.committee_id == committee.id))}
    groups = {}
    created = updated = unchanged = 0
    for item in parsed:
        branch = branches.get(item["branch"])
        if branch is None:
            branch = branches[item["branch"]] = Branch(committee_id=committee.id, name=item["branch"])
            db.session.add(branch)
            db.session.flush()
        group_id = None
        if item["group"]:
            group_id = _group_id(groups, branch, item["group"])
        values = {"name": item["name"], "branch_id": branch.id, "group_id": group_id, "role": item["role"],
                  "committee_id": branch.committee_id}
        if item["joined_on"] is not None:
            values["joined_on"] = item["joined_on"]
        member = item["current"]
        if member is None:
            db.session.add(Member(phone=item["phone"], **values))
            created += 1
        elif any(getattr(member, k) != v for k, v in values.items()):
            if member.branch_id != values["branch_id"]:
                audit.record(actor, "member.move", "member", member.id, from_branch_id=member.branch_id,
                             to_branch_id=values["branch_id"], via="roster")
            if member.role != values["role"]:
                audit.record(actor, "member.role_change", "member", member.id, old=member.role, new=values["role"],
                             via="roster")
            for k, v in values.items():
                setattr(member, k, v)
            updated += 1
        else:
            unchanged += 1
    return {"created": created, "updated": updated, "unchanged": unchanged}


def _group_id(cache, branch, name):
    key = (branch.id, name)
    if key not in cache:
        group = db.session.scalar(select(PartyGroup).where(PartyGroup.branch_id == branch.id,
                                                           PartyGroup.name == name))
        if group is None:
            group = PartyGroup(branch_id=branch.id, name=name)
            db.session.add(group)
            db.session.flush()
        cache[key] = group.id
    return cache[key]


# --- member changes ----------------------------------------------------------------------------

def update_member(actor, member, changes):
    """Change a member's role, active flag, name, group or join date, within the actor's powers.

    Deactivation revokes sessions. Every change is audited with its old and new value.
    """
    if member.id == actor.id and ({"role", "active"} & set(changes)):
        raise Forbidden("不能修改自己的角色或状态")
    refusal = member_write_refusal(actor, member, role=changes.get("role"))
    if refusal is not None:
        raise Forbidden(refusal[1])
    _update_details(actor, member, changes)
    if "role" in changes and changes["role"] != member.role:
        if needs_branch(changes["role"]) and member.branch_id is None:
            raise Invalid("该成员不属于任何支部，不能设为党员或支部书记")
        audit.record(actor, "member.role_change", "member", member.id, old=member.role, new=changes["role"])
        member.role = changes["role"]
    if "active" in changes and changes["active"] != member.active:
        member.active = changes["active"]
        if not member.active:
            auth.revoke_all_sessions(member.id)
        audit.record(actor, "member.activate" if member.active else "member.deactivate", "member", member.id)
    db.session.commit()
    return member


def _update_details(actor, member, changes):
    details = {}
    if "name" in changes and changes["name"].strip() != member.name:
        name = changes["name"].strip()
        if not name:
            raise Invalid.field("姓名不能为空", "name", "不能为空")
        details["name"], member.name = [member.name, name], name
    if "group_id" in changes and changes["group_id"] != member.group_id:
        group = db.session.get(PartyGroup, changes["group_id"]) if changes["group_id"] is not None else None
        if changes["group_id"] is not None and (group is None or group.branch_id != member.branch_id):
            raise Invalid.field("党小组须属于该党员所在支部", "group_id", "不属于本支部")
        details["group_id"], member.group_id = [member.group_id, changes["group_id"]], changes["group_id"]
    if "joined_on" in changes and changes["joined_on"] != member.joined_on:
        if changes["joined_on"] is not None and changes["joined_on"] > clock.today():
            raise Invalid.field("入党日期不能晚于今天", "joined_on", "不能晚于今天")
        details["joined_on"] = [str(member.joined_on or ""), str(changes["joined_on"] or "")]
        member.joined_on = changes["joined_on"]
    if details:
        audit.record(actor, "member.update", "member", member.id, changes=details)


def unbind_wechat(actor, member):
    """Release a member's WeChat binding (a new phone or account); their sessions end, and the next login binds anew."""
    if member.openid is None:
        raise Conflict("该党员尚未绑定微信", code="not_bound")
    audit.record(actor, "member.unbind_wechat", "member", member.id)
    member.openid = member.unionid = None
    auth.revoke_all_sessions(member.id)
    db.session.commit()
    return member


# --- login -------------------------------------------------------------------------------------

def login_with_wechat(code, phone_code=None):
    """Exchange a wx.login code for a session; bind the openid by phone on first login."""
    session_info = _wechat_call(wechat.code2session, code)
    openid = session_info["openid"]
    _limit_openid(openid)
    member = db.session.scalar(select(Member).where(Member.openid == openid))
    if member is None:
        if not phone_code:
            raise Forbidden("该微信尚未绑定党员身份，请授权手机号完成绑定", code="not_bound")
        member = _bind_by_phone(openid, session_info.get("unionid"), phone_code)
    if not member.active:
        raise Forbidden("账号已停用，请联系支部书记", code="member_inactive")
    token, expires_at = auth.issue_token(member)
    db.session.commit()
    return {"token": token, "expires_at": expires_at, "member": member}


def _bind_by_phone(openid, unionid, phone_code):
    info = _wechat_call(wechat.phone_number, phone_code)
    phone = normalise_phone(info.get("purePhoneNumber") or info.get("phoneNumber"))
    if info.get("countryCode") not in (None, "86") or phone is None:
        raise Forbidden("该手机号不在党员名册中，请联系支部书记", code="phone_not_in_roster")
    member = db.session.scalar(select(Member).where(Member.phone == phone).with_for_update(of=Member))
    if member is None:
        raise Forbidden("该手机号不在党员名册中，请联系支部书记", code="phone_not_in_roster")
    if member.openid and member.openid != openid:
        raise Conflict("该党员已绑定其他微信，请联系支部书记解绑", code="already_bound")
    if not member.active:
        raise Forbidden("账号已停用，请联系支部书记", code="member_inactive")
    member.openid = openid
    member.unionid = unionid
    commit_or_conflict(Conflict("该微信已绑定其他党员", code="already_bound"), flush=True)
    return member


WECHAT_LOGIN_ERRORS = {
    40029: ("wechat_code_invalid", "登录凭证无效，请重新进入小程序", 400),
    40163: ("wechat_code_used", "登录凭证已使用，请重新进入小程序", 400),
    45011: ("rate_limited", "登录过于频繁，请稍后再试", 429),
    40226: ("wechat_user_blocked", "该微信账号存在风险，无法登录", 403),
}


def _wechat_call(fn, *args):
    try:
        return fn(*args)
    except wechat.WeChatUnavailable:
        raise Unavailable("微信服务暂时不可用，请稍后再试", code="wechat_unavailable")
    except wechat.WeChatError as exc:
        code, message, status = WECHAT_LOGIN_ERRORS.get(
            exc.errcode, ("wechat_error", "微信登录失败，请稍后再试", 502 if exc.errcode in (40013, 40125) else 400))
        if status == 502:
            raise Unavailable("微信登录配置有误，请联系管理员", code="wechat_misconfigured")
        raise AppError(message, code=code, status=status, details={"errcode": exc.errcode})


def _limit_openid(openid):
    item = parse(current_app.config["RATELIMIT_LOGIN_OPENID"])
    if current_app.config.get("RATELIMIT_ENABLED", True) and not limiter.limiter.hit(item, "login-openid", openid):
        raise RateLimited("登录过于频繁，请稍后再试")


def members_visible_to(viewer):
    return select(Member).where(members_in_scope_clause(viewer))


def audit_page(committee, page, per_page, action=None, actor_id=None):
    """One page of the audit trail under a committee's subtree, newest first, with each actor's name."""
    stmt = (db.select(AuditEntry).where(AuditEntry.committee_id.in_(subtree_committee_ids(committee.id)))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor_id:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    result = paginate(stmt, page, per_page)
    ids = {e.actor_id for e in result["items"] if e.actor_id}
    names = dict(db.session.execute(select(Member.id, Member.name).where(Member.id.in_(ids))).all()) if ids else {}
    result["items"] = [{"id": e.id, "at": e.at, "actor_id": e.actor_id, "actor_name": names.get(e.actor_id),
                        "committee_id": e.committee_id, "action": e.action, "target_type": e.target_type,
                        "target_id": e.target_id, "details": e.details} for e in result["items"]]
    return result
