"""projects keep the camera's lens, resolution and frame rate

Revision ID: 1096da252961
Revises: da98ba8a89db
Create Date: 2026-11-24 12:46:12.012806
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1096da252961'
down_revision: str | None = 'da98ba8a89db'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lens_type', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('resolution', sa.String(length=32), nullable=True, comment='e.g. 1920x1080'))
        batch_op.add_column(sa.Column('frame_rate', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('frame_rate')
        batch_op.drop_column('resolution')
        batch_op.drop_column('lens_type')

