"""action_audit: a hash of the values an action was called with, for the per-target hourly limit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("action_audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_action_audit_target", ["target"])


def downgrade() -> None:
    with op.batch_alter_table("action_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_action_audit_target")
        batch_op.drop_column("target")
