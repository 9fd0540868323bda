"""What every page shows about the product itself."""

from django.conf import settings


def product(request) -> dict:
    return {"PRODUCT_NAME": settings.PRODUCT_NAME}
