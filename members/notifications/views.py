"""Pages of notifications: the inbox, opening one, my settings (also through a signed link), the reminders."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contrib_budget.errors import DomainError
from contrib_budget.forms import add_domain_error
from contrib_budget.tenancy import role_required
from members.models import Role

from . import reminders, selectors, services
from .emails import user_from_settings_token
from .forms import NotificationSettingsForm, ReminderSettingsForm

INBOX_PAGE_SIZE = 50


@login_required
def inbox(request):
    unread = request.GET.get("unread") == "1"
    page = Paginator(selectors.inbox(request.user, unread=unread), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {
        "page": page, "days": selectors.grouped_by_day(page.object_list), "unread": unread,
    })


@login_required
def notification_open(request, notification_id):
    """Following a notification marks it read, then leads to its object."""
    try:
        notification = services.notification_mark_read(user=request.user, notification_id=notification_id)
    except DomainError:
        raise Http404 from None
    if not url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
        return redirect("notifications")
    return redirect(notification.url)


@require_POST
@login_required
def read_all(request):
    marked = services.notifications_mark_all_read(user=request.user)
    messages.success(request, _("%(count)s notifications marked read.") % {"count": marked})
    return redirect("notifications")


def _settings_page(request, user, *, signed: bool):
    form = NotificationSettingsForm(request.POST or None, preferences=selectors.preferences_of(user),
                                    initial={"language": user.language})
    if request.method == "POST" and request.POST.get("all_off"):
        off = {code: {"email": "off"} for code in selectors.preferences_of(user)}
        services.notification_settings_update(user=user, kinds=off)
        messages.success(request, _("You will get no more emails from contrib_budget."))
        return redirect(request.path)
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_settings_update(user=user, kinds=form.changes(),
                                                  language=form.cleaned_data["language"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Your notification settings are saved."))
            return redirect(request.path)
    return render(request, "notifications/settings.html", {"form": form, "signed": signed, "person": user},
                  status=400 if form.errors else 200)


@login_required
def notification_settings(request):
    return _settings_page(request, request.user, signed=False)


def notification_settings_signed(request, token):
    """The link in every email: changes the settings of the person it was sent to, without logging in."""
    user = user_from_settings_token(token)
    if user is None:
        raise Http404
    return _settings_page(request, user, signed=True)


@role_required(Role.COORDINATOR)
def reminder_settings(request, collective_slug):
    current = reminders.settings_of(request.collective)
    initial = {field: getattr(current, field) for field in services.REMINDER_FIELDS}
    form = ReminderSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.reminder_settings_update(collective=request.collective, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The reminders of %(name)s are saved.") % {"name": request.collective.name})
            return redirect("reminder_settings", collective_slug)
    return render(request, "notifications/reminders.html", {"collective": request.collective, "form": form},
                  status=400 if form.errors else 200)
