"""Notifications: e-mail to shoppers, producers and operators."""
