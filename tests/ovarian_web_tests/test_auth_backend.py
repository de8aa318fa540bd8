"""Signing in reads the user's roles with the user; the cache shares one Redis pool."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache.backends.redis import RedisCache
from django.urls import reverse

from base.auth_backend import RoleModelBackend
from base.roles import Role, has_role, user_roles
from tests.factories import UserFactory


@pytest.mark.django_db
def test_the_user_comes_with_every_role_in_one_query(django_assert_num_queries):
    user = UserFactory(role=Role.RADIOLOGIST)
    user.groups.add(Group.objects.get(name=Role.COORDINATOR))
    with django_assert_num_queries(1):
        loaded = RoleModelBackend().get_user(user.pk)
        assert user_roles(loaded) == {Role.RADIOLOGIST, Role.COORDINATOR}
        assert not has_role(loaded, Role.ADMINISTRATOR)


@pytest.mark.django_db
def test_a_user_without_roles_or_signed_out_or_gone_gets_none():
    backend = RoleModelBackend()
    plain = UserFactory()
    assert user_roles(backend.get_user(plain.pk)) == set()
    boss = UserFactory(is_superuser=True)
    assert user_roles(backend.get_user(boss.pk)) == {Role.ADMINISTRATOR}
    gone = UserFactory(role=Role.RADIOLOGIST, is_active=False)
    assert backend.get_user(gone.pk) is None
    assert backend.get_user(10**9) is None


@pytest.mark.django_db
def test_a_role_taken_away_counts_from_the_next_request(client):
    user = UserFactory(role=Role.RADIOLOGIST)
    client.force_login(user)
    assert client.get(reverse("annotation:labelling_list")).status_code == 200
    user.groups.clear()
    assert client.get(reverse("annotation:labelling_list")).status_code == 403


def test_every_cache_object_shares_one_redis_pool():
    # Under ASGI Django makes a cache object per request; each used to open a connection.
    options = {"OPTIONS": {"pool_class": "base.redis_pool.SharedConnectionPool"}}
    first = RedisCache("redis://127.0.0.1:6399/3", options)
    second = RedisCache("redis://127.0.0.1:6399/3", options)
    other = RedisCache("redis://127.0.0.1:6399/4", options)
    pool = first._cache._get_connection_pool(write=True)
    assert second._cache._get_connection_pool(write=True) is pool
    assert other._cache._get_connection_pool(write=True) is not pool
