"""operations catalogue, materials, a listing's operations and engineering parameters, reference versions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('operations',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('parent_id', sa.String(length=80), nullable=True),
    sa.Column('family', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('synonyms', sa.JSON(), nullable=False),
    sa.Column('okved2', sa.JSON(), nullable=False),
    sa.Column('okpd2', sa.JSON(), nullable=False),
    sa.Column('equipment', sa.JSON(), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('generic', sa.Boolean(), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['operations.id'], name=op.f('fk_operations_parent_id_operations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operations'))
    )
    op.create_index(op.f('ix_operations_parent_id'), 'operations', ['parent_id'], unique=False)
    op.create_table('materials',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('parent_id', sa.String(length=80), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('synonyms', sa.JSON(), nullable=False),
    sa.Column('grades', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['materials.id'], name=op.f('fk_materials_parent_id_materials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_materials'))
    )
    op.create_table('reference_versions',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_reference_versions'))
    )
    op.create_table('listing_operations',
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('operation_id', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_listing_operations_listing_id_listings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['operation_id'], ['operations.id'], name=op.f('fk_listing_operations_operation_id_operations')),
    sa.PrimaryKeyConstraint('listing_id', 'operation_id', name=op.f('pk_listing_operations'))
    )
    op.create_index(op.f('ix_listing_operations_operation_id'), 'listing_operations', ['operation_id'], unique=False)
    with op.batch_alter_table('listings') as batch:
        batch.add_column(sa.Column('parameters', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('listings') as batch:
        batch.drop_column('parameters')
    op.drop_index(op.f('ix_listing_operations_operation_id'), table_name='listing_operations')
    op.drop_table('listing_operations')
    op.drop_table('reference_versions')
    op.drop_table('materials')
    op.drop_index(op.f('ix_operations_parent_id'), table_name='operations')
    op.drop_table('operations')
