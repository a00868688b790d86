"""match runs: when a listing's matches were last computed and what came out

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('match_runs',
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('listing_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stored', sa.Integer(), nullable=False),
    sa.Column('candidates', sa.Integer(), nullable=False),
    sa.Column('active_tier', sa.String(length=16), nullable=True),
    sa.Column('chain_suggested', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_match_runs_listing_id_listings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('listing_id', name=op.f('pk_match_runs'))
    )


def downgrade():
    op.drop_table('match_runs')
