"""sessions have one owning central: its lease and stop requests

Revision ID: b7e1d0c4a9f2
Revises: 0e495337b3ad
Create Date: 2026-12-04 19:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e1d0c4a9f2"
down_revision: str | None = "0e495337b3ad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("test_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "owner_id",
                sa.String(length=128),
                nullable=True,
                comment="instance id of the central that runs the session (its lease)",
            )
        )
        batch_op.add_column(
            sa.Column(
                "lease_expires_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="the owner's lease ends here unless renewed; then another central takes over",
            )
        )
        batch_op.add_column(
            sa.Column(
                "stop_requested_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="a stop was asked for (at any central); the owner carries it out",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("test_sessions", schema=None) as batch_op:
        batch_op.drop_column("stop_requested_at")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("owner_id")
