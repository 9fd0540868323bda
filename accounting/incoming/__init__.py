"""Importing the money that arrives: a bank statement's credits or a donation platform's export, read into lines
(readers), matched to pledged fundings or recorded as new ones after a preview (services)."""
