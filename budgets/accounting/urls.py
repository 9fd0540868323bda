collective_urlpatterns: list = []
api_urlpatterns: list = []
