"""listing_readings: the acceptability rule's reading of each listing, stored once (a cache a match reads)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'listing_readings',
        sa.Column('listing_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=32), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_readings_listing_id_listings'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('listing_id', name=op.f('pk_listing_readings')),
    )


def downgrade():
    op.drop_table('listing_readings')
