"""Forgetting what we no longer need (`flask prune`, safe to run from cron)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update

from app.database import begin_write
from app.extensions import db
from app.models import Comment
from app.models.types import utcnow
from app.services.logins import prune_flows


@dataclass(frozen=True)
class PruneReport:
    address_hashes: int
    login_flows: int


def prune(*, address_days: int) -> PruneReport:
    """Drop address hashes older than `address_days` and sign-in flows past their lifetime."""
    begin_write()
    cleared = db.session.execute(
        update(Comment)
        .where(
            Comment.remote_addr_hash.is_not(None),
            Comment.created_at < utcnow() - timedelta(days=address_days),
        )
        .values(remote_addr_hash=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return PruneReport(address_hashes=cleared, login_flows=prune_flows())
