import factory
from allauth.account.models import EmailAddress

from members.models import Collective, Membership, Role, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    name = factory.Faker("name")
    password = factory.django.Password("correct horse battery staple")


class CollectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collective

    name = factory.Sequence(lambda n: f"Collective {n}")
    slug = factory.Sequence(lambda n: f"collective-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    collective = factory.SubFactory(CollectiveFactory)
    user = factory.SubFactory(UserFactory)
    roles = factory.LazyFunction(lambda: [Role.MEMBER.value])


def with_verified_email(user: User) -> User:
    """The person's login address confirmed, as everyone's is who logs in: the web login and the API's token
    endpoint refuse an unconfirmed one (ACCOUNT_EMAIL_VERIFICATION = "mandatory")."""
    EmailAddress.objects.update_or_create(user=user, email=user.email.lower(),
                                          defaults={"verified": True, "primary": True})
    return user


def verified_member(collective, email: str, name: str, roles: list[str]) -> User:
    """A member of `collective` with the given roles, whose login address is confirmed (able to log in)."""
    return with_verified_email(MembershipFactory(collective=collective, user=UserFactory(email=email, name=name),
                                                 roles=roles).user)
