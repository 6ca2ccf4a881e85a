"""The verbs of 每日学习, one module per concept; they own their transactions.

- visibility: who sees and who manages which material, and which committee boards a member sees.
- materials: create, edit, publish and withdraw material; the manager's list; who has material on a day.
- plans: importing a study plan (spreadsheet or JSON).
- reading: what a member studies — the archive, today, opening and finishing — and a branch's reading export.
- streaks: a member's progress — per-day counts, the reading streak, the history, the points entries.
- today: the member's list today as /materials/today shows it, cached whole per member (core.fresh).
- branch_today: a branch's list today and its members' past streaks, cached per branch and day, which answer a member
  who has opened nothing today (and give an open or a finish today's item) with no SQL.
- opened: a member's open reading (its id, day and opening time), kept in Redis from the open, so that the finish
  writes without reading the row first.

What the views and the other rooms call is re-exported here, so `from learning import services` and
`from learning.services import x` keep working.
"""
from learning.services.materials import (
    create_material,
    manage_list,
    members_with_material,
    publish_material,
    update_material,
    withdraw_material,
)
from learning.services.plans import PLAN_HEADERS, import_plan_file, import_plan_json
from learning.services.reading import (
    archive,
    decorate,
    decorate_manage,
    export_reading,
    finish_material,
    open_material,
    today_for,
)
from learning.services.streaks import my_reading, point_entries
from learning.services.visibility import (
    can_manage,
    committee_for_board,
    material_for_manager,
    material_for_member,
    subtree_branch_ids,
)

__all__ = ["PLAN_HEADERS", "archive", "can_manage", "committee_for_board", "create_material", "decorate",
           "decorate_manage", "export_reading", "finish_material", "import_plan_file", "import_plan_json",
           "manage_list", "material_for_manager", "material_for_member", "members_with_material", "my_reading",
           "open_material", "point_entries", "publish_material", "subtree_branch_ids", "today_for", "update_material",
           "withdraw_material"]
