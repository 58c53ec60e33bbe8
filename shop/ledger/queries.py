"""Reads for the ledger and payout pages of the console and the portal.

Every producer-facing read takes the producer id and filters by it, so a
producer can never read another's payout (NotFound)."""

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from shop.audit.models import AuditEntry
from shop.catalog.models import Category
from shop.errors import NotFound
from shop.extensions import db
from shop.ledger.models import CommissionOverride, LedgerEntry, Payout
from shop.orders.models import OrderLine, SubOrder
from shop.paging import Page, peek
from shop.producers.models import Producer
from shop.settings.services import get_int

PER_PAGE = 50


@dataclass(frozen=True)
class ProducerBalance:
    producer: Producer
    balance: int  # sum of all entries
    unsettled: int  # entries not yet in a payout
    due: int  # payouts made but not yet sent

    @property
    def consistent(self) -> bool:
        return self.balance == self.unsettled + self.due


def _sum(column):
    return func.coalesce(func.sum(column), 0)


def balances(producer_id: int | None = None) -> list[ProducerBalance]:
    """Each producer with ledger entries: its balance and what it is made of, largest first."""
    unsettled = case((LedgerEntry.payout_id.is_(None), LedgerEntry.amount), else_=0)
    stmt = select(LedgerEntry.producer_id, _sum(LedgerEntry.amount), _sum(unsettled)).group_by(LedgerEntry.producer_id)
    if producer_id is not None:
        stmt = stmt.where(LedgerEntry.producer_id == producer_id)
    sums = {pid: (int(total), int(open_)) for pid, total, open_ in db.session.execute(stmt)}
    due_stmt = (
        select(Payout.producer_id, _sum(Payout.amount)).where(Payout.status == "due").group_by(Payout.producer_id)
    )
    due = {pid: int(total) for pid, total in db.session.execute(due_stmt)}
    producers = {p.id: p for p in db.session.scalars(select(Producer).where(Producer.id.in_(set(sums) | set(due))))}
    rows = [
        ProducerBalance(producers[pid], sums.get(pid, (0, 0))[0], sums.get(pid, (0, 0))[1], due.get(pid, 0))
        for pid in producers
        if producer_id is None or pid == producer_id
    ]
    return sorted(rows, key=lambda r: (-r.balance, r.producer.name))


def balance_of(producer_id: int) -> ProducerBalance:
    found = balances(producer_id)
    if found:
        return found[0]
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound(_("Không tìm thấy nhà sản xuất này; có thể hồ sơ đã bị xoá."))
    return ProducerBalance(producer, 0, 0, 0)


