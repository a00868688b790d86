"""Notifications are stored once per event and e-mailed through a real SMTP server when one is configured."""
from marketplace.core.models import utcnow
from marketplace.notifications.models import Notification
from marketplace.notifications.services import email_notification, notify


def test_notify_is_deduplicated(db, factories):
    org = factories.organization()
    first = notify(org.id, "new_match", "Новое совпадение", dedup_key="match:1")
    again = notify(org.id, "new_match", "Новое совпадение", dedup_key="match:1")
    assert first is not None and again is None
    assert db.session.query(Notification).filter_by(organization_id=org.id).count() == 1


def test_email_goes_to_confirmed_members_through_smtp(app, db, factories, smtp_server):
    url, inbox = smtp_server
    org = factories.organization()
    factories.user(organization=org, email_confirmed_at=utcnow())
    factories.user(organization=org)  # unconfirmed: gets nothing
    note = notify(org.id, "new_match", "Подходящая потребность", body="Заказчику нужна токарная обработка",
                  link="/needs/1")
    db.session.commit()
    app.config["SMTP_URL"] = url
    try:
        assert email_notification(note.id) is True
        assert email_notification(note.id) is False  # already sent: safe to repeat
    finally:
        app.config["SMTP_URL"] = None
    assert len(inbox.messages) == 1
    rcpt, content = inbox.messages[0]
    assert len(rcpt) == 1 and "Subject:" in content


def test_without_smtp_the_message_is_logged(app, db, factories, caplog):
    org = factories.organization()
    factories.user(organization=org, email_confirmed_at=utcnow())
    note = notify(org.id, "new_match", "Подходящая потребность")
    db.session.commit()
    with caplog.at_level("WARNING"):
        assert email_notification(note.id) is False
    assert "SMTP is not configured" in caplog.text
