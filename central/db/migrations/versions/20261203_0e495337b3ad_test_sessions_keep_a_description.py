"""test sessions keep a description

Revision ID: 0e495337b3ad
Revises: 8c3d5e2f1a47
Create Date: 2026-12-03 14:13:08.927864
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0e495337b3ad'
down_revision: str | None = '8c3d5e2f1a47'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('test_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('test_sessions', schema=None) as batch_op:
        batch_op.drop_column('description')
