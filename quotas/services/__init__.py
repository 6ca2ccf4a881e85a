"""The verbs of 1+4+1, one module per concept; they own their transactions.

- policy: setting a committee's or a branch's yearly quotas (the reads live in quotas/stats.py).
- exchanges: who sees an exchange; proposing, editing, reviewing and cancelling one; settling it once held.
- attendance: the secretary's attendance marks and the member's check-in by code.
- books: book reports — submit, revise, review, and the branch's and member's lists.
- tally: a member's progress, the branch board, its exports and postings (公示).

What the views and the other rooms call is re-exported here, so `from quotas import services` and
`from quotas.services import x` keep working.
"""
from quotas.services.attendance import attendance_rows, check_in, checkin_code, mark_attendance, remove_attendance
from quotas.services.books import book_for, branch_books, member_books, review_book, revise_book, submit_book
from quotas.services.exchanges import (
    cancel_exchange,
    create_exchange,
    exchange_detail,
    exchange_for,
    list_exchanges,
    review_exchange,
    settle_held_exchanges,
    update_exchange,
)
from quotas.services.policy import (
    clear_branch_policy,
    committee_policy,
    effective_policy,
    set_branch_policy,
    set_committee_policy,
)
from quotas.services.tally import (
    BOARD_HEADERS,
    export_board,
    list_postings,
    member_progress,
    post_all_branches,
    post_tally,
    posting_for,
)

__all__ = ["BOARD_HEADERS", "attendance_rows", "book_for", "branch_books", "cancel_exchange", "check_in",
           "checkin_code", "clear_branch_policy", "committee_policy", "create_exchange", "effective_policy",
           "exchange_detail", "exchange_for", "export_board", "list_exchanges", "list_postings", "mark_attendance",
           "member_books", "member_progress", "post_all_branches", "post_tally", "posting_for", "remove_attendance",
           "review_book", "review_exchange", "revise_book", "set_branch_policy", "set_committee_policy",
           "settle_held_exchanges", "submit_book", "update_exchange"]
