"""organizations.merged_into_id: the organization an administrator merged this duplicate (same ИНН) into

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 21:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    # Not a batch copy on SQLite: dropping the old organizations under PRAGMA foreign_keys=ON would cascade to every
    # row that references it. SQLite adds a column with an inline REFERENCES (NULL by default) in place.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE organizations ADD COLUMN merged_into_id INTEGER '
                   'CONSTRAINT fk_organizations_merged_into_id_organizations REFERENCES organizations (id)')
        return
    op.add_column('organizations', sa.Column(
        'merged_into_id', sa.Integer(),
        sa.ForeignKey('organizations.id', name=op.f('fk_organizations_merged_into_id_organizations')),
        nullable=True))


def downgrade():
    with op.batch_alter_table('organizations') as batch:
        batch.drop_constraint(op.f('fk_organizations_merged_into_id_organizations'), type_='foreignkey')
        batch.drop_column('merged_into_id')
