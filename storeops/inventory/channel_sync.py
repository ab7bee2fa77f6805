"""What each sales channel should show of the store's stock, and which listings to push.

Rules (pure, :func:`publish_quantity` and :func:`listing_action`):

* quantity to publish = floor(available × the channel's share %) − the channel's buffer,
  never below 0 (``ChannelShare``; a channel without a row publishes 100%, buffer 0);
* a listing whose quantity to publish is 0 is delisted (JD: 库存为 0 的商品下架); a delisted
  listing is relisted as soon as there is something to publish again.

The job (storeops.jobs, helper H) calls :func:`plan_channel_sync` (or
:func:`listings_to_push` for every channel), pushes each listing's ``wanted_qty`` through the
connector's ``push_stock`` and reports back with :func:`mark_pushed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from storeops.common.timeutil import utcnow
from storeops.inventory.models import ChannelListing, ChannelShare, StockLevel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_CHANNEL = "jd"


def publish_quantity(available: int, share_percent: int, buffer: int) -> int:
    """Units a channel shows: floor(available × share_percent / 100) − buffer, at least 0."""
    if available <= 0 or share_percent <= 0:
        return 0
    share = min(share_percent, 100)
    return max(0, available * share // 100 - max(0, buffer))


def listing_action(wanted: int, listed: bool) -> str | None:
    """"delist" when a listed SKU has nothing to publish, "relist" when a delisted one has
    stock again, else None."""
    if listed and wanted <= 0:
        return "delist"
    if not listed and wanted > 0:
        return "relist"
    return None


def channel_share(session: Session, store_id: int, channel: str) -> tuple[int, int]:
    """(share_percent, buffer) of the channel; (100, 0) when the store set none."""
    row = session.scalar(select(ChannelShare).where(ChannelShare.store_id == store_id,
                                                    ChannelShare.channel == channel))
    return (row.share_percent, row.buffer) if row is not None else (100, 0)


def set_channel_share(session: Session, store_id: int, channel: str, share_percent: int,
                      buffer: int = 0) -> ChannelShare:
    """Set what ``channel`` publishes of the available stock (0–100 %, minus ``buffer``)."""
    from storeops.inventory.service import StockError

    if not 0 <= share_percent <= 100 or buffer < 0:
        raise StockError(f"channel {channel!r}: share must be 0–100 % and buffer ≥ 0"
                         f" (got {share_percent} %, {buffer})", key="stock.bad_share",
                         channel=channel, share=share_percent, buffer=buffer)
    row = session.scalar(select(ChannelShare).where(ChannelShare.store_id == store_id,
                                                    ChannelShare.channel == channel))
    if row is None:
        row = ChannelShare(store_id=store_id, channel=channel)
        session.add(row)
    row.share_percent = share_percent
    row.buffer = buffer
    session.flush()
    return row


def plan_channel_sync(session: Session, store_id: int, channel: str = DEFAULT_CHANNEL
                      ) -> list[ChannelListing]:
    """Work out every stocked SKU's quantity for ``channel`` (``wanted_qty``, ``listed``) and
    return the listings whose wanted quantity differs from what was last published (never
    published counts as different), by product id."""
    share, buffer = channel_share(session, store_id, channel)
    available = session.execute(
        select(StockLevel.product_id,
               func.sum(StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_buffer))
        .where(StockLevel.store_id == store_id,
               StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_buffer > 0)
        .group_by(StockLevel.product_id)
    ).all()
    free = {pid: int(q or 0) for pid, q in available}
    stocked = set(session.scalars(select(StockLevel.product_id)
                                  .where(StockLevel.store_id == store_id)))
    listings = {row.product_id: row for row in session.scalars(
        select(ChannelListing).where(ChannelListing.store_id == store_id,
                                     ChannelListing.channel == channel))}
    out = []
    for pid in sorted(stocked | set(listings)):
        listing = listings.get(pid)
        if listing is None:
            listing = ChannelListing(store_id=store_id, channel=channel, product_id=pid,
                                     published_qty=None, wanted_qty=0, listed=True)
            session.add(listing)
        wanted = publish_quantity(free.get(pid, 0), share, buffer)
        listing.wanted_qty = wanted
        action = listing_action(wanted, bool(listing.listed))
        if action is not None:
            listing.listed = action == "relist"
        if listing.published_qty != wanted:
            out.append(listing)
    session.flush()
    return out


def listings_to_push(session: Session, store_id: int) -> list[ChannelListing]:
    """:func:`plan_channel_sync` over every channel the store shares stock with (``jd`` when
    it set none)."""
    channels = sorted(set(session.scalars(
        select(ChannelShare.channel).where(ChannelShare.store_id == store_id))))
    out: list[ChannelListing] = []
    for channel in channels or [DEFAULT_CHANNEL]:
        out.extend(plan_channel_sync(session, store_id, channel))
    return out


def mark_pushed(session: Session, listing: ChannelListing, qty: int,
                error: str | None = None) -> None:
    """Record a push: ``qty`` is now published (``error`` None), or the push failed with
    ``error`` and the listing stays due for the next run."""
    if error is None:
        listing.published_qty = qty
        listing.pushed_at = utcnow()
        listing.error = None
    else:
        listing.error = error
    session.flush()
