"""sessions keep each ground-truth track's outcome (issue #12)

Revision ID: 4f1c2a9e7b30
Revises: 1096da252961
Create Date: 2026-12-03 13:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4f1c2a9e7b30"
down_revision: str | None = "1096da252961"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "track_results",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("test_session_id", sa.String(length=36), nullable=False),
        sa.Column("detection_id", sa.String(length=64), nullable=False),
        sa.Column("vru_type", sa.String(length=32), nullable=False),
        sa.Column("first_frame", sa.Integer(), nullable=False),
        sa.Column("last_frame", sa.Integer(), nullable=False),
        sa.Column("frames_seen", sa.Integer(), nullable=False),
        sa.Column(
            "frames_counted", sa.Integer(), nullable=False, comment="boxes not marked difficult"
        ),
        sa.Column("frames_matched", sa.Integer(), nullable=False),
        sa.Column("first_matched_frame", sa.Integer(), nullable=True),
        sa.Column("ttfd_ms", sa.Float(), nullable=True, comment="time to first detection"),
        sa.Column("recall", sa.Float(), nullable=True),
        sa.Column("never_detected", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["test_session_id"],
            ["test_sessions.id"],
            name=op.f("fk_track_results_test_session_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_track_results")),
    )
    with op.batch_alter_table("track_results", schema=None) as batch_op:
        batch_op.create_index(
            "idx_track_result_session_type", ["test_session_id", "vru_type"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("track_results", schema=None) as batch_op:
        batch_op.drop_index("idx_track_result_session_type")
    op.drop_table("track_results")