def payouts(
    *,
    status: str | None = None,
    producer_id: int | None = None,
    period_start: date | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[Payout]:
    """Payouts, newest period first; filter by state, producer or week."""
    stmt = select(Payout).options(selectinload(Payout.producer)).order_by(Payout.period_start.desc(), Payout.id.desc())
    if status:
        stmt = stmt.where(Payout.status == status)
    if producer_id is not None:
        stmt = stmt.where(Payout.producer_id == producer_id)
    if period_start is not None:
        stmt = stmt.where(Payout.period_start == period_start)
    return peek(stmt, page, per_page)


@dataclass(frozen=True)
class WeekState:
    """A payout week as the console lists it: closed (its statements made, or a
    close recorded that made none) and how many of its statements are paid."""

    monday: date
    sunday: date
    closed: bool
    statements: int
    paid: int
    amount: int


def week_states(weeks: list[tuple[date, date]]) -> list[WeekState]:
    mondays = [monday for monday, _sunday in weeks]
    made = {
        start: (int(n), int(paid or 0), int(amount or 0))
        for start, n, paid, amount in db.session.execute(
            select(
                Payout.period_start,
                func.count(Payout.id),
                func.sum(case((Payout.status == "paid", 1), else_=0)),
                func.sum(Payout.amount),
            )
            .where(Payout.period_start.in_(mondays))
            .group_by(Payout.period_start)
        )
    }
    # A week closed with nothing due left no statement: its close is only in the log.
    logged = set(
        db.session.scalars(
            select(AuditEntry.target_label).where(
                AuditEntry.action == "payout.close_period",
                AuditEntry.target_label.in_(
                    [f"{m.isoformat()} → {(m + timedelta(days=7)).isoformat()}" for m in mondays]
                ),
            )
        )
    )
    out = []
    for monday, sunday in weeks:
        n, paid, amount = made.get(monday, (0, 0, 0))
        closed = n > 0 or f"{monday.isoformat()} → {(monday + timedelta(days=7)).isoformat()}" in logged
        out.append(WeekState(monday, sunday, closed, n, paid, amount))
    return out


def payout(payout_id: int, producer_id: int | None = None) -> Payout:
    """One payout; with `producer_id`, only if it is that producer's."""
    stmt = select(Payout).where(Payout.id == payout_id).options(selectinload(Payout.producer))
    if producer_id is not None:
        stmt = stmt.where(Payout.producer_id == producer_id)
    found = db.session.scalar(stmt)
    if found is None:
        raise NotFound(_("Không tìm thấy bảng đối soát."))
    return found


def _with_orders(stmt):
    return stmt.options(selectinload(LedgerEntry.sub_order).selectinload(SubOrder.order))


def payout_entries(payout_id: int) -> list[LedgerEntry]:
    """The entries a payout settles (not the payout entry itself), oldest first."""
    return list(
        db.session.scalars(
            _with_orders(
                select(LedgerEntry)
                .where(LedgerEntry.payout_id == payout_id, LedgerEntry.kind != "payout")
                .order_by(LedgerEntry.created_at, LedgerEntry.id)
            )
        )
    )


def unsettled_entries(producer_id: int, limit: int = 500) -> list[LedgerEntry]:
    """A producer's entries not yet in a payout, oldest first."""
    return list(
        db.session.scalars(
            _with_orders(
                select(LedgerEntry)
                .where(
                    LedgerEntry.producer_id == producer_id,
                    LedgerEntry.payout_id.is_(None),
                    LedgerEntry.kind != "payout",
                )
                .order_by(LedgerEntry.created_at, LedgerEntry.id)
                .limit(limit)
            )
        )
    )


def recent_entries(producer_id: int, limit: int = 100) -> list[LedgerEntry]:
    """A producer's latest entries of every kind, newest first (for its detail page)."""
    return list(
        db.session.scalars(
            _with_orders(
                select(LedgerEntry)
                .where(LedgerEntry.producer_id == producer_id)
                .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
                .limit(limit)
            )
        )
    )


def lines_of(entries: list[LedgerEntry]) -> dict[int, OrderLine]:
    ids = {e.order_line_id for e in entries if e.order_line_id is not None}
    if not ids:
        return {}
    return {line.id: line for line in db.session.scalars(select(OrderLine).where(OrderLine.id.in_(ids)))}


# --- commission -------------------------------------------------------------------------


@dataclass(frozen=True)
class CommissionRow:
    producer: Producer
    overrides: list[CommissionOverride]


def commission_rows(search: str = "") -> list[CommissionRow]:
    """Approved and suspended producers with their rates, by name."""
    stmt = select(Producer).where(Producer.status.in_(("approved", "suspended"))).order_by(Producer.name)
    if search.strip():
        stmt = stmt.where(Producer.name.ilike(f"%{search.strip()}%"))
    producers = list(db.session.scalars(stmt.limit(200)))
    overrides: dict[int, list[CommissionOverride]] = {}
    if producers:
        for row in db.session.scalars(
            select(CommissionOverride)
            .where(CommissionOverride.producer_id.in_([p.id for p in producers]))
            .options(selectinload(CommissionOverride.category))
            .order_by(CommissionOverride.id)
        ):
            overrides.setdefault(row.producer_id, []).append(row)
    return [CommissionRow(p, overrides.get(p.id, [])) for p in producers]


def default_rate_bp() -> int:
    return get_int("default_commission_bp")


def categories_for_rates() -> list[Category]:
    """Product groups and sub-groups (level 1 and 2), in tree order."""
    rows = list(
        db.session.scalars(select(Category).where(Category.level <= 2).order_by(Category.position, Category.id))
    )
    children: dict[int | None, list[Category]] = {}
    for c in rows:
        children.setdefault(c.parent_id if c.level > 1 else None, []).append(c)
    out = []
    for top in children.get(None, []):
        out.append(top)
        out.extend(children.get(top.id, []))
    return out
