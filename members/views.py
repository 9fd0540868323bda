from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import Membership


@login_required
def home(request):
    memberships = Membership.objects.filter(user=request.user).select_related("collective")
    return render(request, "members/home.html", {"memberships": memberships.order_by("collective__name")})


def collective_dashboard(request, collective_slug):
    return render(request, "members/collective_dashboard.html", {"collective": request.collective})
