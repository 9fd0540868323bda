from django.urls import path

from . import api, views

urlpatterns = [
    path("notifications/", views.inbox, name="notifications"),
    path("notifications/read-all/", views.read_all, name="notifications_read_all"),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
    path("notifications/settings/<str:token>/", views.notification_settings_signed,
         name="notification_settings_signed"),
    path("notifications/<int:notification_id>/", views.notification_open, name="notification_open"),
]

collective_urlpatterns = [
    path("settings/reminders/", views.reminder_settings, name="reminder_settings"),
]

me_api_urlpatterns = [
    path("me/", api.MeView.as_view(), name="api-me"),
    path("me/notifications/", api.NotificationViewSet.as_view({"get": "list"}), name="api-notifications"),
    path("me/notifications/read-all/", api.NotificationViewSet.as_view({"post": "read_all"}),
         name="api-notifications-read-all"),
    path("me/notifications/<int:pk>/read/", api.NotificationViewSet.as_view({"post": "read"}),
         name="api-notification-read"),
    path("me/notification-settings/", api.NotificationSettingsView.as_view(), name="api-notification-settings"),
]

api_urlpatterns = [
    path("reminders/", api.ReminderSettingsView.as_view(), name="api-reminders"),
]
