"""Notifications: what the loop tells each person, in the app and by email, and the reminders' settings.

Services of every app record notifications in their own transaction through
`services.notify`; emails leave after commit through Celery. Each app
declares the kinds it records (`kinds.register`), with the sentence that
renders one in the reader's language.
"""
