"""execution configs keep size bins and slice criteria (issue #12)

Revision ID: 8c3d5e2f1a47
Revises: 4f1c2a9e7b30
Create Date: 2026-12-03 14:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '8c3d5e2f1a47'
down_revision: str | None = '4f1c2a9e7b30'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('test_execution_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size_bin_edges_px', sa.JSON(), nullable=True, comment='box-height bin edges; null: the default'))
        batch_op.add_column(sa.Column('criteria', sa.JSON(), nullable=True, comment='pass/fail criteria on slices'))


def downgrade() -> None:
    with op.batch_alter_table('test_execution_configs', schema=None) as batch_op:
        batch_op.drop_column('criteria')
        batch_op.drop_column('size_bin_edges_px')
