def test_login_page_renders_in_chromium(page):
    page.goto("/accounts/login/")
    assert page.locator("input[name=login]").is_visible()
