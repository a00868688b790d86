"""users.personal_data_consent_at: when the user agreed to the processing of personal data (152-ФЗ, art. 9)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 03:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('personal_data_consent_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('personal_data_consent_at')
