"""factory_boy factories. Tenant rows are created with scopes off (test code);
every factory that makes a tenant row takes ``organization``."""

import factory
from django.contrib.auth import get_user_model
from django_scopes import scopes_disabled

from msops.tenancy.models import Membership, Organization, Role
from msops.tenancy.services import api_token_create

PASSWORD = "correct horse battery staple"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with scopes_disabled():
            return super()._create(model_class, *args, **kwargs)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")
    timezone = "Europe/Amsterdam"
    currency = "EUR"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(TenantFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.DEVELOPER


def token_for(membership: Membership, name: str = "test token") -> str:
    with scopes_disabled():
        return api_token_create(membership=membership, name=name).raw
