"""Error pages keep the navigation and say what to do; the API keeps its JSON."""

from django.test import RequestFactory
from django.urls import reverse

from msops.tenancy.api.exceptions import server_error
from tests.factories import ClientFactory


def test_a_403_keeps_the_navigation_and_gives_the_reason(login, org, developer):
    client = ClientFactory(organization=org, name="Globex")
    url = reverse("transitions:client_brief", kwargs={"org": org.slug, "pk": client.pk})
    response = login(developer).get(url)
    assert response.status_code == 403
    body = response.content.decode()
    assert 'aria-label="Main"' in body and f"/o/{org.slug}/tickets/" in body  # the org's menu
    assert "You read the briefs of the clients you work for: ask the account manager." in body
    assert f'href="/o/{org.slug}/"' in body  # back to the organization


def test_a_403_without_a_reason_says_what_the_role_may_not_do(login, org, developer):
    response = login(developer).get(reverse("transitions:handoff_create", kwargs={"org": org.slug}))
    assert response.status_code == 403
    assert "Your role in this organization may not do this." in response.content.decode()


def test_a_404_inside_an_organization_keeps_its_navigation(login, org, developer):
    response = login(developer).get(
        reverse("tickets:ticket_detail", kwargs={"org": org.slug, "number": 999999})
    )
    assert response.status_code == 404
    body = response.content.decode()
    assert "This page doesn't exist here" in body and f"/o/{org.slug}/tickets/" in body


def test_the_api_still_answers_json(api, developer):
    response = api(developer).get("/api/v1/tickets/999999/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_the_500_page_renders_without_a_request_context(db):
    response = server_error(RequestFactory().get("/o/x/tickets/"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body and "It has been logged." in body


def test_every_page_starts_with_a_skip_link_to_the_content(login, org, developer, client):
    for response in (client.get("/accounts/login/"), login(developer).get(f"/o/{org.slug}/")):
        body = response.content.decode()
        first_link = body.index("<a ")
        assert body[first_link:].startswith('<a class="skip-link" href="#content">')
        assert '<main class="container" id="content" tabindex="-1">' in body
