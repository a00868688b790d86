"""chain request outcome: per-stage decisions, infeasibility reasons and the alternatives a coordinator may swap in

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-22 20:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chain_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('chain_requests', schema=None) as batch_op:
        batch_op.drop_column('outcome')
